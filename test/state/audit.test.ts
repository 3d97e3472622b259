// The audit log in the replicated state: written by apply() of the very command that changes the
// state, only for accepted commands that carry an actor, bounded, never holding a secret, and
// absent from older snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { apply, auditEntries, auditEntriesMax, auditPageSize, auditSummaryLengthMax, decodeState, encodeState, queryAudit, snapshotFormatVersion } from '../../node/state/index.ts';
import type { Actor, AuditEntry, ClusterState, Command, StreamRecord } from '../../node/state/index.ts';
import { adminToken, build, initCommand, joinCommand, t0, tokenRecord } from './fixtures.ts';

const viaToken: Actor = { user: 'admin', role: 'admin', via: 'token', tokenId: adminToken.id };
const viaSession: Actor = { user: 'admin', role: 'admin', via: 'session', tokenId: null };
const secretUrl = 'http://user:s3cret-pass@example.test/tf1.ts';
const stream: StreamRecord = {
  id: 'tf1', name: 'TF1', sources: [{ url: secretUrl, priority: 0, userAgent: null, referrer: null }], profile: 'copy',
  serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: 0,
};

function run(state: ClusterState, ...commands: Command[]): ClusterState {
  for (const command of commands) {
    const applied = apply(state, command);
    assert.equal(applied.result.ok, true, `${command.type}: ${applied.result.ok ? '' : applied.result.reason}`);
    state = applied.state;
  }
  return state;
}

