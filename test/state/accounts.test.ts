// Users, API tokens and roles in the replicated state: the rules apply() keeps (names, the last
// admin, tokens never above their user), and the role check of a command's actor.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { actorRole, apiTokensMax, apply, auditEntries, commandRole, decodeCommand, encodeCommand, lowerRole, revokedSessionsMax, roleAtLeast, roleProblem, tokensOf, usersMax } from '../../node/state/index.ts';
import type { Actor, ApiTokenRecord, ClusterState, Command, Role, UserRecord } from '../../node/state/index.ts';
import { adminToken, build, hashA, initCommand, t0 } from './fixtures.ts';

const hash = 'scrypt$32768$8$1$c2FsdA$aGFzaA';
const user = (name: string, role: Role): UserRecord => ({ name, passwordHash: hash, role });
const token = (id: string, owner: string, role: Role, over: Partial<ApiTokenRecord> = {}): ApiTokenRecord => ({ id, name: `${id}-name`, secretHash: hashA, user: owner, role, createdAtMs: 0, ...over });
const adminSession: Actor = { user: 'admin', role: 'admin', via: 'session', tokenId: null };

/** admin (with the init token), bob the operator with an operator token and a read-only one, carol read-only. */
function team(): ClusterState {
  return build(
    initCommand(),
    { type: 'CreateUser', atMs: t0, user: user('bob', 'operator') },
    { type: 'CreateUser', atMs: t0, user: user('carol', 'read-only') },
    { type: 'CreateApiToken', atMs: t0 + 5, token: token('b0b0b0b0b0b0b0b0', 'bob', 'operator') },
    { type: 'CreateApiToken', atMs: t0 + 6, token: token('b1b1b1b1b1b1b1b1', 'bob', 'read-only') },
  );
}

function refused(state: ClusterState, command: Command): string {
  const applied = apply(state, command);
  assert.equal(applied.result.ok, false, `${command.type} should be refused`);
  assert.equal(applied.state, state, 'a refusal leaves the very same state');
  return applied.result.ok ? '' : applied.result.reason;
}

test('roles are ordered read-only < operator < admin', () => {
  assert.equal(roleAtLeast('admin', 'operator'), true);
  assert.equal(roleAtLeast('operator', 'operator'), true);
  assert.equal(roleAtLeast('read-only', 'operator'), false);
  assert.equal(lowerRole('admin', 'read-only'), 'read-only');
  assert.equal(lowerRole('operator', 'admin'), 'operator');
  assert.equal(roleProblem('operator', 'admin'), 'this needs the admin role (you are operator)');
  assert.equal(roleProblem('admin', 'admin'), null);
  assert.equal(commandRole('CreateStream'), 'operator');
  assert.equal(commandRole('CreateUser'), 'admin');
  assert.equal(commandRole('CreateJoinToken'), 'admin');
  assert.equal(commandRole('RemoveNode'), 'admin');
  assert.equal(commandRole('UpdateSettings'), 'admin');
});

test('users are created, changed and deleted; tokens get the creation time', () => {
  const state = team();
  assert.deepEqual(Object.keys(state.users).sort(), ['admin', 'bob', 'carol']);
  assert.equal(state.apiTokens['b0b0b0b0b0b0b0b0']?.createdAtMs, t0 + 5);
  assert.deepEqual(tokensOf(state, 'bob').map((t) => t.id), ['b0b0b0b0b0b0b0b0', 'b1b1b1b1b1b1b1b1']);
  const promoted = apply(state, { type: 'UpdateUser', atMs: t0, name: 'carol', role: 'admin' });
  assert.deepEqual(promoted.result, { ok: true });
  assert.equal(promoted.state.users['carol']?.role, 'admin');
  assert.equal(promoted.state.users['carol']?.passwordHash, hash, 'the password stays when not given');
  const rehashed = apply(state, { type: 'UpdateUser', atMs: t0, name: 'carol', passwordHash: 'scrypt$other' });
  assert.equal(rehashed.state.users['carol']?.passwordHash, 'scrypt$other');
  assert.equal(rehashed.state.users['carol']?.role, 'read-only');
});

