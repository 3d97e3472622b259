// Connection counting: the viewer registry (limits with other nodes' counts, reconnects that
// replace, HLS sessions idling out), the viewers field of the telemetry report and the sum over
// members, viewer tokens, and the failed-login limiter.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeReport, encodeReport, maxViewerLines } from '../../node/gossip/report.ts';
import { TelemetryGossip } from '../../node/gossip/service.ts';
import type { TelemetryReport } from '../../node/gossip/report.ts';
import { newSessionId, passwordTag, readViewerToken, viewerToken, viewerTokenKey } from '../../node/hls/viewers-http.ts';
import { remoteViewerCount, ViewerRegistry } from '../../node/hls/viewers.ts';
import type { ViewerClaim } from '../../node/hls/viewers.ts';
import { FailedLoginLimiter } from '../../node/iptv/login-limiter.ts';
import { FakeClock, FakePubSubNetwork } from '../gossip/fixtures.ts';

function clock(startMs = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const claim = (over: Partial<ViewerClaim> = {}): ViewerClaim => ({ line: 'alice', maxConnections: 2, streamId: 'news', clientIp: '10.0.0.1', kind: 'ts', ...over });

test('registry: the (max+1)th viewer is refused, counting other nodes; release frees a place', () => {
  let remote = 0;
  const r = new ViewerRegistry({ remoteCount: (line) => (line === 'alice' ? remote : 0) });
  const a = r.admit(claim({ clientIp: '10.0.0.1' }));
  const b = r.admit(claim({ clientIp: '10.0.0.2', streamId: 'goal' }));
  assert.ok(a.ok && b.ok);
  assert.deepEqual(r.admit(claim({ clientIp: '10.0.0.3' })), { ok: false, reason: 'line-full', active: 2, max: 2 });
  assert.equal(r.admit(claim({ line: 'bob', clientIp: '10.0.0.3' })).ok, true, 'other lines are counted apart');
  r.release(a.viewerId);
  assert.equal(r.active('alice'), 1);
  remote = 1;
  assert.equal(r.active('alice'), 2, 'another node reports one');
  assert.deepEqual(r.admit(claim({ clientIp: '10.0.0.3' })), { ok: false, reason: 'line-full', active: 2, max: 2 });
  assert.deepEqual({ ...r.figures() }, { alice: 1, bob: 1 });
});

test('registry: at the limit, a reconnect from the same address and stream replaces the old viewer', () => {
  const r = new ViewerRegistry();
  let replaced = 0;
  const first = r.admit(claim({ maxConnections: 1, onReplaced: () => replaced++ }));
  assert.ok(first.ok);
  assert.equal(r.admit(claim({ maxConnections: 1, clientIp: '10.0.0.9' })).ok, false, 'another address is another viewer');
  assert.equal(r.admit(claim({ maxConnections: 1, streamId: 'goal' })).ok, false, 'another stream is another viewer');
  const again = r.admit(claim({ maxConnections: 1 }));
  assert.ok(again.ok);
  assert.equal(replaced, 1);
  assert.equal(r.local('alice'), 1);
  r.release(first.viewerId); // the old relay ending later changes nothing
  assert.equal(r.local('alice'), 1);
});

test('registry: HLS sessions count while their playlist is fetched; a new one from the same player replaces', () => {
  const c = clock();
  const r = new ViewerRegistry({ nowMs: c.now }, { sessionIdleMs: 30_000 });
  const s1 = newSessionId();
  assert.ok(r.admit(claim({ kind: 'hls', sessionId: s1 })).ok);
  c.advance(20_000);
  assert.equal(r.touchSession(s1), true);
  c.advance(20_000);
  assert.equal(r.local('alice'), 1, 'touched 20 s ago');
  // The player reloads through the redirecting URL: a new session takes the old one's place.
  const s2 = newSessionId();
  assert.ok(r.admit(claim({ kind: 'hls', sessionId: s2 })).ok);
  assert.equal(r.local('alice'), 1);
  assert.equal(r.touchSession(s1), false);
  c.advance(30_000);
  assert.equal(r.local('alice'), 0, 'idle for 30 s: gone');
  assert.equal(r.touchSession(s2), false);
  assert.deepEqual(r.counts(), { ts: 0, hls: 0 });
});

test('registry: the node bound refuses beyond viewersMax; figures keep the lines with most viewers', () => {
  const r = new ViewerRegistry({}, { viewersMax: 3, reportedLinesMax: 2 });
  assert.ok(r.admit(claim({ line: 'a' })).ok);
  assert.ok(r.admit(claim({ line: 'b', clientIp: '1' })).ok);
  assert.ok(r.admit(claim({ line: 'b', clientIp: '2' })).ok);
  assert.deepEqual(r.admit(claim({ line: 'c' })), { ok: false, reason: 'node-full', max: 3 });
  assert.deepEqual(Object.keys(r.figures()), ['b', 'a']);
});

test('telemetry: viewers travel in the report, are validated, and sum over members not down', () => {
  const report: TelemetryReport = {
    v: 1, nodeId: 'p2', seq: 1, sentAtMs: 1, cpuPct: 0, load1: 0, load5: 0, load15: 0, memUsedBytes: 0, memTotalBytes: 0, memPct: 0,
    netRxBytesPerS: 0, netTxBytesPerS: 0, diskFreeBytes: 0, rssBytes: 0, streams: { count: 0, items: [] }, viewers: { alice: 2, constructor: 1 },
  };
  const decoded = decodeReport(encodeReport(report));
  assert.ok(decoded.ok);
  assert.equal(Object.getPrototypeOf(decoded.report.viewers), null, 'null prototype: "constructor" is just a line');
  assert.deepEqual({ ...decoded.report.viewers }, { alice: 2, constructor: 1 });
  const bad = (viewers: unknown): string => {
    const d = decodeReport(new TextEncoder().encode(JSON.stringify({ ...report, viewers })));
    return d.ok ? 'accepted' : d.reason;
  };
  assert.match(bad({ 'a/b': 1 }), /not a line username/);
  assert.match(bad({ alice: 0 }), /expected 1-/);
  assert.match(bad({ alice: 1.5 }), /safe integer/);
  assert.match(bad([1]), /expected an object/);
  assert.match(bad(Object.fromEntries(Array.from({ length: maxViewerLines + 1 }, (_, i) => [`l${i}`, 1]))), /lines > 1000/);
  const { viewers: _, ...withoutViewers } = report;
  assert.equal(decodeReport(encodeReport(withoutViewers)).ok, true, 'older nodes send none');

  const reports = new Map<string, TelemetryReport>([['p2', decoded.report], ['p3', { ...decoded.report, nodeId: 'p3', viewers: { alice: 1 } }], ['p4', { ...decoded.report, nodeId: 'p4' }]]);
  const states = new Map([['p2', 'alive'], ['p3', 'suspect'], ['p4', 'down']] as const);
  const count = remoteViewerCount(() => ({ state: (id) => states.get(id as 'p2'), lastReport: (id) => reports.get(id) }), () => ['p1', 'p2', 'p3', 'p4'], 'p1');
  assert.equal(count('alice'), 3, 'p2 and p3; p4 is down');
  assert.equal(count('toString'), 0);
  assert.equal(remoteViewerCount(() => null, () => ['p2'], 'p1')('alice'), 0);
});

test('viewer tokens: signed, bound to their key, expiring, tamper-evident', () => {
  const key = viewerTokenKey('i'.repeat(64));
  const session = { line: 'alice.b', streamId: 'news', sessionId: newSessionId(), expS: 2_000, passwordTag: passwordTag('scrypt$x') };
  const token = viewerToken(key, session);
  assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'URL-safe as it is');
  assert.deepEqual(readViewerToken(key, token, 1_000_000), { ok: true, session });
  assert.match((readViewerToken(key, token, 2_000_000) as { message: string }).message, /expired/);
  assert.equal(readViewerToken(viewerTokenKey('j'.repeat(64)), token, 1_000_000).ok, false, 'another cluster');
  const [payload, mac] = token.split('.');
  const forged = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('alice.b', 'mallory')).toString('base64url');
  assert.equal(readViewerToken(key, `${forged}.${mac}`, 1_000_000).ok, false);
  for (const junk of ['', 'x', '.', 'a.b', `${payload}.`, 'x'.repeat(600)]) assert.equal(readViewerToken(key, junk, 0).ok, false, junk);
  assert.notEqual(passwordTag('scrypt$x'), passwordTag('scrypt$y'));
});

