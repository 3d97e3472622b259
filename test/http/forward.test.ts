// Writes sent to a follower reach the leader: two real servers on loopback.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';

import { buildServer, forwardedHeader, listen, PortInUseError } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { adminApiToken, FakeApi } from './fake-api.ts';

const auth = { authorization: `Bearer ${adminApiToken.token}`, 'content-type': 'application/json' };
const servers: HttpServer[] = [];
after(() => Promise.all(servers.map((app) => app.close())));

async function start(api: FakeApi, forwardTimeoutMs = 2000): Promise<string> {
  const app = buildServer({ api }, { forwardTimeoutMs });
  servers.push(app);
  return (await listen(app, '127.0.0.1', 0)).url;
}

function follower(): FakeApi {
  const api = new FakeApi('p2', 'beta', 'follower');
  api.raft = { ...api.raft, leaderId: 'p1' };
  return api;
}

test('a write on a follower is forwarded to the leader with its Authorization, and the answer relayed', async () => {
  const leader = new FakeApi('p1', 'alpha');
  const leaderUrl = await start(leader);
  const other = follower();
  other.leaderUrl = leaderUrl;
  const followerUrl = await start(other);

  const res = await fetch(`${followerUrl}/api/v1/join-tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ uses: 2 }) });
  assert.equal(res.status, 201);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = await res.json() as { id: string; uses: number };
  assert.equal(body.uses, 2);
  assert.equal(leader.proposed.length, 1, 'the leader proposed it');
  assert.equal(other.proposed.length, 0, 'the follower did not');
  assert.ok(leader.current.joinTokens[body.id]);

  // The leader's refusal comes back as is.
  leader.refuseWith = 'refused for the test';
  const refused = await fetch(`${followerUrl}/api/v1/join-tokens`, { method: 'POST', headers: auth, body: '{}' });
  assert.equal(refused.status, 409);
  assert.equal((await refused.json() as { message: string }).message, 'refused for the test');

  // Reads stay local on the follower (read-index), no forwarding.
  const read = await fetch(`${followerUrl}/api/v1/cluster`, { headers: auth });
  assert.equal(read.status, 200);
});

test('no leader known: 503 with Retry-After and a clear message', async () => {
  const lonely = new FakeApi('p2', 'beta', 'follower');
  const url = await start(lonely);
  const res = await fetch(`${url}/api/v1/join-tokens`, { method: 'POST', headers: auth, body: '{}' });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '1');
  assert.match((await res.json() as { message: string }).message, /no leader is known right now .*: retry in a second/);
});

test('a forwarded write reaching a non-leader is not forwarded again', async () => {
  const other = follower();
  other.leaderUrl = 'http://127.0.0.1:9';
  const url = await start(other);
  const res = await fetch(`${url}/api/v1/join-tokens`, { method: 'POST', headers: { ...auth, [forwardedHeader]: '1' }, body: '{}' });
  assert.equal(res.status, 503);
  assert.match((await res.json() as { message: string }).message, /no longer the leader \(leadership is changing\)/);
});

test('an unreachable or silent leader: 503 naming it, within the forward timeout', async () => {
  const closed = await freePort();
  const other = follower();
  other.leaderUrl = `http://127.0.0.1:${closed}`;
  const url = await start(other);
  const refused = await fetch(`${url}/api/v1/join-tokens`, { method: 'POST', headers: auth, body: '{}' });
  assert.equal(refused.status, 503);
  assert.match((await refused.json() as { message: string }).message, new RegExp(`could not forward this write to the leader at http://127.0.0.1:${closed} \\(ECONNREFUSED\\)`));

  // A leader that accepts the connection and never answers.
  const held = new Set<Socket>();
  const silent = createServer((socket) => held.add(socket)); // holds the socket open, answers nothing
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as { port: number }).port;
  const impatient = follower();
  impatient.leaderUrl = `http://127.0.0.1:${silentPort}`;
  const impatientUrl = await start(impatient, 200);
  const startedMs = performance.now();
  const res = await fetch(`${impatientUrl}/api/v1/join-tokens`, { method: 'POST', headers: auth, body: '{}' });
  const tookMs = performance.now() - startedMs;
  assert.equal(res.status, 503);
  assert.match((await res.json() as { message: string }).message, /no answer within 200 ms/);
  assert.ok(tookMs < 2000, `took ${tookMs} ms`);
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

test('listen: a port in use is a one-line error naming it and what to do', async () => {
  const api = new FakeApi('p1', 'alpha');
  const url = await start(api);
  const port = Number(new URL(url).port);
  const second = buildServer({ api });
  servers.push(second);
  await assert.rejects(listen(second, '127.0.0.1', port), (err: Error) =>
    err instanceof PortInUseError && err.message === `port ${port} on 127.0.0.1 is already in use: stop the program using it, or pick another port with --http-port`);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
