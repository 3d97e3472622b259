// The REST API through app.inject() against a fake ClusterApi.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { NotLeaderError, ReadTimeoutError } from '../../consensus/index.ts';
import { decodeJoinToken, hashSecret } from '../../node/auth/index.ts';
import { buildServer } from '../../node/http/index.ts';
import { notReadyReason } from '../../node/http/routes/health.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { apply } from '../../node/state/index.ts';
import { buildInfo } from '../../node/version.ts';
import { adminApiToken, FakeApi, node, nowMs } from './fake-api.ts';

const auth = { authorization: `Bearer ${adminApiToken.token}` };
const servers: HttpServer[] = [];
after(() => Promise.all(servers.map((app) => app.close())));

function serve(api: FakeApi, bodyLimitBytes?: number): HttpServer {
  const app = buildServer({ api }, bodyLimitBytes === undefined ? {} : { bodyLimitBytes });
  servers.push(app);
  return app;
}

test('GET /api/v1/health needs no auth and says what this node is', async () => {
  const api = new FakeApi('p1', 'alpha');
  const app = serve(api);
  const res = await app.inject({ method: 'GET', url: '/api/v1/health' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { ok: true, nodeId: 'p1', name: 'alpha', role: 'leader', leaderId: 'p1', term: 7, ...buildInfo() });
  const learner = new FakeApi('p2', 'beta', 'follower');
  learner.raft = { ...learner.raft, leaderId: 'p1' };
  assert.deepEqual((await serve(learner).inject({ method: 'GET', url: '/api/v1/health' })).json(),
    { ok: true, nodeId: 'p2', name: 'beta', role: 'learner', leaderId: 'p1', term: 7, ...buildInfo() });
  const candidate = new FakeApi('p3', 'gamma', 'candidate');
  assert.equal((await serve(candidate).inject({ method: 'GET', url: '/api/v1/health' })).json<{ role: string }>().role, 'follower');
});

test('GET /api/v1/ready needs no auth: 200 while the node is in touch with a quorum, 503 with the reason while fenced', async () => {
  const api = new FakeApi('p1', 'alpha');
  const app = serve(api);
  const ready = await app.inject({ method: 'GET', url: '/api/v1/ready' });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.headers['cache-control'], 'no-store');
  assert.deepEqual(ready.json(), { ready: true, nodeId: 'p1', name: 'alpha' });
  Object.assign(api, { fenced: () => true });
  const fenced = await app.inject({ method: 'GET', url: '/api/v1/ready' });
  assert.equal(fenced.statusCode, 503);
  assert.equal(fenced.headers['cache-control'], 'no-store');
  assert.deepEqual(fenced.json(), { ready: false, nodeId: 'p1', name: 'alpha', reason: notReadyReason });
});

test('auth: missing, malformed, unknown and wrong tokens get 401 with a clear message', async () => {
  const app = serve(new FakeApi('p1', 'alpha'));
  const wrongSecret = `otm_${adminApiToken.id}_${'A'.repeat(43)}`;
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /needs an API token: send the header 'Authorization: Bearer <token>'/],
    [{ authorization: 'Basic YWRtaW46eA==' }, /must be 'Bearer <token>'/],
    [{ authorization: 'Bearer hello' }, /not an ottmesh API token \(expected otm_<id>_<secret>\)/],
    [{ authorization: `Bearer otm_${'0'.repeat(16)}_${'A'.repeat(43)}` }, /unknown or revoked API token/],
    [{ authorization: `Bearer ${wrongSecret}` }, /unknown or revoked API token/],
  ];
  for (const [headers, message] of cases) {
    for (const request of [{ method: 'GET' as const, url: '/api/v1/cluster' }, { method: 'POST' as const, url: '/api/v1/join-tokens', payload: {} }]) {
      const res = await app.inject({ ...request, headers });
      assert.equal(res.statusCode, 401, `${request.url} ${JSON.stringify(headers)}`);
      assert.equal(res.json<{ error: string }>().error, 'Unauthorized');
      assert.match(res.json<{ message: string }>().message, message);
    }
  }
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/cluster', headers: { authorization: `bearer  ${adminApiToken.token}` } })).statusCode, 200);
});