test('failed logins: a budget of failures per address and window; pending attempts count; successes cost nothing', () => {
  const l = new FailedLoginLimiter({ failuresMax: 3, windowMs: 60_000 });
  for (let i = 0; i < 10; i++) {
    assert.ok(l.begin('a', 0).ok);
    l.settle('a', true, 0);
  }
  assert.equal(l.size, 0, 'nothing kept for good logins');
  for (let i = 0; i < 3; i++) {
    assert.ok(l.begin('a', 1000).ok);
    l.settle('a', false, 1000);
  }
  assert.deepEqual(l.begin('a', 31_000), { ok: false, retryAfterMs: 30_000 });
  assert.ok(l.begin('b', 31_000).ok, 'another address');
  l.settle('b', true, 31_000);
  assert.ok(l.begin('a', 61_000).ok, 'a new window');

  // Three guesses in flight at once use the budget before any is settled.
  const p = new FailedLoginLimiter({ failuresMax: 3 });
  for (let i = 0; i < 3; i++) assert.ok(p.begin('c', 0).ok);
  assert.equal(p.begin('c', 0).ok, false);
  p.settle('c', true, 0);
  assert.equal(p.begin('c', 0).ok, true, 'one turned out right: room again');

  // Bounded: the least recently seen address is forgotten first.
  const small = new FailedLoginLimiter({ failuresMax: 1, addressesMax: 2 });
  for (const address of ['x', 'y', 'z']) {
    assert.ok(small.begin(address, 0).ok);
    small.settle(address, false, 0);
  }
  assert.equal(small.size, 2);
  assert.equal(small.begin('x', 0).ok, true, 'x was forgotten');
  assert.equal(small.begin('z', 0).ok, false);
  assert.throws(() => new FailedLoginLimiter({ failuresMax: 0 }), RangeError);
});

