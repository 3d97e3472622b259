// Dashboard login: a session cookie (HttpOnly, SameSite=Strict) accepted by the API like a
// token; wrong passwords and unknown users get the same answer; attempts are rate limited;
// forged, expired and logged-out cookies are refused.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { createHmac } from 'node:crypto';

import { hashPassword, sessionKeyFrom, signSession, verifySession } from '../../node/auth/index.ts';
import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { FakeApi, nowMs } from './fake-api.ts';

const servers: HttpServer[] = [];
after(() => Promise.all(servers.map((app) => app.close())));

async function serve(): Promise<{ api: FakeApi; app: HttpServer }> {
  const api = new FakeApi('p1', 'alpha');
  api.current = { ...api.current, users: { admin: { name: 'admin', passwordHash: await hashPassword('correct horse'), role: 'admin' } } };
  const app = buildServer({ api });
  servers.push(app);
  return { api, app };
}

test('log in, use the cookie for the API, log out', async () => {
  const { app } = await serve();
  const login = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'admin', password: 'correct horse' } });
  assert.equal(login.statusCode, 200);
  const setCookie = String(login.headers['set-cookie']);
  assert.match(setCookie, /^ottmesh_session=s1\.[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
  const cookie = setCookie.split(';')[0]!;
  const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
  assert.deepEqual(me.json(), { user: 'admin', role: 'admin', via: 'session' });
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/cluster', headers: { cookie } })).statusCode, 200);
  const logout = await app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie } });
  assert.equal(logout.statusCode, 204);
  assert.match(String(logout.headers['set-cookie']), /ottmesh_session=; .*Max-Age=0/);
  const replayed = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
  assert.equal(replayed.statusCode, 401);
  assert.match(replayed.json<{ message: string }>().message, /ended by logging out/);
});

test('during a rolling upgrade (a member runs another build) a logout clears the cookie but revokes nothing: an older node would stop on the command', async () => {
  const { api, app } = await serve();
  const login = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'admin', password: 'correct horse' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  api.current = { ...api.current, nodes: { ...api.current.nodes, p9: { id: 'p9', name: 'old-one', groups: [], addrs: [], httpUrl: 'http://old', enabled: true, joinedAtMs: 0 } } };
  Object.assign(api, { nodeBuild: (id: string) => (id === 'p9' ? { version: '0.0.1', commit: 'old' } : null) });
  const logout = await app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie } });
  assert.equal(logout.statusCode, 503);
  assert.match(String(logout.headers['set-cookie']), /ottmesh_session=; .*Max-Age=0/);
  assert.match(logout.json<{ message: string }>().message, /not revoked while old-one run\(s\) another build/);
  assert.equal(api.proposed.filter((c) => c.type === 'RevokeSession').length, 0);
});

test('a logout the cluster cannot record clears the cookie and says the session is still valid (503)', async () => {
  const { api, app } = await serve();
  const login = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'admin', password: 'correct horse' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  api.raft = { ...api.raft, role: 'follower', leaderId: null };
  const logout = await app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie } });
  assert.equal(logout.statusCode, 503);
  assert.match(String(logout.headers['set-cookie']), /ottmesh_session=; .*Max-Age=0/);
  assert.match(logout.json<{ message: string }>().message, /could not revoke the session .*log out again/);
});

test('wrong passwords and unknown users: the same 401; forged and expired cookies refused', async () => {
  const { api, app } = await serve();
  for (const payload of [{ username: 'admin', password: 'wrong' }, { username: 'nobody', password: 'x' }]) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/login', payload });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json<{ message: string }>().message, 'wrong username or password');
  }
  const key = sessionKeyFrom(api.internalToken());
  const forged = signSession({ user: 'admin', role: 'admin', expiresAtMs: nowMs + 60_000 }, 'another key');
  const expired = signSession({ user: 'admin', role: 'admin', expiresAtMs: nowMs - 1 }, key);
  const ghost = signSession({ user: 'ghost', role: 'admin', expiresAtMs: nowMs + 60_000 }, key);
  for (const [value, message] of [[forged, /not valid for this cluster/], [expired, /expired/], [ghost, /no longer exists/], ['junk', /malformed/]] as const) {
    const res = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: `ottmesh_session=${value}` } });
    assert.equal(res.statusCode, 401);
    assert.match(res.json<{ message: string }>().message, message);
  }
});

test('login attempts are limited per client address', async () => {
  const { app } = await serve();
  const codes: number[] = [];
  for (let i = 0; i < 12; i++) codes.push((await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'admin', password: 'wrong' } })).statusCode);
  assert.deepEqual(codes.slice(0, 10), Array(10).fill(401));
  assert.deepEqual(codes.slice(10), [429, 429]);
});

test('session cookies carry any role; an unknown role or a bad credential field is malformed', async () => {
  const key = sessionKeyFrom('i'.repeat(64));
  const expiresAtMs = nowMs + 60_000;
  for (const role of ['read-only', 'operator', 'admin'] as const) {
    const checked = verifySession(signSession({ user: 'u', role, expiresAtMs, credential: 'abc' }, key), key, nowMs);
    assert.deepEqual(checked, { ok: true, session: { user: 'u', role, expiresAtMs, credential: 'abc' } });
  }
  const forge = (payload: object) => {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `s1.${body}.${createHmac('sha256', key).update(`s1.${body}`).digest('base64url')}`;
  };
  assert.equal(verifySession(forge({ u: 'u', r: 'admin', exp: expiresAtMs }), key, nowMs).ok, true, 'a cookie from before credentials still works');
  assert.deepEqual(verifySession(forge({ u: 'u', r: 'root', exp: expiresAtMs }), key, nowMs), { ok: false, reason: 'the session cookie is malformed: log in again' });
  assert.deepEqual(verifySession(forge({ u: 'u', r: 'admin', exp: expiresAtMs, h: 5 }), key, nowMs), { ok: false, reason: 'the session cookie is malformed: log in again' });
});
