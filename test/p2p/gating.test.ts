// Membership gating on real hosts: a non-member may attempt a join but not speak Raft, and is cut
// off after its join window; join attempts are bounded; a removed member is cut off by reconcile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../consensus/core/types.ts';
import { message } from '../../consensus/core/types.ts';
import type { P2pHost } from '../../node/p2p/host.ts';
import type { JoinRequest } from '../../node/p2p/join-messages.ts';
import { handleJoin, requestJoin } from '../../node/p2p/join.ts';
import { silentLogger } from '../../node/p2p/logger.ts';
import { Libp2pRaftTransport } from '../../node/p2p/raft-transport.ts';
import { Membership, startCluster, startHost, stopAll, waitFor } from './helpers.ts';
import { recorder } from './transport-compliance.ts';

const joinWindowMs = 400;

function hb(from: string, to: string, commit: number): Message {
  return message({ type: 'MsgHeartbeat', from, to, term: 1, commit });
}

async function raftEndpoint(host: P2pHost, membership: Membership): Promise<{ transport: Libp2pRaftTransport; rec: ReturnType<typeof recorder> }> {
  const transport = new Libp2pRaftTransport({ host, addrsOf: membership.addrsOf, logger: silentLogger }, { minReconnectBackoffMs: 10, maxReconnectBackoffMs: 50 });
  const rec = recorder();
  await transport.start(rec);
  return { transport, rec };
}

function joinRequest(host: P2pHost): JoinRequest {
  return { tokenId: 't1', secret: 's3cret', name: 'newbie', addrs: host.listenAddrs(), httpUrl: 'http://127.0.0.1:8081' };
}

test('a non-member can ask to join, cannot deliver raft messages, and is disconnected after the join window', async () => {
  const { hosts, membership, networkKey } = await startCluster(1, { joinWindowMs });
  const member = hosts[0]!;
  // The joiner's own view: the member it was told about (the lead seeds it from the join answer).
  const joinerView = new Membership();
  joinerView.add(member);
  const joiner = await startHost(joinerView, networkKey, { joinWindowMs: 60_000 });
  const seen: string[] = [];
  const server = await handleJoin(member, async (peerId, request) => {
    seen.push(`${peerId} ${request.name}`);
    return { ok: true, clusterId: 'c1', members: [{ id: member.peerId, addrs: member.listenAddrs(), httpUrl: 'http://127.0.0.1:8080' }] };
  }, { logger: silentLogger });
  const memberRaft = await raftEndpoint(member, membership);
  const joinerRaft = await raftEndpoint(joiner, joinerView);
  try {
    const connectedAt = performance.now();
    const response = await requestJoin(joiner, member.listenAddrs(), joinRequest(joiner));
    assert.deepEqual(response, { ok: true, clusterId: 'c1', members: [{ id: member.peerId, addrs: member.listenAddrs(), httpUrl: 'http://127.0.0.1:8080' }] });
    assert.deepEqual(seen, [`${joiner.peerId} newbie`], 'the handler gets the proven peer id');
    assert.equal(member.pendingJoinConnections(), 1);

    joinerRaft.transport.send([hb(joiner.peerId, member.peerId, 1)]);
    await waitFor('the refusal to be reported', () => joinerRaft.rec.unreachablePeers.includes(member.peerId));
    assert.equal(memberRaft.rec.received.length, 0);

    await waitFor('the join window to close the connection', () => !member.isConnected(joiner.peerId), joinWindowMs + 2_000);
    assert.ok(performance.now() - connectedAt >= joinWindowMs - 50, 'not cut before the window ended');
    assert.equal(member.pendingJoinConnections(), 0);
  } finally {
    await Promise.all([server.stop(), memberRaft.transport.stop(), joinerRaft.transport.stop()]);
    await stopAll([member, joiner]);
  }
});

