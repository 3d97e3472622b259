// Roles through the HTTP API, for every route the server has (collected as they register, so a
// route added later is covered without touching this test): no credentials get 401 unless the
// route is public; read-only gets 403 for anything but GET and HEAD; operator gets 403 for the
// admin routes; admin gets neither.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import type { RouteOptions } from 'fastify';

import { buildServer } from '../../node/http/index.ts';
import type { Role } from '../../node/state/index.ts';
import { bearer, closeAll, login, serve, teamApi } from './team.ts';

after(closeAll);

const publicRoutes = new Set(['GET /api/v1/health', 'HEAD /api/v1/health', 'GET /api/v1/ready', 'HEAD /api/v1/ready', 'POST /api/v1/login', 'POST /api/v1/logout']);
const adminRoutes = new Set([
  'GET /api/v1/users', 'HEAD /api/v1/users', 'POST /api/v1/users', 'PATCH /api/v1/users/:name', 'DELETE /api/v1/users/:name',
  'GET /api/v1/api-tokens', 'HEAD /api/v1/api-tokens', 'POST /api/v1/api-tokens', 'DELETE /api/v1/api-tokens/:id',
  'PATCH /api/v1/settings', 'POST /api/v1/join-tokens', 'DELETE /api/v1/nodes/:id',
  // Installing servers over SSH (issue 6).
  'POST /api/v1/installs/probe', 'POST /api/v1/installs', 'GET /api/v1/installs', 'HEAD /api/v1/installs', 'GET /api/v1/installs/:id', 'HEAD /api/v1/installs/:id',
]);
/** Reads that need more than read-only: the playlist signs viewer URLs for services that sign. */
const operatorReads = new Set(['GET /api/v1/playlist.m3u', 'HEAD /api/v1/playlist.m3u']);
/** Answers that never end (server-sent events): only refusals are checked there. */
const streaming = new Set(['GET /api/v1/events', 'HEAD /api/v1/events']);

async function apiRoutes(): Promise<{ method: string; url: string }[]> {
  const app = buildServer({ api: teamApi() });
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) if (route.url.startsWith('/api/v1/')) routes.push({ method, url: route.url });
  });
  await app.ready();
  await app.close();
  return routes;
}

const routes = await apiRoutes();

function needed(key: string): Role | null {
  if (publicRoutes.has(key)) return null;
  if (adminRoutes.has(key)) return 'admin';
  if (operatorReads.has(key)) return 'operator';
  return key.startsWith('GET ') || key.startsWith('HEAD ') ? 'read-only' : 'operator';
}

test('the route list holds what the API documents', () => {
  const keys = new Set(routes.map((r) => `${r.method} ${r.url}`));
  for (const key of [...adminRoutes, 'GET /api/v1/audit', 'GET /api/v1/me', 'POST /api/v1/placement/plan', 'POST /api/v1/probe', 'GET /api/v1/events']) {
    assert.ok(keys.has(key), `${key} is registered`);
  }
  assert.ok(routes.length > 50, `${routes.length} routes`);
});

test('every route: 401 without credentials unless public, 403 below its role, through for its role and above', async () => {
  const app = serve(teamApi());
  for (const { method, url } of routes) {
    const key = `${method} ${url}`;
    const path = url.replace(/:[a-z]+/g, 'x0');
    const inject = (headers: Record<string, string>) => app.inject({ method: method as 'GET', url: path, headers });
    const role = needed(key);
    if (role === null) continue;
    const anonymous = await inject({});
    assert.equal(anonymous.statusCode, 401, `${key} without credentials`);
    for (const caller of ['read-only', 'operator', 'admin'] as const) {
      const allowed = (caller === 'admin') || (caller === 'operator' ? role !== 'admin' : role === 'read-only');
      if (allowed && streaming.has(key)) continue;
      const res = await inject(bearer(caller));
      if (allowed) {
        assert.ok(res.statusCode !== 401 && res.statusCode !== 403, `${key} as ${caller}: ${res.statusCode} ${res.body}`);
      } else {
        assert.equal(res.statusCode, 403, `${key} as ${caller}`);
        if (method !== 'HEAD') assert.deepEqual(res.json(), { statusCode: 403, error: 'Forbidden', message: `this needs the ${role} role (you are ${caller})` });
      }
    }
  }
});

test('the dry run and the probe need operator; the event stream and log reads do not', async () => {
  const app = serve(teamApi());
  const asReader = bearer('read-only');
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/placement/plan', headers: asReader, payload: {} })).statusCode, 403);
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/probe', headers: asReader, payload: { url: 'http://example.test/a.ts' } })).statusCode, 403);
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/placement/plan', headers: bearer('operator'), payload: {} })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/nodes/p1/log', headers: asReader })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/nodes/p1/history', headers: asReader })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/audit', headers: asReader })).statusCode, 200);
  // The event stream answers read-only callers (it never ends, so only its head is read).
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const controller = new AbortController();
  const res = await fetch(`${address}/api/v1/events`, { headers: asReader, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  controller.abort();
});

test('a session has the role the state gives its user now, not the one at login', async () => {
  const api = teamApi();
  const app = serve(api);
  const cookie = await login(app, 'bob');
  const create = () => app.inject({ method: 'POST', url: '/api/v1/groups', headers: { cookie }, payload: { name: 'edge2', priority: 1 } });
  assert.equal((await create()).statusCode, 201);
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/users/bob', headers: bearer('admin'), payload: { role: 'read-only' } })).statusCode, 200);
  const refused = await create();
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json<{ message: string }>().message, 'this needs the operator role (you are read-only)');
  assert.deepEqual((await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).json(), { user: 'bob', role: 'read-only', via: 'session' });
});

test('an API token is allowed as the lower of its role and its user\'s', async () => {
  const api = teamApi();
  const app = serve(api);
  const me = async (headers: Record<string, string>) => (await app.inject({ method: 'GET', url: '/api/v1/me', headers })).json();
  assert.deepEqual(await me(bearer('operator')), { user: 'bob', role: 'operator', via: 'token' });
  assert.deepEqual(await me(bearer('read-only')), { user: 'carol', role: 'read-only', via: 'token' });
  assert.deepEqual(await me(bearer('admin')), { user: 'admin', role: 'admin', via: 'token' });
  const made = await app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: bearer('admin'), payload: { name: 'grafana', role: 'read-only' } });
  assert.equal(made.statusCode, 201);
  const weak = { authorization: `Bearer ${made.json<{ token: string }>().token}` };
  assert.deepEqual(await me(weak), { user: 'admin', role: 'read-only', via: 'token' });
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/streams', headers: weak })).statusCode, 200);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/streams/tf1', headers: weak })).statusCode, 403);
});
