// The channel commands: streams, services, groups, policy, node admin state, and the leader's
// assignment decisions with epochs (fencing) and public numbering bases.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { apply, decodeState, encodeState, encodeCommand } from '../../node/state/index.ts';
import type { ClusterState, Command } from '../../node/state/index.ts';
import type { StreamRecord } from '../../node/state/stream-types.ts';
import { build, initCommand, t0 } from './fixtures.ts';

const stream = (id: string, over: Partial<StreamRecord> = {}): StreamRecord => ({
  id, name: id.toUpperCase(), sources: [{ url: 'http://127.0.0.1:9/live.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy',
  serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: 0, ...over,
});

function run(state: ClusterState, ...commands: Command[]): ClusterState {
  for (const c of commands) {
    const { state: next, result } = apply(state, c);
    assert.deepEqual(result, { ok: true }, `${c.type} applies`);
    state = next;
  }
  return state;
}

const reason = (state: ClusterState, c: Command): string => {
  const r = apply(state, c).result;
  assert.equal(r.ok, false, `${c.type} is refused`);
  return (r as { reason: string }).reason;
};

test('a stream is created with its defaults, refused twice, updated and deleted with its assignment', () => {
  let s = run(build(initCommand()), { type: 'CreateStream', atMs: t0, stream: stream('news') });
  assert.equal(s.streams['news']?.createdAtMs, t0);
  assert.match(reason(s, { type: 'CreateStream', atMs: t0, stream: stream('news') }), /exists already/);
  s = run(s, { type: 'UpdateStream', atMs: t0 + 1, stream: stream('news', { name: 'World news', createdAtMs: 99 }) });
  assert.equal(s.streams['news']?.name, 'World news');
  assert.equal(s.streams['news']?.createdAtMs, t0, 'creation time is kept');
  s = run(s, { type: 'AssignStream', atMs: t0, streamId: 'news', nodeId: 'p1', base: 0 });
  s = run(s, { type: 'DeleteStream', atMs: t0, id: 'news' });
  assert.deepEqual(s.streams, {});
  assert.deepEqual(s.assignments, {});
});

test('sources other than network schemes are refused with what to use, and so are bad ids and profiles', () => {
  const s = build(initCommand());
  for (const url of ['pipe:ffmpeg', 'file:///etc/passwd', 'concat:a.ts|b.ts', '/tmp/x.ts', 'subfile,,start,0,end,0,,:/etc/passwd', '-i http://x']) {
    assert.match(reason(s, { type: 'CreateStream', atMs: t0, stream: stream('bad', { sources: [{ url, priority: 0, userAgent: null, referrer: null }] }) }),
      /not allowed|not an absolute URL/, url);
  }
  assert.match(reason(s, { type: 'CreateStream', atMs: t0, stream: stream('Bad Id') }), /stream id "Bad Id" must be/);
  assert.match(reason(s, { type: 'CreateStream', atMs: t0, stream: stream('x', { sources: [] }) }), /at least one source/);
  assert.match(reason(s, { type: 'CreateStream', atMs: t0, stream: stream('x', { profile: { height: 721, videoKbps: 2000, audioKbps: 128 } }) }), /even number/);
  assert.match(reason(s, { type: 'CreateStream', atMs: t0, stream: stream('x', { serviceId: 'nope' }) }), /unknown service nope/);
  assert.match(reason(s, { type: 'CreateStream', atMs: t0, stream: stream('x', { policy: { cpuCeilPct: 0 } }) }), /cpuCeilPct/);
  for (const url of ['http://h/a.ts', 'https://h/a.m3u8', 'udp://239.0.0.1:1234', 'rtp://239.0.0.1:5004', 'rtmp://h/app/key', 'srt://h:9000']) {
    assert.equal(apply(s, { type: 'CreateStream', atMs: t0, stream: stream('ok', { sources: [{ url, priority: 0, userAgent: null, referrer: null }] }) }).result.ok, true, url);
  }
});

test('a service with streams cannot be deleted; groups and policy are validated', () => {
  const hls = { segmentS: 4, windowSegments: 5, mode: 'proxy' as const, signingSecret: null };
  let s = run(build(initCommand()),
    { type: 'CreateService', atMs: t0, service: { id: 'sports', name: 'Sports', policy: { hotStandby: true }, hls, createdAtMs: 0 } },
    { type: 'CreateStream', atMs: t0, stream: stream('match', { serviceId: 'sports' }) },
    { type: 'PutGroup', atMs: t0, group: { name: 'edge', priority: 10 } });
  assert.match(reason(s, { type: 'DeleteService', atMs: t0, id: 'sports' }), /still has streams \(match/);
  assert.match(reason(s, { type: 'UpdatePolicy', atMs: t0, policy: { strategy: 'random' as 'spread' } }), /strategy/);
  assert.match(reason(s, { type: 'UpdateService', atMs: t0, service: { id: 'sports', name: 'S', policy: {}, hls: { ...hls, windowSegments: 2 }, createdAtMs: 0 } }), /3 target durations/);
  s = run(s, { type: 'UpdatePolicy', atMs: t0, policy: { strategy: 'binpack', groups: ['edge'] } });
  assert.deepEqual(s.policy, { strategy: 'binpack', groups: ['edge'] });
});

test('node admin state: drain, weight and groups; unknown nodes and bad weights refused', () => {
  let s = run(build(initCommand()), { type: 'SetNodeAdmin', atMs: t0, id: 'p1', draining: true, weight: 2, groups: ['edge'] });
  assert.deepEqual(s.nodeAdmin['p1'], { draining: true, weight: 2 });
  assert.deepEqual(s.nodes['p1']?.groups, ['edge']);
  s = run(s, { type: 'SetNodeAdmin', atMs: t0, id: 'p1', draining: false });
  assert.deepEqual(s.nodeAdmin['p1'], { draining: false, weight: 2 }, 'fields left out are kept');
  assert.match(reason(s, { type: 'SetNodeAdmin', atMs: t0, id: 'p9', draining: true }), /unknown node p9/);
  assert.match(reason(s, { type: 'SetNodeAdmin', atMs: t0, id: 'p1', weight: 0 }), /weight/);
});

test('assignments: epochs grow cluster-wide; a switch needs the seal, the second worker and a base that does not go back', () => {
  let s = run(build(initCommand()),
    { type: 'CreateStream', atMs: t0, stream: stream('a') },
    { type: 'CreateStream', atMs: t0, stream: stream('b') },
    { type: 'AssignStream', atMs: t0, streamId: 'a', nodeId: 'p1', base: 0 },
    { type: 'AssignStream', atMs: t0, streamId: 'b', nodeId: 'p1', base: 0 });
  assert.equal(s.assignments['a']?.epoch, 1);
  assert.equal(s.assignments['b']?.epoch, 2);
  assert.match(reason(s, { type: 'AssignStream', atMs: t0, streamId: 'a', nodeId: 'p1', base: 0 }), /has a worker already/);
  assert.match(reason(s, { type: 'SetNextWorker', atMs: t0, streamId: 'a', nodeId: 'p1' }), /runs stream a already/);
  // A second node to move to.
  s = { ...s, nodes: { ...s.nodes, p2: { ...s.nodes['p1']!, id: 'p2', name: 'n2' } } };
  s = run(s, { type: 'SetNextWorker', atMs: t0, streamId: 'a', nodeId: 'p2' });
  assert.deepEqual(s.assignments['a']?.next, { nodeId: 'p2', epoch: 3 });
  assert.match(reason(s, { type: 'SwitchStream', atMs: t0, streamId: 'a', epoch: 3, base: 10, firstIndex: 0 }), /not sealed/);
  assert.match(reason(s, { type: 'SealStream', atMs: t0, streamId: 'a', epoch: 3 }), /in epoch 1, not 3/);
  s = run(s, { type: 'SealStream', atMs: t0, streamId: 'a', epoch: 1 });
  assert.match(reason(s, { type: 'SwitchStream', atMs: t0, streamId: 'a', epoch: 2, base: 10, firstIndex: 0 }), /no second worker in epoch 2/);
  s = run(s, { type: 'SwitchStream', atMs: t0 + 5, streamId: 'a', epoch: 3, base: 10, firstIndex: 4 });
  assert.deepEqual(s.assignments['a'], { streamId: 'a', nodeId: 'p2', epoch: 3, base: 10, firstIndex: 4, next: null, sealed: false, sinceMs: t0 + 5 });
  s = run(s, { type: 'SetNextWorker', atMs: t0, streamId: 'a', nodeId: 'p1' }, { type: 'SealStream', atMs: t0, streamId: 'a', epoch: 3 });
  assert.match(reason(s, { type: 'SwitchStream', atMs: t0, streamId: 'a', epoch: 4, base: 9, firstIndex: 0 }), /never decrease/);
});

test('the channel state survives a snapshot, and a snapshot from before channels decodes with none', () => {
  const s = run(build(initCommand()), { type: 'CreateStream', atMs: t0, stream: stream('news') }, { type: 'AssignStream', atMs: t0, streamId: 'news', nodeId: 'p1', base: 7 });
  assert.deepEqual(decodeState(encodeState(s)), s);
  const { streams: _s, services: _v, groups: _g, policy: _p, hls: _h, nodeAdmin: _n, assignments: _a, lastEpoch: _e, ...old } = s;
  const decoded = decodeState(new TextEncoder().encode(JSON.stringify({ v: 1, state: old })));
  assert.deepEqual(decoded.streams, {});
  assert.equal(decoded.lastEpoch, 0);
  assert.doesNotThrow(() => encodeCommand({ type: 'SealStream', atMs: t0, streamId: 'news', epoch: 1 }));
});
