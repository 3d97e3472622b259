// The join protocol's wire: answers, refusals for malformed or failed requests, timeouts, body
// checks, and streams that are closed (many exchanges over one connection never hit libp2p's
// per-protocol stream limit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lpStream } from '@libp2p/utils';
import { JoinProtocolError, JoinTimeoutError } from '../../node/p2p/errors.ts';
import type { JoinHandler } from '../../node/p2p/join.ts';
import { handleJoin, joinProtocol, requestJoin } from '../../node/p2p/join.ts';
import { maxJoinAddrs, parseJoinRequest, parseJoinResponse } from '../../node/p2p/join-messages.ts';
import { silentLogger } from '../../node/p2p/logger.ts';
import type { P2pHost } from '../../node/p2p/host.ts';
import { startCluster, stopAll } from './helpers.ts';

const request = { tokenId: 'tok', secret: 'sec', name: 'n2', groups: ['edge'], addrs: ['/ip4/127.0.0.1/tcp/1/p2p/x'], httpUrl: 'http://127.0.0.1:8082' };

/** Two member hosts: `server` answers with `handler`, `client` asks. */
async function pair(handler: JoinHandler, handlerTimeoutMs?: number): Promise<{ server: P2pHost; client: P2pHost; close(): Promise<void> }> {
  const { hosts } = await startCluster(2);
  const [server, client] = hosts as [P2pHost, P2pHost];
  const joinServer = await handleJoin(server, handler, { logger: silentLogger, ...(handlerTimeoutMs === undefined ? {} : { handlerTimeoutMs }) });
  return { server, client, close: async () => {
    await joinServer.stop();
    await stopAll(hosts);
  } };
}

test('the handler answers; a refusal comes back as an answer', async () => {
  const p = await pair(async (_peer, req) => (req.secret === 'sec'
    ? { ok: true, clusterId: 'c9', members: [{ id: 'm1', addrs: ['/ip4/127.0.0.1/tcp/2'], httpUrl: 'http://127.0.0.1:1' }] }
    : { ok: false, reason: 'token secret does not match' }));
  try {
    assert.deepEqual(await requestJoin(p.client, p.server.listenAddrs(), request), {
      ok: true, clusterId: 'c9', members: [{ id: 'm1', addrs: ['/ip4/127.0.0.1/tcp/2'], httpUrl: 'http://127.0.0.1:1' }],
    });
    assert.deepEqual(await requestJoin(p.client, p.server.listenAddrs(), { ...request, secret: 'wrong' }), { ok: false, reason: 'token secret does not match' });
  } finally {
    await p.close();
  }
});

test('a handler that throws or hangs yields a refusal that says to retry', async () => {
  let mode: 'throw' | 'hang' = 'throw';
  const p = await pair(async () => {
    if (mode === 'throw') throw new Error('no leader');
    return new Promise(() => {});
  }, 200);
  try {
    const thrown = await requestJoin(p.client, p.server.listenAddrs(), request);
    assert.equal(thrown.ok, false);
    assert.match(!thrown.ok ? thrown.reason : '', /no leader.*try again/);
    mode = 'hang';
    const hung = await requestJoin(p.client, p.server.listenAddrs(), request);
    assert.match(!hung.ok ? hung.reason : '', /within 200 ms: try again/);
  } finally {
    await p.close();
  }
});

test('the client gives up with JoinTimeoutError when no answer comes', async () => {
  const p = await pair(() => new Promise(() => {}), 60_000);
  try {
    await assert.rejects(requestJoin(p.client, p.server.listenAddrs(), request, { timeoutMs: 300 }), JoinTimeoutError);
  } finally {
    await p.close();
  }
});

test('a peer without the join protocol is a JoinProtocolError', async () => {
  const { hosts } = await startCluster(2);
  try {
    await assert.rejects(requestJoin(hosts[1]!, hosts[0]!.listenAddrs(), request, { timeoutMs: 2_000 }), JoinProtocolError);
  } finally {
    await stopAll(hosts);
  }
});

test('a malformed request gets a refusal naming the problem', async () => {
  const p = await pair(async () => ({ ok: true, clusterId: 'c', members: [] }));
  try {
    for (const [body, expected] of [['{not json', /malformed join request/], ['{"tokenId":"t"}', /join request\.secret must be a string/]] as const) {
      const stream = await p.client.libp2p.dialProtocol(p.server.libp2p.getMultiaddrs(), joinProtocol);
      const lp = lpStream(stream);
      await lp.write(new TextEncoder().encode(body));
      const answer = JSON.parse(new TextDecoder().decode((await lp.read()).subarray())) as { ok: boolean; reason: string };
      await stream.close();
      assert.equal(answer.ok, false);
      assert.match(answer.reason, expected);
    }
  } finally {
    await p.close();
  }
});

test('many join exchanges over one connection: every stream is closed', async () => {
  const p = await pair(async () => ({ ok: true, clusterId: 'c', members: [] }));
  try {
    for (let i = 0; i < 100; i++) assert.equal((await requestJoin(p.client, p.server.listenAddrs(), request)).ok, true);
    assert.equal(p.client.libp2p.getConnections().length, 1);
  } finally {
    await p.close();
  }
});

test('request and response bodies are checked field by field', () => {
  assert.deepEqual(parseJoinRequest({ ...request, extra: 1 }), request);
  const { groups: _groups, ...withoutGroups } = request;
  assert.deepEqual(parseJoinRequest(withoutGroups), withoutGroups);
  assert.throws(() => parseJoinRequest([]), /join request must be a JSON object/);
  assert.throws(() => parseJoinRequest({ ...request, name: 7 }), /join request\.name must be a string/);
  assert.throws(() => parseJoinRequest({ ...request, addrs: Array(maxJoinAddrs + 1).fill('a') }), /more than 16 items/);
  assert.throws(() => parseJoinRequest({ ...request, secret: 'x'.repeat(10_000) }), /longer than/);
  assert.deepEqual(parseJoinResponse({ ok: false, reason: 'expired' }), { ok: false, reason: 'expired' });
  assert.throws(() => parseJoinResponse({ ok: 'yes' }), /ok must be true or false/);
  assert.throws(() => parseJoinResponse({ ok: true, clusterId: 'c', members: [{ id: 1 }] }), /members\[0\]\.id must be a string/);
});