test('telemetry gossip: a node\'s viewer counts reach the others within a report interval', async () => {
  const clock = new FakeClock();
  const network = new FakePubSubNetwork();
  const sampler = { sample: async () => ({ cpuPct: 0, load1: 0, load5: 0, load15: 0, memUsedBytes: 0, memTotalBytes: 0, memPct: 0, netRxBytesPerS: 0, netTxBytesPerS: 0, diskFreeBytes: 0, rssBytes: 0 }) };
  const registry = new ViewerRegistry({ nowMs: () => clock.wallMs() });
  const nodes = ['a', 'b'].map((id) => new TelemetryGossip(
    { pubsub: network.endpoint(id), sampler, clock, isMember: () => true, logger: { warn: () => undefined }, ...(id === 'a' ? { viewers: () => registry.figures() } : {}) },
    { nodeId: id },
  ));
  for (const node of nodes) {
    node.setMembers(['a', 'b']);
    await node.start();
  }
  const remote = remoteViewerCount(() => nodes[1]!.membership, () => ['a', 'b'], 'b');
  await clock.advance(1000);
  assert.equal(remote('alice'), 0);
  assert.equal(nodes[1]!.membership.lastReport('a')?.viewers, undefined, 'no field while nobody watches');
  registry.admit(claim());
  registry.admit(claim({ clientIp: '10.0.0.2' }));
  await clock.advance(1000);
  assert.equal(remote('alice'), 2);
  for (const node of nodes) await node.stop();
});
