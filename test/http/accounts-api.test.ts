// Users, API tokens, the audit log and node removal through the HTTP API (app.inject against a
// FakeApi running the real apply()).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { verifyPassword } from '../../node/auth/index.ts';
import { LoginAuditBudget } from '../../node/http/login-audit.ts';
import { auditEntries } from '../../node/state/index.ts';
import { nowMs } from './fake-api.ts';
import { applied, bearer, closeAll, login, serve, teamApi, tokens } from './team.ts';

after(closeAll);

const asAdmin = bearer('admin');

test('users: list, create (hashed on this node, never proposed in clear), change, delete', async () => {
  const api = teamApi();
  const app = serve(api);
  const list = await app.inject({ method: 'GET', url: '/api/v1/users', headers: asAdmin });
  assert.deepEqual(list.json(), [{ name: 'admin', role: 'admin' }, { name: 'bob', role: 'operator' }, { name: 'carol', role: 'read-only' }]);
  const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: asAdmin, payload: { name: 'dave', password: 'dave-password-1', role: 'operator' } });
  assert.equal(created.statusCode, 201);
  assert.deepEqual(created.json(), { name: 'dave', role: 'operator' });
  assert.ok(await verifyPassword('dave-password-1', api.current.users['dave']!.passwordHash));
  assert.doesNotMatch(JSON.stringify(api.proposed), /dave-password-1/);
  assert.doesNotMatch(created.body + list.body, /scrypt/);
  await login(app, 'dave', 'dave-password-1');

  const changed = await app.inject({ method: 'PATCH', url: '/api/v1/users/dave', headers: asAdmin, payload: { role: 'read-only', password: 'dave-password-2' } });
  assert.deepEqual([changed.statusCode, changed.json()], [200, { name: 'dave', role: 'read-only' }]);
  assert.ok(await verifyPassword('dave-password-2', api.current.users['dave']!.passwordHash));
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/users/dave', headers: asAdmin })).statusCode, 204);
  assert.equal(api.current.users['dave'], undefined);
  assert.doesNotMatch(JSON.stringify(api.proposed), /dave-password/);
});

