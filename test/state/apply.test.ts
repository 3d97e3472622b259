import { test } from 'node:test';
import assert from 'node:assert/strict';

import { apply, emptyState, expiredJoinTokenRetentionMs, findJoinToken, findNode, joinTokensMax } from '../../node/state/index.ts';
import type { ClusterState, Command } from '../../node/state/index.ts';
import { build, clusterWithToken, hashA, initCommand, joinCommand, nodeRecord, t0, tokenRecord } from './fixtures.ts';

test('InitCluster creates the cluster with its first node, admin and admin token', () => {
  const state = build(initCommand());
  assert.equal(state.clusterId, 'c1');
  assert.deepEqual(Object.keys(state.nodes), ['p1']);
  assert.equal(state.nodes['p1']?.joinedAtMs, t0);
  assert.equal(state.users['admin']?.role, 'admin');
  assert.equal(state.apiTokens['0123456789abcdef']?.user, 'admin');
});

test('a joining node with a good token is added, takes the token\'s groups, and uses it up', () => {
  const state = clusterWithToken(tokenRecord('t1', { groups: ['edge'], usesLeft: 2 }));
  const { state: after, result } = apply(state, joinCommand('p2', 't1', { node: nodeRecord('p2', { groups: ['sneaky'] }) }));
  assert.deepEqual(result, { ok: true });
  assert.deepEqual(findNode(after, 'p2')?.groups, ['edge']);
  assert.equal(findNode(after, 'p2')?.joinedAtMs, t0 + 1000);
  assert.equal(findJoinToken(after, 't1')?.usesLeft, 1);
  const again = apply(after, joinCommand('p3', 't1'));
  assert.equal(again.result.ok, true);
  assert.equal(findJoinToken(again.state, 't1')?.usesLeft, 0);
  const third = apply(again.state, joinCommand('p4', 't1'));
  assert.deepEqual(third.result, { ok: false, reason: 'join token used up: create a new one with \'ottmesh token create\' (--uses N for several nodes)' });
});

test('expiry is exact: valid one millisecond before expiresAtMs, expired at it', () => {
  const expiresAtMs = t0 + 60_000;
  const state = clusterWithToken(tokenRecord('t1', { expiresAtMs }));
  assert.equal(apply(state, joinCommand('p2', 't1', { atMs: expiresAtMs - 1 })).result.ok, true);
  const atBoundary = apply(state, joinCommand('p2', 't1', { atMs: expiresAtMs }));
  assert.deepEqual(atBoundary.result, { ok: false, reason: 'join token expired at 2025-01-01T00:01:00.000Z: create a new one with \'ottmesh token create\'' });
});

interface Refusal {
  readonly name: string;
  readonly state: () => ClusterState;
  readonly command: Command;
  readonly reason: RegExp;
}

