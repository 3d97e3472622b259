// Viewer lines in the replicated state: CreateLine, UpdateLine, DeleteLine as apply() judges them,
// and old snapshots without `lines`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { apply, decodeState, encodeCommand, encodeState, emptyState } from '../../node/state/index.ts';
import type { ClusterState, Command, LineRecord } from '../../node/state/index.ts';

const t0 = Date.UTC(2025, 5, 1);
const hash = 'scrypt$32768$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==';
const line = (over: Partial<LineRecord> = {}): LineRecord => ({
  username: 'alice', passwordHash: hash, maxConnections: 2, expiresAtMs: null, enabled: true, createdAtMs: 0, ...over,
});

function initialized(): ClusterState {
  return apply(emptyState(), {
    type: 'InitCluster', atMs: t0, clusterId: 'c1',
    node: { id: 'p1', name: 'alpha', groups: [], addrs: [], httpUrl: 'http://127.0.0.1:1', enabled: true, joinedAtMs: t0 },
    admin: { name: 'admin', passwordHash: 'x', role: 'admin' },
    adminToken: { id: 't1', secretHash: 'a'.repeat(64), user: 'admin', role: 'admin', createdAtMs: t0 },
  }).state;
}

test('CreateLine stores the line with the command time as createdAtMs', () => {
  const { state, result } = apply(initialized(), { type: 'CreateLine', atMs: t0 + 5, line: line() });
  assert.deepEqual(result, { ok: true });
  assert.deepEqual(state.lines.alice, line({ createdAtMs: t0 + 5 }));
});

const refusals: [string, (s: ClusterState) => Command, RegExp][] = [
  ['a bad username', () => ({ type: 'CreateLine', atMs: t0, line: line({ username: 'a/b' }) }), /must be 1-64 characters/],
  ['a plain password', () => ({ type: 'CreateLine', atMs: t0, line: line({ username: 'bob', passwordHash: 'secret' }) }), /not a scrypt hash/],
  ['zero connections', () => ({ type: 'CreateLine', atMs: t0, line: line({ username: 'bob', maxConnections: 0 }) }), /maxConnections/],
  ['an expiry in the past', () => ({ type: 'CreateLine', atMs: t0, line: line({ username: 'bob', expiresAtMs: t0 - 1 }) }), /already be expired/],
  ['a taken username', () => ({ type: 'CreateLine', atMs: t0, line: line() }), /already exists/],
  ['updating an unknown line', () => ({ type: 'UpdateLine', atMs: t0, line: line({ username: 'bob' }) }), /unknown line bob/],
  ['deleting an unknown line', () => ({ type: 'DeleteLine', atMs: t0, username: 'bob' }), /unknown line bob/],
];
for (const [what, command, reason] of refusals) {
  test(`apply refuses ${what}, leaving the state as it was`, () => {
    const before = apply(initialized(), { type: 'CreateLine', atMs: t0, line: line() }).state;
    const { state, result } = apply(before, command(before));
    assert.equal(state, before);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, reason);
  });
}

test('UpdateLine keeps createdAtMs and allows ending a line now; DeleteLine removes it', () => {
  let state = apply(initialized(), { type: 'CreateLine', atMs: t0, line: line() }).state;
  const updated = apply(state, { type: 'UpdateLine', atMs: t0 + 9, line: line({ enabled: false, expiresAtMs: t0, createdAtMs: 123 }) });
  assert.equal(updated.result.ok, true);
  assert.deepEqual(updated.state.lines.alice, line({ enabled: false, expiresAtMs: t0, createdAtMs: t0 }));
  state = apply(updated.state, { type: 'DeleteLine', atMs: t0 + 10, username: 'alice' }).state;
  assert.deepEqual(state.lines, {});
});

test('line commands encode; a snapshot without lines decodes with none', () => {
  assert.doesNotThrow(() => encodeCommand({ type: 'CreateLine', atMs: t0, line: line() }));
  const state = apply(initialized(), { type: 'CreateLine', atMs: t0, line: line() }).state;
  assert.deepEqual(decodeState(encodeState(state)).lines.alice, line({ createdAtMs: t0 }));
  const { lines: _lines, ...old } = state;
  const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, state: old }));
  assert.deepEqual(decodeState(bytes).lines, {});
});