test('users: bad input gets a 4xx that says what to do', async () => {
  const app = serve(teamApi());
  const cases: [string, string, unknown, number, RegExp][] = [
    ['POST', '/api/v1/users', { name: 'eve', password: 'short', role: 'admin' }, 400, /password must NOT have fewer than 12 characters/],
    ['POST', '/api/v1/users', { name: 'eve', password: 'long-enough-1', role: 'root' }, 400, /role/],
    ['POST', '/api/v1/users', { name: 'e ve', password: 'long-enough-1', role: 'admin' }, 400, /name must match pattern/],
    ['POST', '/api/v1/users', { name: 'bob', password: 'long-enough-1', role: 'admin' }, 409, /a user named bob already exists: change it with PATCH \/api\/v1\/users\/bob/],
    ['PATCH', '/api/v1/users/bob', {}, 400, /must NOT have fewer than 1 properties/],
    ['PATCH', '/api/v1/users/nobody', { role: 'admin' }, 404, /no user nobody: GET \/api\/v1\/users lists them/],
    ['DELETE', '/api/v1/users/nobody', undefined, 404, /no user nobody/],
    ['DELETE', '/api/v1/users/admin', undefined, 409, /user admin is the last admin: deleting them would leave nobody able to manage users, tokens and settings; make another user admin first/],
    ['PATCH', '/api/v1/users/admin', { role: 'operator' }, 409, /user admin is the last admin: making them operator/],
  ];
  for (const [method, url, payload, status, message] of cases) {
    const res = await app.inject({ method: method as 'POST', url, headers: asAdmin, ...(payload === undefined ? {} : { payload: payload as object }) });
    assert.equal(res.statusCode, status, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`);
    assert.match(res.json<{ message: string }>().message, message);
  }
});

test('deleting a user revokes their API tokens and ends their sessions', async () => {
  const api = teamApi();
  const app = serve(api);
  const cookie = await login(app, 'bob');
  const me = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/api/v1/me', headers });
  assert.equal((await me(bearer('operator'))).statusCode, 200);
  assert.equal((await me({ cookie })).statusCode, 200);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/users/bob', headers: asAdmin })).statusCode, 204);
  assert.equal(api.current.apiTokens[tokens.operator.id], undefined);
  const byToken = await me(bearer('operator'));
  assert.equal(byToken.statusCode, 401);
  assert.match(byToken.json<{ message: string }>().message, /unknown or revoked API token/);
  const bySession = await me({ cookie });
  assert.equal(bySession.statusCode, 401);
  assert.match(bySession.json<{ message: string }>().message, /user bob no longer exists: log in again/);
});

test('changing a password ends the user\'s sessions', async () => {
  const app = serve(teamApi());
  const cookie = await login(app, 'carol');
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).statusCode, 200);
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers: asAdmin, payload: { password: 'carol-password-2' } })).statusCode, 200);
  const old = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
  assert.equal(old.statusCode, 401);
  assert.match(old.json<{ message: string }>().message, /the password of carol was changed: log in again/);
  await login(app, 'carol', 'carol-password-2');
});

test('API tokens: created for the caller and shown once, listed without secrets, revoked', async () => {
  const api = teamApi();
  const app = serve(api);
  const made = await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: asAdmin, payload: {} });
  assert.equal(made.statusCode, 201);
  const body = made.json<{ id: string; name: string; role: string; token: string }>();
  assert.deepEqual({ ...body, token: '' }, { id: body.id, name: '', role: 'admin', token: '' });
  assert.match(body.token, new RegExp(`^otm_${body.id}_[A-Za-z0-9_-]{43}$`));
  assert.equal(api.current.apiTokens[body.id]?.user, 'admin');
  assert.doesNotMatch(JSON.stringify(api.current), new RegExp(body.token.slice(-43)));
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${body.token}` } })).statusCode, 200);

  const named = await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: asAdmin, payload: { name: 'grafana', role: 'read-only' } });
  assert.deepEqual({ ...named.json<object>(), id: '', token: '' }, { id: '', name: 'grafana', role: 'read-only', token: '' });

  const list = await app.inject({ method: 'GET', url: '/api/v1/api-tokens', headers: asAdmin });
  assert.equal(list.statusCode, 200);
  const listed = list.json<{ id: string; name: string; user: string; role: string; createdAt: string }[]>();
  assert.deepEqual(listed.find((t) => t.id === tokens.operator.id), { id: tokens.operator.id, name: 'bob-ci', user: 'bob', role: 'operator', createdAt: new Date(nowMs).toISOString() });
  assert.deepEqual(listed.find((t) => t.id === body.id), { id: body.id, name: '', user: 'admin', role: 'admin', createdAt: new Date(nowMs).toISOString() });
  assert.doesNotMatch(list.body, /secret|otm_/i);

  assert.equal((await app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${body.id}`, headers: asAdmin })).statusCode, 204);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${body.token}` } })).statusCode, 401);
  const unknown = await app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${body.id}`, headers: asAdmin });
  assert.deepEqual([unknown.statusCode, unknown.json<{ message: string }>().message], [404, `no API token ${body.id}: GET /api/v1/api-tokens lists them`]);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/api-tokens/nothex', headers: asAdmin })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: asAdmin, payload: { name: 'x'.repeat(65) } })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: asAdmin, payload: { role: 'root' } })).statusCode, 400);
});

test('audit: every change through the API, newest first, filtered; refusals and reads leave no entry', async () => {
  const api = teamApi();
  let clock = nowMs;
  api.nowMs = () => clock;
  const app = serve(api);
  const bobSession = await login(app, 'bob');
  clock += 1000;
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/groups', headers: bearer('operator'), payload: { name: 'edge2', priority: 3 } })).statusCode, 201);
  clock += 1000;
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/nodes/p2/disable', headers: { cookie: bobSession } })).statusCode, 200);
  clock += 1000;
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: asAdmin, payload: { votersTarget: 5 } })).statusCode, 200);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/groups/nope', headers: asAdmin })).statusCode, 404, 'refused');
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/groups', headers: asAdmin })).statusCode, 200);
  const wrong = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'mallory', password: 'guess' } });
  assert.equal(wrong.statusCode, 401);

  const res = await app.inject({ method: 'GET', url: '/api/v1/audit', headers: bearer('read-only') });
  assert.equal(res.statusCode, 200);
  const { entries, total } = res.json<{ entries: Record<string, unknown>[]; total: number }>();
  assert.equal(total, 5);
  assert.deepEqual(entries.map((e) => [e['id'], e['action'], e['user'], e['role'], e['via'], e['target']]), [
    [5, 'LoginFailed', '(unknown user)', null, 'session', '(unknown user)'],
    [4, 'UpdateSettings', 'admin', 'admin', 'token', 'settings'],
    [3, 'SetNodeEnabled', 'bob', 'operator', 'session', 'p2'],
    [2, 'PutGroup', 'bob', 'operator', 'token', 'edge2'],
    [1, 'Login', 'bob', 'operator', 'session', 'bob'],
  ]);
  assert.deepEqual(entries[3], {
    id: 2, at: new Date(nowMs + 1000).toISOString(), atMs: nowMs + 1000, user: 'bob', role: 'operator', via: 'token', tokenId: tokens.operator.id,
    action: 'PutGroup', target: 'edge2', summary: 'created group edge2: priority 3',
  });
  assert.equal(entries[2]!['summary'], 'disabled node beta');
  assert.match(String(entries[4]!['summary']), /^logged in from /);

  const query = async (q: string) => (await app.inject({ method: 'GET', url: `/api/v1/audit?${q}`, headers: asAdmin })).json<{ entries: { id: number }[]; total: number }>();
  const ids = async (q: string) => (await query(q)).entries.map((e) => e.id);
  assert.deepEqual(await ids('user=bob'), [3, 2, 1]);
  assert.deepEqual(await ids('action=SetNodeEnabled'), [3]);
  assert.deepEqual(await ids('target=p2'), [3]);
  assert.deepEqual(await ids('q=PRIORITY'), [2]);
  assert.deepEqual(await ids(`since=${new Date(nowMs + 1000).toISOString()}&until=${nowMs + 2000}`), [3, 2]);
  assert.deepEqual((await query('limit=2')).entries.map((e) => e.id), [5, 4]);
  assert.equal((await query('limit=2')).total, 5);
  for (const [q, message] of [['limit=1001', /limit must be <= 1000/], ['limit=0', /limit must be >= 1/], ['since=yesterday', /since "yesterday" is not a time: give ISO 8601/], ['who=bob', /unknown field "who"/]] as const) {
    const bad = await app.inject({ method: 'GET', url: `/api/v1/audit?${q}`, headers: asAdmin });
    assert.equal(bad.statusCode, 400, q);
    assert.match(bad.json<{ message: string }>().message, message);
  }
});

test('the login audit budget records up to the bound a minute and counts the rest into the next', () => {
  const budget = new LoginAuditBudget(2);
  assert.deepEqual([budget.take(0), budget.take(10), budget.take(20), budget.take(30)], [{ record: true, unrecorded: 0 }, { record: true, unrecorded: 0 }, { record: false }, { record: false }]);
  assert.deepEqual(budget.take(60_000), { record: true, unrecorded: 2 });
  assert.deepEqual(budget.take(60_001), { record: true, unrecorded: 0 });
});

test('DELETE /api/v1/nodes/:id removes a learner (202) and records who did it', async () => {
  const api = teamApi();
  const app = serve(api);
  const res = await app.inject({ method: 'DELETE', url: '/api/v1/nodes/p2', headers: asAdmin });
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual(res.json(), { removed: 'p2' });
  assert.equal(api.current.nodes['p2'], undefined);
  assert.deepEqual(auditEntries(api.current).map((e) => [e.action, e.target, e.user, e.summary]), [['RemoveNode', 'p2', 'admin', 'removed node beta (p2) from the cluster']]);
  const again = await app.inject({ method: 'DELETE', url: '/api/v1/nodes/p2', headers: asAdmin });
  assert.equal(again.statusCode, 404);
  assert.match(again.json<{ message: string }>().message, /no node p2 in this cluster/);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/nodes/p2', headers: bearer('operator') })).statusCode, 403);
});

test('DELETE /api/v1/nodes/:id refuses the leader, a voter whose loss breaks the quorum, the node asked, and answers 503 with no leader', async () => {
  const api = teamApi();
  api.current = applied(api.current,
    { type: 'CreateJoinToken', atMs: nowMs, token: { id: 'more', secretHash: 'd'.repeat(64), expiresAtMs: nowMs + 1000, usesLeft: 3, groups: [], createdAtMs: nowMs, createdBy: 'admin' } },
    { type: 'JoinNode', atMs: nowMs, tokenId: 'more', secretHash: 'd'.repeat(64), node: { id: 'p3', name: 'gamma', groups: [], addrs: [], httpUrl: 'http://127.0.0.1:1/p3', enabled: true, joinedAtMs: 0 } },
  );
  api.raft = { ...api.raft, conf: { voters: ['p1', 'p2', 'p3'], learners: [] } };
  api.members.set('p2', { state: 'alive', cpuPct: 0, memPct: 0, streams: 0 });
  api.members.set('p3', { state: 'down', cpuPct: 0, memPct: 0, streams: 0 });
  const app = serve(api);
  const remove = (id: string) => app.inject({ method: 'DELETE', url: `/api/v1/nodes/${id}`, headers: asAdmin });
  const leader = await remove('p1');
  assert.equal(leader.statusCode, 409);
  assert.equal(leader.json<{ message: string }>().message, 'node alpha is the current leader and cannot remove itself: stop its process first (the others elect a new leader within seconds), then remove it');
  const quorum = await remove('p2');
  assert.equal(quorum.statusCode, 409);
  assert.equal(quorum.json<{ message: string }>().message,
    'removing voter beta now would leave 1 of the 3 voters alive, fewer than the quorum of 2 the cluster needs to change its configuration and keep working: bring gamma back first (or wait for the autopilot to replace it)');
  // The down voter itself may go: the two alive are a quorum of three.
  assert.equal((await remove('p3')).statusCode, 202);
  assert.equal(api.current.nodes['p3'], undefined);

  const follower = teamApi('p2', 'beta');
  follower.raft = { ...follower.raft, role: 'follower', leaderId: 'p1' };
  const asked = await serve(follower).inject({ method: 'DELETE', url: '/api/v1/nodes/p2', headers: asAdmin });
  assert.deepEqual([asked.statusCode, asked.json<{ message: string }>().message], [409, 'this request reached beta, the node to be removed: send it to another node of the cluster']);
  const leaderless = teamApi();
  leaderless.raft = { ...leaderless.raft, leaderId: null };
  const noLeader = await serve(leaderless).inject({ method: 'DELETE', url: '/api/v1/nodes/p2', headers: asAdmin });
  assert.equal(noLeader.statusCode, 503);
  assert.equal(noLeader.headers['retry-after'], '1');
});