test('GET /api/v1/cluster reads after a read-index and shows every member', async () => {
  const api = new FakeApi('p1', 'alpha');
  api.members.set('p1', { state: 'alive', cpuPct: 12.5, memPct: 40, streams: 3 });
  api.members.set('p3', { state: 'suspect', cpuPct: 1, memPct: 2, streams: 0 });
  // The read barrier applies a write first: the answer must include it.
  api.readImpl = async () => {
    api.current = apply(api.current, { type: 'CreateJoinToken', atMs: nowMs, token: { id: 't3', secretHash: 'd'.repeat(64), expiresAtMs: nowMs + 1000, usesLeft: 1, groups: [], createdAtMs: nowMs, createdBy: 'admin' } }).state;
    api.current = apply(api.current, { type: 'JoinNode', atMs: nowMs, tokenId: 't3', secretHash: 'd'.repeat(64), node: node('p3', 'gamma') }).state;
  };
  const res = await serve(api).inject({ method: 'GET', url: '/api/v1/cluster', headers: auth });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), {
    clusterId: 'cluster-1',
    term: 7,
    leader: { id: 'p1', name: 'alpha' },
    nodes: [
      { id: 'p1', name: 'alpha', role: 'voter', state: 'alive', enabled: true, draining: false, weight: 1, groups: [], cpuPct: 12.5, memPct: 40, streams: 3, httpUrl: 'http://127.0.0.1:1/p1', ...buildInfo() },
      { id: 'p2', name: 'beta', role: 'learner', state: 'down', enabled: true, draining: false, weight: 1, groups: ['edge'], cpuPct: 0, memPct: 0, streams: 0, httpUrl: 'http://127.0.0.1:1/p2', version: null, commit: null },
      { id: 'p3', name: 'gamma', role: 'learner', state: 'suspect', enabled: true, draining: false, weight: 1, groups: [], cpuPct: 1, memPct: 2, streams: 0, httpUrl: 'http://127.0.0.1:1/p3', version: null, commit: null },
    ],
  });
});

test('GET /api/v1/cluster: a read that cannot complete is 503 with Retry-After', async () => {
  const api = new FakeApi('p2', 'beta', 'follower');
  const app = serve(api);
  for (const error of [new NotLeaderError(null), new ReadTimeoutError(10)]) {
    api.readImpl = () => Promise.reject(error);
    const res = await app.inject({ method: 'GET', url: '/api/v1/cluster', headers: auth });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.match(res.json<{ message: string }>().message, /^the cluster cannot do this right now: /);
  }
  api.readImpl = () => Promise.reject(new Error('boom'));
  const res = await app.inject({ method: 'GET', url: '/api/v1/cluster', headers: auth });
  assert.equal(res.statusCode, 500);
  assert.equal(res.json<{ message: string }>().message, 'internal error: see this node\'s log');
});

test('POST /api/v1/join-tokens: {} takes the defaults; the token carries the secret whose hash was committed', async () => {
  const api = new FakeApi('p1', 'alpha');
  const res = await serve(api).inject({ method: 'POST', url: '/api/v1/join-tokens', headers: auth, payload: {} });
  assert.equal(res.statusCode, 201);
  const body = res.json<{ token: string; id: string; expiresAt: string; uses: number; groups: string[] }>();
  assert.equal(body.expiresAt, new Date(nowMs + 3_600_000).toISOString());
  assert.equal(body.uses, 1);
  assert.deepEqual(body.groups, []);
  const payload = decodeJoinToken(body.token);
  assert.equal(payload.tokenId, body.id);
  assert.equal(payload.clusterId, 'cluster-1');
  const [command] = api.proposed;
  assert.ok(command?.type === 'CreateJoinToken');
  assert.deepEqual(command.token, {
    id: body.id, secretHash: hashSecret(payload.secret), expiresAtMs: nowMs + 3_600_000, usesLeft: 1, groups: [], createdAtMs: nowMs, createdBy: 'admin',
  });
  assert.equal(command.atMs, nowMs);
  assert.ok(api.current.joinTokens[body.id], 'applied');
});

test('POST /api/v1/join-tokens with ttl, uses and groups', async () => {
  const api = new FakeApi('p1', 'alpha');
  const res = await serve(api).inject({ method: 'POST', url: '/api/v1/join-tokens', headers: auth, payload: { ttlS: 60, uses: 5, groups: ['edge', 'eu-1'] } });
  assert.equal(res.statusCode, 201);
  const body = res.json<{ token: string; installCommand: string }>();
  assert.equal(body.installCommand, `curl -fsSL http://localhost:80/install.sh | sh -s -- ${body.token}`);
  assert.deepEqual({ ...body, token: '', id: '', installCommand: '' }, { token: '', id: '', installCommand: '', expiresAt: new Date(nowMs + 60_000).toISOString(), uses: 5, groups: ['edge', 'eu-1'] });
});