test('a joiner that becomes a member within its window stays connected and speaks raft', async () => {
  const { hosts, membership, networkKey } = await startCluster(1, { joinWindowMs });
  const member = hosts[0]!;
  const joinerView = new Membership();
  joinerView.add(member);
  const joiner = await startHost(joinerView, networkKey);
  const server = await handleJoin(member, async (peerId) => {
    membership.ids.add(peerId); // what committing the join does to the applied state
    return { ok: true, clusterId: 'c1', members: [] };
  }, { logger: silentLogger });
  const memberRaft = await raftEndpoint(member, membership);
  const joinerRaft = await raftEndpoint(joiner, joinerView);
  try {
    assert.equal((await requestJoin(joiner, member.listenAddrs(), joinRequest(joiner))).ok, true);
    member.reconcile(); // membership changed: frees the join slot
    assert.equal(member.pendingJoinConnections(), 0);
    await new Promise((resolve) => setTimeout(resolve, joinWindowMs + 100));
    assert.equal(member.isConnected(joiner.peerId), true);
    joinerRaft.transport.send([hb(joiner.peerId, member.peerId, 7)]);
    await waitFor('the heartbeat', () => memberRaft.rec.received.length === 1);
  } finally {
    await Promise.all([server.stop(), memberRaft.transport.stop(), joinerRaft.transport.stop()]);
    await stopAll([member, joiner]);
  }
});

test('join attempts beyond maxPendingJoinConnections are refused', async () => {
  const { hosts, membership, networkKey } = await startCluster(1, { maxPendingJoinConnections: 1 });
  const member = hosts[0]!;
  const first = await startHost(membership, networkKey);
  const second = await startHost(membership, networkKey, { dialTimeoutMs: 500 });
  try {
    await first.dial(member.listenAddrs());
    await waitFor('the member to admit the first', () => member.isConnected(first.peerId));
    // The dialer finishes its handshake before the listener decides, so the refused dial may
    // even resolve: what counts is that the member drops it.
    await second.dial(member.listenAddrs()).catch(() => null);
    await waitFor('the second to be dropped', () => !second.isConnected(member.peerId));
    assert.equal(member.isConnected(second.peerId), false);
    assert.equal(member.pendingJoinConnections(), 1);
    await first.stop(); // its slot frees when it disconnects
    await waitFor('the slot to free', () => member.pendingJoinConnections() === 0);
    await second.dial(member.listenAddrs());
    await waitFor('the member to admit the second', () => member.isConnected(second.peerId));
  } finally {
    await stopAll([member, first, second]);
  }
});

test('reconcile cuts off a removed member, whose raft messages are refused from then on', async () => {
  const { hosts, membership } = await startCluster(3);
  const [a, b, c] = hosts as [P2pHost, P2pHost, P2pHost];
  const rafts = await Promise.all(hosts.map((h) => raftEndpoint(h, membership)));
  try {
    a.reconcile();
    b.reconcile();
    await waitFor('a full mesh', () => hosts.every((h) => hosts.every((o) => o === h || h.isConnected(o.peerId))));
    rafts[2]!.transport.send([hb(c.peerId, a.peerId, 1)]);
    await waitFor('c heard while a member', () => rafts[0]!.rec.received.length === 1);

    membership.ids.delete(c.peerId);
    a.reconcile();
    b.reconcile();
    await waitFor('c cut off', () => !a.isConnected(c.peerId) && !b.isConnected(c.peerId));
    assert.equal(a.isConnected(b.peerId), true, 'members stay connected');

    rafts[2]!.transport.send([hb(c.peerId, a.peerId, 2)]);
    await waitFor('the refusal to be reported', () => rafts[2]!.rec.unreachablePeers.includes(a.peerId));
    assert.deepEqual(rafts[0]!.rec.received.map((m) => m.commit), [1]);
  } finally {
    await Promise.all(rafts.map((r) => r.transport.stop()));
    await stopAll(hosts);
  }
});