test('deleting a user revokes their API tokens, and only theirs', () => {
  const state = team();
  const { state: after, result } = apply(state, { type: 'DeleteUser', atMs: t0, name: 'bob' });
  assert.deepEqual(result, { ok: true });
  assert.equal(after.users['bob'], undefined);
  assert.deepEqual(Object.keys(after.apiTokens), [adminToken.id]);
});

test('lowering a user\'s role lowers their tokens that are above it', () => {
  const { state } = apply(team(), { type: 'UpdateUser', atMs: t0, name: 'bob', role: 'read-only' });
  assert.deepEqual(tokensOf(state, 'bob').map((t) => t.role), ['read-only', 'read-only']);
  const raised = apply(state, { type: 'UpdateUser', atMs: t0, name: 'bob', role: 'admin' }).state;
  assert.deepEqual(tokensOf(raised, 'bob').map((t) => t.role), ['read-only', 'read-only'], 'raising a user does not raise their tokens');
});

test('the last admin can be neither deleted nor demoted; with a second admin both work', () => {
  const state = team();
  assert.match(refused(state, { type: 'DeleteUser', atMs: t0, name: 'admin' }), /^user admin is the last admin: deleting them would leave nobody able to manage users.*make another user admin first$/);
  assert.match(refused(state, { type: 'UpdateUser', atMs: t0, name: 'admin', role: 'operator' }), /^user admin is the last admin: making them operator/);
  assert.equal(apply(state, { type: 'UpdateUser', atMs: t0, name: 'admin', role: 'admin', passwordHash: 'scrypt$x' }).result.ok, true, 'an admin may change their own password');
  const twoAdmins = apply(state, { type: 'UpdateUser', atMs: t0, name: 'bob', role: 'admin' }).state;
  const demoted = apply(twoAdmins, { type: 'UpdateUser', atMs: t0, name: 'admin', role: 'read-only' });
  assert.equal(demoted.result.ok, true);
  assert.equal(demoted.state.apiTokens[adminToken.id]?.role, 'read-only', 'the init token follows its user down');
  assert.match(refused(demoted.state, { type: 'DeleteUser', atMs: t0, name: 'bob' }), /bob is the last admin/);
  assert.equal(apply(twoAdmins, { type: 'DeleteUser', atMs: t0, name: 'admin' }).result.ok, true);
});

test('bad users and tokens are refused with the reason', () => {
  const state = team();
  const cases: [Command, RegExp][] = [
    [{ type: 'CreateUser', atMs: t0, user: user('bob', 'admin') }, /a user named bob already exists/],
    [{ type: 'CreateUser', atMs: t0, user: user('-bob', 'admin') }, /user name "-bob" must be 1-64 characters/],
    [{ type: 'CreateUser', atMs: t0, user: user('a b', 'admin') }, /user name "a b"/],
    [{ type: 'CreateUser', atMs: t0, user: { ...user('dave', 'admin'), passwordHash: 'plain' } }, /not a scrypt hash/],
    [{ type: 'UpdateUser', atMs: t0, name: 'nobody', role: 'admin' }, /unknown user nobody/],
    [{ type: 'UpdateUser', atMs: t0, name: 'bob', passwordHash: 'plain' }, /not a scrypt hash/],
    [{ type: 'DeleteUser', atMs: t0, name: 'constructor' }, /unknown user constructor/],
    [{ type: 'CreateApiToken', atMs: t0, token: token('c0c0c0c0c0c0c0c0', 'carol', 'operator') }, /cannot have more rights than its user: carol is read-only, the token asks for operator/],
    [{ type: 'CreateApiToken', atMs: t0, token: token('c0c0c0c0c0c0c0c0', 'nobody', 'read-only') }, /unknown user nobody/],
    [{ type: 'CreateApiToken', atMs: t0, token: token('b0b0b0b0b0b0b0b0', 'bob', 'read-only') }, /id b0b0b0b0b0b0b0b0 already exists/],
    [{ type: 'CreateApiToken', atMs: t0, token: token('c0c0c0c0c0c0c0c0', 'bob', 'read-only', { name: 'a\nb' }) }, /control characters/],
    [{ type: 'DeleteApiToken', atMs: t0, id: 'ffffffffffffffff' }, /unknown API token ffffffffffffffff/],
    [initCommand({ clusterId: 'x', admin: user('admin', 'operator') }), /already initialized/],
  ];
  for (const [command, reason] of cases) assert.match(refused(state, command), reason, command.type);
  assert.match(refused(build(), initCommand({ admin: user('admin', 'operator') })), /the first user must be an admin, not operator/);
});