test('bad bodies get 400 with the schema path; big ones 413; refusals 409', async () => {
  const api = new FakeApi('p1', 'alpha');
  const app = serve(api, 1024);
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/api/v1/join-tokens', headers: { ...auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as string }) });
  const cases: [unknown, string, RegExp][] = [
    [{ ttlS: 0 }, '/body/ttlS', /^body\/ttlS must be >= 1$/],
    [{ uses: 2.5 }, '/body/uses', /^body\/uses must be integer$/],
    [{ use: 3 }, '/body', /^body has an unknown field "use"$/],
    [{ groups: ['a b'] }, '/body/groups/0', /^body\/groups\/0 must match pattern/],
    [{ groups: ['a', 'a'] }, '/body/groups', /duplicate items/],
    [[1], '/body', /the body must be a JSON object, sent with Content-Type: application\/json \(\{\} takes the defaults\)/],
  ];
  for (const [payload, path, message] of cases) {
    const res = await post(payload);
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.equal(res.json<{ path: string }>().path, path);
    assert.match(res.json<{ message: string }>().message, message);
  }
  const noBody = await post(undefined);
  assert.equal(noBody.statusCode, 400);
  assert.match(noBody.json<{ message: string }>().message, /must be a JSON object/);
  const badJson = await post('{"ttlS":', { 'content-type': 'application/json' });
  assert.equal(badJson.statusCode, 400);
  const big = await post({ groups: Array.from({ length: 200 }, (_, i) => `group-${i}`) });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json<{ message: string }>().message, 'the request body is larger than the 1024 bytes this API accepts');
  assert.equal(api.proposed.length, 0, 'nothing bad was proposed');
  api.refuseWith = 'there are already 10000 join tokens: wait for some to expire';
  const refused = await post({});
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json<{ message: string }>().message, api.refuseWith);
});

test('unknown routes say where the API is', async () => {
  const res = await serve(new FakeApi('p1', 'alpha')).inject({ method: 'GET', url: '/api/v2/nope?x=1' });
  assert.equal(res.statusCode, 404);
  assert.match(res.json<{ message: string }>().message, /no route GET \/api\/v2\/nope: the API lives under \/api\/v1/);
});

test('PATCH /api/v1/nodes/:id enables and disables a node; unknown ids are 404', async () => {
  const api = new FakeApi('p1', 'alpha');
  const app = serve(api);
  const patch = (id: string, payload: unknown) => app.inject({ method: 'PATCH', url: `/api/v1/nodes/${id}`, headers: auth, payload: payload as object });
  const res = await patch('p2', { enabled: false });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { id: 'p2', name: 'beta', enabled: false, draining: false, weight: 1, groups: ['edge'] });
  assert.equal(api.current.nodes['p2']?.enabled, false);
  assert.equal((await patch('p2', { enabled: false })).statusCode, 200, 'setting the same value is fine');
  const missing = await patch('p9', { enabled: true });
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json<{ message: string }>().message, /no node p9 in this cluster/);
  const bad = await patch('p2', { enabled: 'no' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json<{ path: string }>().path, '/body/enabled');
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/nodes/p2', payload: { enabled: true } })).statusCode, 401);
});

test('GET and PATCH /api/v1/settings: five voters, detector timing; bad values refused with the reason', async () => {
  const api = new FakeApi('p1', 'alpha');
  const app = serve(api);
  const got = await app.inject({ method: 'GET', url: '/api/v1/settings', headers: auth });
  assert.equal(got.statusCode, 200);
  assert.equal(got.json<{ votersTarget: number }>().votersTarget, 3);
  const patched = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: { votersTarget: 5 } });
  assert.equal(patched.statusCode, 200);
  assert.equal(api.current.settings.votersTarget, 5);
  const refused = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: { downAfterS: 0.1 } });
  assert.equal(refused.statusCode, 409);
  assert.match(refused.json<{ message: string }>().message, /downAfterS must be more than suspectAfterS/);
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: { votersTarget: 4 } })).statusCode, 400);
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: {} })).statusCode, 400, 'an empty change is a mistake');
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/settings' })).statusCode, 401);
});