const twoNodes = (): ClusterState => build(initCommand(), { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1') }, joinCommand('p2', 't1'));

test('an accepted command with an actor is recorded in the same step: who, what, when', () => {
  const state = run(twoNodes(),
    { type: 'CreateStream', atMs: t0 + 1, stream, actor: viaToken },
    { type: 'SetNodeEnabled', atMs: t0 + 2, id: 'p2', enabled: false, actor: viaSession },
    { type: 'UpdateStream', atMs: t0 + 3, stream: { ...stream, enabled: false, sources: [{ ...stream.sources[0]!, url: `${secretUrl}?v=2` }] }, actor: viaSession },
  );
  assert.deepEqual(auditEntries(state), [
    { id: 1, atMs: t0 + 1, user: 'admin', role: 'admin', via: 'token', tokenId: adminToken.id, action: 'CreateStream', target: 'tf1', summary: 'created stream tf1 "TF1"' },
    { id: 2, atMs: t0 + 2, user: 'admin', role: 'admin', via: 'session', tokenId: null, action: 'SetNodeEnabled', target: 'p2', summary: 'disabled node n-p2' },
    { id: 3, atMs: t0 + 3, user: 'admin', role: 'admin', via: 'session', tokenId: null, action: 'UpdateStream', target: 'tf1', summary: 'changed stream tf1 (enabled, sources)' },
  ]);
  assert.doesNotMatch(JSON.stringify(state.audit), /s3cret/, 'source URLs may hold credentials: only field names');
});

test('refused commands and the leader\'s own decisions are not recorded', () => {
  const base = run(twoNodes(), { type: 'CreateStream', atMs: t0, stream, actor: viaToken });
  const refused = apply(base, { type: 'DeleteStream', atMs: t0, id: 'nope', actor: viaToken });
  assert.equal(refused.result.ok, false);
  assert.equal(refused.state, base);
  const assigned = run(base, { type: 'AssignStream', atMs: t0, streamId: 'tf1', nodeId: 'p2', base: 0 }, { type: 'UnassignStream', atMs: t0, streamId: 'tf1' });
  assert.equal(assigned.audit.length, 1);
  const bob = apply(base, { type: 'DeleteStream', atMs: t0, id: 'tf1', actor: { user: 'bob', role: 'admin', via: 'session', tokenId: null } });
  assert.deepEqual(bob.result, { ok: false, reason: 'user bob no longer exists' });
});

test('summaries never hold a password, a token secret or a signing secret', () => {
  const state = run(twoNodes(),
    { type: 'CreateUser', atMs: t0, user: { name: 'bob', passwordHash: 'scrypt$SECRETHASH', role: 'operator' }, actor: viaToken },
    { type: 'UpdateUser', atMs: t0, name: 'bob', passwordHash: 'scrypt$OTHERHASH', role: 'read-only', actor: viaToken },
    { type: 'CreateApiToken', atMs: t0, token: { id: 'c0c0c0c0c0c0c0c0', name: 'ci', secretHash: 'e'.repeat(64), user: 'admin', role: 'read-only', createdAtMs: 0 }, actor: viaToken },
    { type: 'CreateService', atMs: t0, service: { id: 'news', name: 'News', policy: {}, hls: { segmentS: 2, windowSegments: 6, mode: 'proxy', signingSecret: 'SIGNINGSECRET-0123' }, createdAtMs: 0 }, actor: viaToken },
    { type: 'UpdatePolicy', atMs: t0, policy: { strategy: 'binpack' }, hls: { segmentS: 2, windowSegments: 6, mode: 'proxy', signingSecret: 'SIGNINGSECRET-4567' }, actor: viaToken },
    { type: 'CreateLine', atMs: t0, line: { username: 'viewer', passwordHash: 'scrypt$LINEHASH', maxConnections: 2, expiresAtMs: null, enabled: true, createdAtMs: 0 }, actor: viaToken },
    { type: 'UpdateLine', atMs: t0, line: { username: 'viewer', passwordHash: 'scrypt$LINEHASH2', maxConnections: 2, expiresAtMs: null, enabled: true, createdAtMs: 0 }, actor: viaToken },
    { type: 'DeleteApiToken', atMs: t0, id: 'c0c0c0c0c0c0c0c0', actor: viaToken },
    { type: 'DeleteUser', atMs: t0, name: 'bob', actor: viaToken },
  );
  assert.deepEqual(auditEntries(state).map((e) => [e.action, e.target, e.summary]), [
    ['CreateUser', 'bob', 'created user bob (operator)'],
    ['UpdateUser', 'bob', 'changed user bob: role operator -> read-only, password changed'],
    ['CreateApiToken', 'c0c0c0c0c0c0c0c0', 'created API token c0c0c0c0c0c0c0c0 "ci" (read-only) for admin'],
    ['CreateService', 'news', 'created service news "News"'],
    ['UpdatePolicy', 'policy', 'changed the cluster policy: strategy, hls.signingSecret'],
    ['CreateLine', 'viewer', 'created line viewer: 2 connections, never expires'],
    ['UpdateLine', 'viewer', 'changed line viewer (password)'],
    ['DeleteApiToken', 'c0c0c0c0c0c0c0c0', 'revoked API token c0c0c0c0c0c0c0c0 "ci" of admin'],
    ['DeleteUser', 'bob', 'deleted user bob'],
  ]);
  assert.doesNotMatch(JSON.stringify(state.audit), /HASH|SECRET|eeeeeeee/);
});

test('logins are recorded without an actor; a failed one of an unknown name has no role', () => {
  const state = run(twoNodes(),
    { type: 'RecordLogin', atMs: t0, user: 'admin', role: 'admin', ok: true, from: '10.0.0.5', unrecorded: 0 },
    { type: 'RecordLogin', atMs: t0 + 1, user: 'mallory', role: null, ok: false, from: '10.0.0.66', unrecorded: 12 },
  );
  assert.deepEqual(auditEntries(state), [
    { id: 1, atMs: t0, user: 'admin', role: 'admin', via: 'session', tokenId: null, action: 'Login', target: 'admin', summary: 'logged in from 10.0.0.5' },
    { id: 2, atMs: t0 + 1, user: '(unknown user)', role: null, via: 'session', tokenId: null, action: 'LoginFailed', target: '(unknown user)',
      summary: 'failed login (wrong username or password) from 10.0.0.66 (12 earlier attempts on that node were not recorded: over its budget)' },
  ]);
});

test('the log keeps the newest entries, at least the bound, in pages; ids keep growing', () => {
  const filler: AuditEntry[] = Array.from({ length: auditEntriesMax + auditPageSize - 1 }, (_, i) => ({
    id: i + 1, atMs: t0, user: 'admin', role: 'admin', via: 'session', tokenId: null, action: 'PutGroup', target: 'g', summary: `entry ${i + 1}`,
  }));
  const pages = Array.from({ length: Math.ceil(filler.length / auditPageSize) }, (_, i) => filler.slice(i * auditPageSize, (i + 1) * auditPageSize));
  const full: ClusterState = { ...twoNodes(), audit: pages };
  const state = run(full, { type: 'PutGroup', atMs: t0 + 9, group: { name: 'edge', priority: 1 }, actor: viaSession });
  const entries = auditEntries(state);
  assert.equal(entries.length, auditEntriesMax, 'the oldest page went once the rest held the bound');
  assert.equal(entries[0]!.id, auditPageSize + 1);
  assert.deepEqual(entries.at(-1), { id: auditEntriesMax + auditPageSize, atMs: t0 + 9, user: 'admin', role: 'admin', via: 'session', tokenId: null, action: 'PutGroup', target: 'edge', summary: 'created group edge: priority 1' });
  assert.equal(auditEntries(full).length, auditEntriesMax + auditPageSize - 1, 'the old state is untouched');
  assert.ok(state.audit.slice(0, -1).every((page, i) => page === full.audit[i + 1]), 'full pages are shared, not copied');
  const next = run(state, { type: 'PutGroup', atMs: t0 + 10, group: { name: 'edge', priority: 2 }, actor: viaSession });
  assert.equal(auditEntries(next).length, auditEntriesMax + 1, 'then it grows again, by pages');
  // A full log survives a snapshot.
  assert.deepEqual(decodeState(encodeState(state)).audit, state.audit);
});

test('snapshots of a growing log (full pages encoded once, then reused) decode to the state each time', () => {
  let state = twoNodes();
  for (let i = 0; i < 2 * auditPageSize + 3; i++) {
    state = run(state, { type: 'PutGroup', atMs: t0 + i, group: { name: `g${i % 7}`, priority: i }, actor: viaSession });
    if (i % 37 === 0 || i >= 2 * auditPageSize - 2) assert.deepEqual(decodeState(encodeState(state)), state, `after ${i + 1} entries`);
  }
  assert.deepEqual(Buffer.from(encodeState(state)), Buffer.from(encodeState(state)));
  const text = new TextDecoder().decode(encodeState(state));
  assert.equal((JSON.parse(text) as { v: number }).v, snapshotFormatVersion);
});

test('long summaries are cut to the bound', () => {
  const name = 'x'.repeat(256);
  const state = run(twoNodes(), { type: 'CreateStream', atMs: t0, stream: { ...stream, name }, actor: viaSession });
  assert.equal(auditEntries(state)[0]!.summary.length, auditSummaryLengthMax);
  assert.match(auditEntries(state)[0]!.summary, /…$/);
  assert.doesNotThrow(() => decodeState(encodeState(state)));
});

test('a snapshot from before the audit log decodes with an empty one; ids out of order are damage', () => {
  const state = run(twoNodes(), { type: 'SetNodeEnabled', atMs: t0, id: 'p2', enabled: false, actor: viaSession });
  const { audit: _dropped, ...older } = state;
  const decoded = decodeState(new TextEncoder().encode(JSON.stringify({ v: snapshotFormatVersion, state: older })));
  assert.deepEqual(decoded.audit, []);
  assert.deepEqual(decoded.nodes, state.nodes);
  // The next entry after such a restore starts at 1.
  assert.equal(run(decoded, { type: 'SetNodeEnabled', atMs: t0, id: 'p2', enabled: true, actor: viaSession }).audit[0]![0]!.id, 1);
  const first = auditEntries(state)[0]!;
  const twice = { ...state, audit: [[first, first]] };
  assert.throws(() => decodeState(encodeState(twice)), /audit entry 1 has id 1, not more than the one before it/);
  const partial = { ...state, audit: [[first], [{ ...first, id: 2 }]] };
  assert.throws(() => decodeState(encodeState(partial)), /only the last page may have fewer/);
  // The first log's snapshots (one flat list) decode into pages.
  const flat = decodeState(new TextEncoder().encode(JSON.stringify({ v: snapshotFormatVersion, state: { ...state, audit: [first] } })));
  assert.deepEqual(flat.audit, [[first]]);
});

test('queryAudit: newest first, filters, total and limit', () => {
  const state = run(twoNodes(),
    { type: 'CreateStream', atMs: t0 + 10, stream, actor: viaToken },
    { type: 'SetNodeEnabled', atMs: t0 + 20, id: 'p2', enabled: false, actor: viaSession },
    { type: 'SetNodeEnabled', atMs: t0 + 30, id: 'p2', enabled: true, actor: viaSession },
    { type: 'RecordLogin', atMs: t0 + 40, user: 'mallory', role: null, ok: false, from: '10.0.0.66', unrecorded: 0 },
  );
  const ids = (filter: Parameters<typeof queryAudit>[1]) => queryAudit(auditEntries(state), filter).entries.map((e) => e.id);
  assert.deepEqual(ids({ limit: 100 }), [4, 3, 2, 1]);
  assert.deepEqual(queryAudit(auditEntries(state), { limit: 2 }), { entries: [auditEntries(state)[3]!, auditEntries(state)[2]!], total: 4 });
  assert.deepEqual(ids({ limit: 100, user: 'admin' }), [3, 2, 1]);
  assert.deepEqual(ids({ limit: 100, action: 'SetNodeEnabled' }), [3, 2]);
  assert.deepEqual(ids({ limit: 100, target: 'tf1' }), [1]);
  assert.deepEqual(ids({ limit: 100, q: 'DISABLED' }), [2]);
  assert.deepEqual(ids({ limit: 100, q: 'p2' }), [3, 2], 'q matches the target too');
  assert.deepEqual(ids({ limit: 100, sinceMs: t0 + 20, untilMs: t0 + 30 }), [3, 2], 'bounds are inclusive');
  assert.deepEqual(queryAudit(auditEntries(state), { limit: 1, action: 'SetNodeEnabled' }).total, 2);
});