test('users and API tokens are bounded', () => {
  const base = team();
  const users: Record<string, UserRecord> = {};
  for (let i = 0; i < usersMax; i++) users[`u${i}`] = user(`u${i}`, 'read-only');
  assert.match(refused({ ...base, users }, { type: 'CreateUser', atMs: t0, user: user('one-more', 'read-only') }), new RegExp(`already ${usersMax} users`));
  const apiTokens: Record<string, ApiTokenRecord> = {};
  for (let i = 0; i < apiTokensMax; i++) apiTokens[`t${i}`] = token(`t${i}`, 'bob', 'read-only');
  assert.match(refused({ ...base, apiTokens }, { type: 'CreateApiToken', atMs: t0, token: token('c0c0c0c0c0c0c0c0', 'bob', 'read-only') }), new RegExp(`already ${apiTokensMax} API tokens`));
});

test('an actor\'s role comes from the state: the user\'s, capped by the token\'s', () => {
  const state = team();
  assert.deepEqual(actorRole(state, { user: 'bob', role: 'operator', via: 'session', tokenId: null }), { ok: true, role: 'operator' });
  assert.deepEqual(actorRole(state, { user: 'bob', role: 'operator', via: 'token', tokenId: 'b1b1b1b1b1b1b1b1' }), { ok: true, role: 'read-only' });
  assert.deepEqual(actorRole(state, { user: 'bob', role: 'admin', via: 'session', tokenId: null }), { ok: true, role: 'operator' }, 'a claimed role counts for nothing');
  assert.deepEqual(actorRole(state, { user: 'zed', role: 'admin', via: 'session', tokenId: null }), { ok: false, reason: 'user zed no longer exists' });
  assert.deepEqual(actorRole(state, { user: 'carol', role: 'read-only', via: 'token', tokenId: 'b0b0b0b0b0b0b0b0' }), { ok: false, reason: 'the API token b0b0b0b0b0b0b0b0 of carol was revoked' });
});