const refusals: Refusal[] = [
  { name: 'init twice', state: () => build(initCommand()), command: initCommand({ clusterId: 'c2' }), reason: /already initialized \(id c1\)/ },
  { name: 'init with an empty cluster id', state: emptyState, command: initCommand({ clusterId: '' }), reason: /cluster id is empty/ },
  { name: 'init with a bad node name', state: emptyState, command: initCommand({ node: nodeRecord('p1', { name: '-x' }) }), reason: /must start with a letter or digit/ },
  { name: 'a token for another user', state: emptyState, command: initCommand({ adminToken: { id: 'x', secretHash: hashA, user: 'bob', role: 'admin', createdAtMs: 0 } }), reason: /belongs to "bob"/ },
  { name: 'any command before init', state: emptyState, command: { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1') }, reason: /not initialized/ },
  { name: 'a token id twice', state: clusterWithToken, command: { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1') }, reason: /already exists/ },
  { name: 'a token with no uses', state: clusterWithToken, command: { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t2', { usesLeft: 0 }) }, reason: /at least 1 use/ },
  { name: 'an already expired token', state: clusterWithToken, command: { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t2', { expiresAtMs: t0 }) }, reason: /already be expired/ },
  { name: 'a token with a bad group', state: clusterWithToken, command: { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t2', { groups: ['a b'] }) }, reason: /group name "a b"/ },
  { name: 'a token with a group twice', state: clusterWithToken, command: { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t2', { groups: ['a', 'a'] }) }, reason: /listed twice/ },
  { name: 'join with an unknown token', state: clusterWithToken, command: joinCommand('p2', 'nope'), reason: /^unknown join token/ },
  { name: 'join with a prototype key as token id', state: clusterWithToken, command: joinCommand('p2', 'constructor'), reason: /^unknown join token/ },
  { name: 'join with the wrong secret', state: clusterWithToken, command: joinCommand('p2', 't1', { secretHash: hashA }), reason: /^join token secret does not match/ },
  { name: 'wrong secret on an expired token says only "does not match"', state: clusterWithToken, command: joinCommand('p2', 't1', { secretHash: hashA, atMs: t0 + 7_200_000 }), reason: /^join token secret does not match/ },
  { name: 'join after expiry', state: clusterWithToken, command: joinCommand('p2', 't1', { atMs: t0 + 7_200_000 }), reason: /^join token expired at 2025-01-01T01:00:00.000Z/ },
  { name: 'join with a used-up token', state: () => build(initCommand(), { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1') }, joinCommand('p3', 't1')), command: joinCommand('p2', 't1'), reason: /^join token used up/ },
  { name: 'join with an id already a member', state: clusterWithToken, command: joinCommand('p1', 't1', { node: nodeRecord('p1', { name: 'other' }) }), reason: /node p1 is already a member/ },
  { name: 'join with a name in use', state: clusterWithToken, command: joinCommand('p2', 't1', { node: nodeRecord('p2', { name: 'n-p1' }) }), reason: /"n-p1" is already used by p1: pick another with --name/ },
  { name: 'join with a bad name', state: clusterWithToken, command: joinCommand('p2', 't1', { node: nodeRecord('p2', { name: 'x'.repeat(64) }) }), reason: /longer than 63/ },
  { name: 'addrs of an unknown node', state: clusterWithToken, command: { type: 'UpdateNodeAddrs', atMs: t0, id: 'p9', addrs: [], httpUrl: '' }, reason: /unknown node p9/ },
  { name: 'enable an unknown node', state: clusterWithToken, command: { type: 'SetNodeEnabled', atMs: t0, id: 'p9', enabled: false }, reason: /unknown node p9/ },
  { name: 'remove an unknown node', state: clusterWithToken, command: { type: 'RemoveNode', atMs: t0, id: 'p9' }, reason: /unknown node p9/ },
  { name: 'remove the last node', state: clusterWithToken, command: { type: 'RemoveNode', atMs: t0, id: 'p1' }, reason: /last member/ },
  { name: 'voters target 4', state: clusterWithToken, command: { type: 'UpdateSettings', atMs: t0, settings: { votersTarget: 4 as 3 } }, reason: /votersTarget must be 3 or 5/ },
  { name: 'suspect too early', state: clusterWithToken, command: { type: 'UpdateSettings', atMs: t0, settings: { suspectAfterS: 0.1 } }, reason: /suspectAfterS must be between 0.5/ },
  { name: 'down before suspect', state: clusterWithToken, command: { type: 'UpdateSettings', atMs: t0, settings: { downAfterS: 1.5 } }, reason: /downAfterS must be more than suspectAfterS \(1.5\)/ },
  { name: 'replace before down', state: clusterWithToken, command: { type: 'UpdateSettings', atMs: t0, settings: { replaceDownVoterAfterS: 1 } }, reason: /replaceDownVoterAfterS must be between downAfterS \(2.5\)/ },
];

for (const refusal of refusals) {
  test(`refused, state unchanged: ${refusal.name}`, () => {
    const state = refusal.state();
    const snapshot = structuredClone(state);
    const { state: after, result } = apply(state, refusal.command);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, refusal.reason);
    assert.equal(after, state, 'a refusal returns the same state object');
    assert.deepEqual(state, snapshot, 'and does not mutate it');
  });
}

test('node updates: addrs, enabled (no-op keeps identity), remove', () => {
  const state = build(initCommand(), { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1') }, joinCommand('p2', 't1'));
  const moved = apply(state, { type: 'UpdateNodeAddrs', atMs: t0, id: 'p2', addrs: ['/ip4/10.0.0.2/tcp/1'], httpUrl: 'http://10.0.0.2:8080' });
  assert.equal(findNode(moved.state, 'p2')?.httpUrl, 'http://10.0.0.2:8080');
  assert.equal(findNode(state, 'p2')?.httpUrl, 'http://127.0.0.1:8080', 'the input state is not mutated');
  const disabled = apply(moved.state, { type: 'SetNodeEnabled', atMs: t0, id: 'p2', enabled: false });
  assert.equal(findNode(disabled.state, 'p2')?.enabled, false);
  const same = apply(disabled.state, { type: 'SetNodeEnabled', atMs: t0, id: 'p2', enabled: false });
  assert.deepEqual(same.result, { ok: true });
  assert.equal(same.state, disabled.state);
  const removed = apply(disabled.state, { type: 'RemoveNode', atMs: t0, id: 'p2' });
  assert.equal(findNode(removed.state, 'p2'), null);
});

test('settings merge and validate the whole', () => {
  const state = clusterWithToken();
  const { state: after, result } = apply(state, { type: 'UpdateSettings', atMs: t0, settings: { votersTarget: 5, downAfterS: 10 } });
  assert.deepEqual(result, { ok: true });
  assert.deepEqual(after.settings, { votersTarget: 5, suspectAfterS: 1.5, downAfterS: 10, replaceDownVoterAfterS: 60, floatingAddress: null, floatingInterface: null });
});

test('join tokens are bounded; a full table drops tokens expired past the retention, or refuses', () => {
  let state = build(initCommand());
  for (let i = 0; i < joinTokensMax; i++) {
    // The first half expires after a second, the rest after an hour.
    const token = tokenRecord(`t${i}`, { expiresAtMs: t0 + (i < joinTokensMax / 2 ? 1000 : 3_600_000) });
    state = apply(state, { type: 'CreateJoinToken', atMs: t0, token }).state;
  }
  assert.equal(Object.keys(state.joinTokens).length, joinTokensMax);
  const create = (atMs: number): ReturnType<typeof apply> => apply(state, { type: 'CreateJoinToken', atMs, token: tokenRecord('new', { expiresAtMs: atMs + 1000 }) });
  const early = create(t0 + 1000 + expiredJoinTokenRetentionMs - 1);
  assert.match(early.result.ok ? '' : early.result.reason, /already 1000 join tokens \(expired ones count for a day after expiry\): wait/);
  assert.equal(early.state, state);
  const later = create(t0 + 1000 + expiredJoinTokenRetentionMs);
  assert.deepEqual(later.result, { ok: true });
  assert.equal(Object.keys(later.state.joinTokens).length, joinTokensMax / 2 + 1);
  assert.equal(findJoinToken(later.state, 't0'), null);
  assert.notEqual(findJoinToken(later.state, `t${joinTokensMax - 1}`), null);
});

test('a record keyed "__proto__" is an own entry, not a prototype', () => {
  const state = build(initCommand(), { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('__proto__') });
  assert.equal(Object.hasOwn(state.joinTokens, '__proto__'), true);
  assert.equal(Object.getPrototypeOf(state.joinTokens), Object.prototype);
  assert.equal(apply(state, joinCommand('p2', '__proto__')).result.ok, true);
});

test('apply is deterministic: same commands, same state', () => {
  const commands: Command[] = [initCommand(), { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1', { usesLeft: 3 }) }, joinCommand('p2', 't1'), joinCommand('p3', 't1')];
  assert.deepEqual(build(...commands), build(...commands));
});
