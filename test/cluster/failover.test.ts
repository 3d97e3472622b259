// Five real ottmesh processes on loopback, built from the CLI as an operator would: the
// autopilot makes 3 voters and 2 learners; kill -9 of the leader: another is elected and takes
// writes; the old leader restarts from its data dir and follows, with what it missed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './processes.ts';
import { readStoredState } from './replicated-state.ts';
import { buildCluster, nodeUpTimeoutMs, report, since, waitSettled, withCluster, writeUntilAccepted } from './scenario.ts';

/** From the kill until a write through a survivor succeeds (issue 3 target: p99 <= 2 s). */
const failoverTimeoutMs = 15_000;
const catchUpTimeoutMs = 20_000;
/** Issue 3's target is 3 s; only reported for now. */
const markedDownWithinMs = 8_000;

test('five nodes from the CLI: kill -9 of the leader, a new leader takes writes, the old one rejoins with its data', { timeout: 120_000 }, async (t) => {
  await withCluster('ottmesh-failover-', async (cluster) => {
    const started = performance.now();
    const built = await buildCluster(cluster, ['n1', 'n2', 'n3', 'n4', 'n5']);
    const { leader: oldLeader, view } = await waitSettled(cluster, built, 3);
    assert.equal(view.nodes.filter((n) => n.role === 'learner').length, 2, 'the autopilot keeps 3 voters: the other 2 nodes are learners');
    assert.equal(view.nodes.find((n) => n.name === oldLeader)?.role, 'voter');
    report(t, `5 nodes up and settled (3 voters, 2 learners) in ${since(started)} ms; leader ${oldLeader}; gossip states: ${view.nodes.map((n) => `${n.name} ${n.state}`).join(', ')}`);
    const oldLeaderId = view.leader!.id;

    // kill -9 of the leader: a survivor takes a write once a new leader is elected.
    const survivors = built.names.filter((n) => n !== oldLeader);
    const killedAt = performance.now();
    await cluster.kill(oldLeader);
    cluster.note(`kill -9 ${oldLeader}`);
    // Not asserted (gossip telemetry is new): when a survivor's view marks the dead node down.
    const markedDown = waitFor(`a survivor to mark ${oldLeader} down`, async () => {
      const seen = await cluster.clusterView(survivors[0]!, built.admin, 1000);
      return seen?.nodes.find((n) => n.id === oldLeaderId)?.state === 'down' ? since(killedAt) : null;
    }, markedDownWithinMs, 100).catch(() => null);
    const written = await writeUntilAccepted(cluster, built.admin, survivors, failoverTimeoutMs);
    const failoverMs = since(killedAt);
    const newLeader = await waitFor('the survivors to agree on a new leader', () => cluster.agreedLeader(survivors), failoverTimeoutMs);
    const electedMs = since(killedAt);
    assert.notEqual(newLeader, oldLeader);
    assert.equal(view.nodes.find((n) => n.name === newLeader)?.role, 'voter', 'only a voter can be elected');
    report(t, `kill -9 of leader ${oldLeader}: write accepted through ${written.through} after ${failoverMs} ms; survivors agree on ${newLeader} after ${electedMs} ms`);

    // A second write while it is down, one /api/v1/cluster shows: the old leader disabled.
    const disabled = await cluster.request(newLeader, 'PATCH', `/api/v1/nodes/${oldLeaderId}`, { token: built.admin, body: { enabled: false }, timeoutMs: 5000 });
    assert.equal(disabled?.status, 200, `PATCH /api/v1/nodes while ${oldLeader} is down: ${disabled?.status} ${disabled?.body}`);

    // Restart with `ottmesh start` (same data dir, same ports): it follows and catches up.
    const restartedAt = performance.now();
    await cluster.restart(oldLeader);
    cluster.note(`ottmesh start ${oldLeader}`);
    await cluster.waitPrinted(oldLeader, /node \S+ \(\S+\) running/, nodeUpTimeoutMs);
    const caughtUp = await waitFor(`${oldLeader} to follow ${newLeader} and see the writes made while it was down`, async () => {
      const health = await cluster.health(oldLeader);
      if (health === null || health.role === 'leader' || health.leaderId !== view.nodes.find((n) => n.name === newLeader)!.id) return null;
      const seen = await cluster.clusterView(oldLeader, built.admin);
      return seen?.nodes.find((n) => n.id === oldLeaderId)?.enabled === false ? { health, seen } : null;
    }, catchUpTimeoutMs, 100);
    assert.ok(caughtUp.health.role === 'follower' || caughtUp.health.role === 'learner');
    assert.equal(caughtUp.seen.nodes.length, 5);
    assert.equal(caughtUp.seen.leader?.name, newLeader);
    report(t, `${oldLeader} restarted and caught up as ${caughtUp.health.role} in ${since(restartedAt)} ms`);
    const downMs = await markedDown;
    report(t, `${survivors[0]} marked the killed ${oldLeader} down ${downMs === null ? `not within ${markedDownWithinMs} ms` : `after ${downMs} ms`} (not asserted)`);

    // Its own disk holds the write made while it was down, as does every other node's.
    await Promise.all(built.names.map((n) => cluster.kill(n, 'SIGTERM')));
    for (const name of built.names) {
      const stored = await readStoredState(cluster.nodes.get(name)!.dataDir);
      assert.ok(stored.state.joinTokens[written.id] !== undefined, `${name}'s Raft log holds join token ${written.id} created while ${oldLeader} was down`);
      assert.equal(Object.keys(stored.state.nodes).length, 5, `${name} stores 5 members`);
    }
  });
});