test('apply checks the actor\'s role against the state before changing anything', () => {
  const state = team();
  const stream = { id: 'tf1', name: 'TF1', sources: [{ url: 'http://example.test/tf1.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy' as const,
    serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: 0 };
  const bob: Actor = { user: 'bob', role: 'operator', via: 'session', tokenId: null };
  assert.equal(apply(state, { type: 'CreateStream', atMs: t0, stream, actor: bob }).result.ok, true);
  assert.equal(refused(state, { type: 'CreateUser', atMs: t0, user: user('eve', 'admin'), actor: bob }), 'this needs the admin role (you are operator)');
  assert.equal(refused(state, { type: 'CreateStream', atMs: t0, stream, actor: { user: 'bob', role: 'operator', via: 'token', tokenId: 'b1b1b1b1b1b1b1b1' } }),
    'this needs the operator role (you are read-only)');
  assert.equal(refused(state, { type: 'CreateStream', atMs: t0, stream, actor: { user: 'carol', role: 'admin', via: 'session', tokenId: null } }),
    'this needs the operator role (you are read-only)');
  // Deleted between the API's check and the commit:
  const gone = apply(state, { type: 'DeleteUser', atMs: t0, name: 'bob', actor: adminSession }).state;
  assert.equal(refused(gone, { type: 'CreateStream', atMs: t0, stream, actor: bob }), 'user bob no longer exists');
});

test('account commands with an actor round-trip through bytes; a stray field is refused', () => {
  const commands: Command[] = [
    { type: 'CreateUser', atMs: t0, user: user('bob', 'operator'), actor: adminSession },
    { type: 'UpdateUser', atMs: t0, name: 'bob', role: 'read-only', actor: { user: 'admin', role: 'admin', via: 'token', tokenId: adminToken.id } },
    { type: 'UpdateUser', atMs: t0, name: 'bob', passwordHash: hash },
    { type: 'DeleteUser', atMs: t0, name: 'bob', actor: adminSession },
    { type: 'CreateApiToken', atMs: t0, token: token('c0c0c0c0c0c0c0c0', 'admin', 'read-only'), actor: adminSession },
    { type: 'CreateApiToken', atMs: t0, token: { id: 'c0c0c0c0c0c0c0c0', secretHash: hashA, user: 'admin', role: 'admin', createdAtMs: 0 } },
    { type: 'DeleteApiToken', atMs: t0, id: 'c0c0c0c0c0c0c0c0', actor: adminSession },
    { type: 'RecordLogin', atMs: t0, user: 'nobody', role: null, ok: false, from: '10.0.0.9', unrecorded: 3 },
  ];
  for (const command of commands) assert.deepEqual(decodeCommand(encodeCommand(command)), command);
  assert.throws(() => encodeCommand({ type: 'DeleteUser', atMs: t0, name: 'bob', actor: { ...adminSession, password: 'x' } } as unknown as Command), /\/actor has unexpected fields: password/);
  assert.throws(() => encodeCommand({ type: 'CreateUser', atMs: t0, user: user('bob', 'root' as Role) }), /CreateUser command: \/user\/role/);
});

test('RevokeSession: the session is kept revoked until it would have expired, then dropped; each logout is audited', () => {
  const revoke = (sessionId: string, atMs: number, expiresAtMs: number): Command => ({ type: 'RevokeSession', atMs, sessionId, user: 'bob', expiresAtMs });
  let state = apply(team(), revoke('s-one', t0 + 10, t0 + 1_000)).state;
  assert.deepEqual(state.revokedSessions, { 's-one': t0 + 1_000 });
  state = apply(state, revoke('s-two', t0 + 500, t0 + 2_000)).state;
  assert.deepEqual(Object.keys(state.revokedSessions).sort(), ['s-one', 's-two']);
  state = apply(state, revoke('s-three', t0 + 1_000, t0 + 3_000)).state;
  assert.deepEqual(Object.keys(state.revokedSessions).sort(), ['s-three', 's-two'], 's-one expired: dropped');
  const already = apply(state, revoke('s-old', t0 + 5_000, t0 + 4_000));
  assert.equal(already.result.ok, true);
  assert.deepEqual(already.state.revokedSessions, {}, 'an expired session is not kept, and the rest expired too');
  const logouts = auditEntries(state).filter((e) => e.action === 'Logout');
  assert.equal(logouts.length, 3);
  assert.deepEqual({ user: logouts[0]!.user, role: logouts[0]!.role, via: logouts[0]!.via }, { user: 'bob', role: 'operator', via: 'session' });
  assert.deepEqual(decodeCommand(encodeCommand(revoke('s-one', t0, t0 + 1))), revoke('s-one', t0, t0 + 1));
  assert.equal(commandRole('RevokeSession'), 'admin', 'proposed by the logout route itself, without an actor');
});

test('RevokeSession is bounded: at revokedSessionsMax live entries a new one is refused, saying what to do', () => {
  const full = { ...team(), revokedSessions: Object.fromEntries(Array.from({ length: revokedSessionsMax }, (_, i) => [`s${i}`, t0 + 60_000])) };
  assert.match(refused(full, { type: 'RevokeSession', atMs: t0, sessionId: 'one-more', user: 'bob', expiresAtMs: t0 + 60_000 }), /stays valid until it expires \(change the password to end every session of bob\)/);
  assert.equal(apply(full, { type: 'RevokeSession', atMs: t0, sessionId: 's1', user: 'bob', expiresAtMs: t0 + 60_000 }).result.ok, true, 'one already revoked: fine');
});
