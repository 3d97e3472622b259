// Removing a node (DELETE /api/v1/nodes/:id) on four real ottmesh processes built from the CLI: the
// autopilot makes 3 voters and 1 learner; a stream runs on the learner. The leader and an operator
// are refused; the admin's removal of the learner takes it out of every node's /api/v1/cluster and
// the audit log says who did it; the leader takes it out of the Raft configuration; the stream
// runs on another node; the removed node cannot follow the cluster any more, also after a restart.
// Then a voter is removed, and the two nodes left still commit writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LiveSource } from './live-source.ts';
import { waitFor } from './processes.ts';
import type { HttpAnswer, ProcessCluster } from './processes.ts';
import { buildCluster, nodeUpTimeoutMs, report, since, waitSettled, withCluster } from './scenario.ts';

/** How long a node that is cut off is watched to show it stays cut off. */
const cutOffWatchMs = 6_000;

interface StreamView {
  status: string;
  nodeId: string | null;
}

/** A PUT or DELETE (ProcessCluster.request speaks GET, POST and PATCH); every node here is on
 *  loopback. Null when there is no answer. */
async function send(cluster: ProcessCluster, name: string, method: 'PUT' | 'DELETE', path: string, token: string, body?: unknown): Promise<HttpAnswer | null> {
  try {
    const res = await fetch(`${cluster.nodes.get(name)!.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

/** The Raft commit index node `name` reports on /metrics, or null when it does not answer. */
async function commitIndex(cluster: ProcessCluster, name: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${cluster.nodes.get(name)!.httpUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const match = /^ottmesh_raft_commit_index (\d+)$/m.exec(text);
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
}

async function streamOf(cluster: ProcessCluster, via: string, token: string, id: string): Promise<StreamView | null> {
  const res = await cluster.request(via, 'GET', `/api/v1/streams/${id}`, { token });
  return res?.status === 200 ? (JSON.parse(res.body) as StreamView) : null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('remove the learner of a 3+1 cluster (gone from the cluster view and the Raft configuration, its stream moves, it cannot reconnect), then a voter', { timeout: 300_000 }, async (t) => {
  const source = new LiveSource();
  try {
    await source.start();
    await withCluster('ottmesh-remove-', async (cluster) => {
      const started = performance.now();
      const built = await buildCluster(cluster, ['n1', 'n2', 'n3', 'n4']);
      const { leader, view } = await waitSettled(cluster, built, 3);
      const learner = view.nodes.find((n) => n.role === 'learner')!;
      const leaderId = view.leader!.id;
      const remaining = built.names.filter((n) => n !== learner.name);
      const follower = remaining.find((n) => n !== leader)!;
      report(t, `4 nodes settled in ${since(started)} ms: leader ${leader}, learner ${learner.name}`);

      // A stream on the learner: pinned there until it runs, then unpinned, with rebalancing off so
      // only the removal moves it.
      const policy = await send(cluster, leader, 'PUT', '/api/v1/policy', built.admin, { policy: { rebalanceMovesPerMin: 0 } });
      assert.equal(policy?.status, 200, policy?.body);
      const created = await cluster.request(leader, 'POST', '/api/v1/streams', {
        token: built.admin, body: { id: 'moving', name: 'Moving', sources: [{ url: source.url }], pinNode: learner.id },
      });
      assert.equal(created?.status, 201, created?.body);
      await waitFor(`the stream running on the learner ${learner.name}`, async () => {
        const s = await streamOf(cluster, leader, built.admin, 'moving');
        return s?.status === 'running' && s.nodeId === learner.id ? s : null;
      }, 90_000, 250);
      const unpinned = await cluster.request(leader, 'PATCH', '/api/v1/streams/moving', { token: built.admin, body: { pinNode: null } });
      assert.equal(unpinned?.status, 200, unpinned?.body);

      // Refusals: the leader cannot be removed; an operator may not remove anything.
      const refusedLeader = await send(cluster, follower, 'DELETE', `/api/v1/nodes/${leaderId}`, built.admin);
      assert.equal(refusedLeader?.status, 409, refusedLeader?.body);
      assert.match(refusedLeader.body, /is the current leader and cannot remove itself/);
      const operator = await cluster.request(leader, 'POST', '/api/v1/api-tokens', { token: built.admin, body: { name: 'ops', role: 'operator' } });
      assert.equal(operator?.status, 201, operator?.body);
      const operatorToken = (JSON.parse(operator.body) as { token: string }).token;
      const refusedOperator = await send(cluster, follower, 'DELETE', `/api/v1/nodes/${learner.id}`, operatorToken);
      assert.equal(refusedOperator?.status, 403, refusedOperator?.body);
      assert.match(refusedOperator.body, /this needs the admin role \(you are operator\)/);

      // The removal, through a voter that is not the leader.
      const commitBefore = await commitIndex(cluster, learner.name);
      assert.notEqual(commitBefore, null);
      const removedAt = performance.now();
      const removed = await send(cluster, follower, 'DELETE', `/api/v1/nodes/${learner.id}`, built.admin);
      cluster.note(`DELETE /api/v1/nodes/${learner.id} (${learner.name}) through ${follower}: ${removed?.status}`);
      assert.equal(removed?.status, 202, removed?.body);
      assert.deepEqual(JSON.parse(removed.body), { removed: learner.id });

      // Every remaining node lists 3 members, 3 voters, none of them the learner.
      await waitFor('every remaining node to list 3 members without the learner', async () => {
        for (const name of remaining) {
          const seen = await cluster.clusterView(name, built.admin);
          if (seen === null || seen.nodes.length !== 3 || seen.nodes.some((n) => n.id === learner.id) || seen.nodes.some((n) => n.role !== 'voter')) return null;
        }
        return true;
      }, 20_000, 100);
      report(t, `${learner.name} gone from every remaining node's /api/v1/cluster ${since(removedAt)} ms after the DELETE`);
      // The leader's autopilot took it out of the Raft configuration.
      await cluster.waitPrinted(leader, new RegExp(`autopilot: remove ${learner.id}: ${learner.id} was removed from the cluster`), 20_000);

      // The audit log says who did it.
      const audit = await cluster.request(remaining[0]!, 'GET', '/api/v1/audit?action=RemoveNode', { token: operatorToken });
      assert.equal(audit?.status, 200, audit?.body);
      const entries = (JSON.parse(audit.body) as { entries: { user: string; role: string; via: string; target: string; summary: string }[] }).entries;
      assert.deepEqual(entries.map((e) => [e.user, e.role, e.via, e.target]), [['admin', 'admin', 'token', learner.id]]);
      assert.match(entries[0]!.summary, new RegExp(`removed node ${learner.name}`));

      // Its stream runs on another node.
      const moved = await waitFor('the stream running on a remaining node', async () => {
        const s = await streamOf(cluster, leader, built.admin, 'moving');
        return s?.status === 'running' && s.nodeId !== null && s.nodeId !== learner.id ? s : null;
      }, 90_000, 250);
      report(t, `the stream moved to ${view.nodes.find((n) => n.id === moved.nodeId)?.name} ${since(removedAt)} ms after the DELETE`);

      // The removed node cannot follow any more: writes commit everywhere else, not there.
      const cutOff = async (what: string) => {
        const write = await cluster.request(leader, 'POST', '/api/v1/join-tokens', { token: built.admin, body: {} });
        assert.equal(write?.status, 201, write?.body);
        const commits = await Promise.all(remaining.map((n) => commitIndex(cluster, n)));
        const committed = Math.min(...commits.map((c) => c ?? 0));
        await sleep(cutOffWatchMs);
        const there = await commitIndex(cluster, learner.name);
        assert.notEqual(there, null, `${learner.name} answers /metrics (${what})`);
        assert.ok(there! < committed, `${what}: ${learner.name} is at commit ${there}, the cluster at ${committed} or more`);
        const view = await cluster.clusterView(learner.name, built.admin, 3_000);
        assert.equal(view, null, `${what}: ${learner.name} cannot answer a linearizable read without the cluster`);
        return { there, committed };
      };
      const first = await cutOff('after the removal');
      report(t, `${learner.name} stuck at commit ${first.there} (was ${commitBefore} before the DELETE) while the cluster is at ${first.committed}`);

      // Restarted from its data dir, it is still refused.
      await cluster.kill(learner.name, 'SIGTERM');
      await cluster.restart(learner.name);
      cluster.note(`ottmesh start ${learner.name}`);
      await cluster.waitPrinted(learner.name, /node \S+ \(\S+\) running/, nodeUpTimeoutMs);
      const second = await cutOff('after a restart');
      report(t, `restarted ${learner.name} still at commit ${second.there} while the cluster is at ${second.committed}`);
      for (const name of remaining) {
        const seen = await cluster.clusterView(name, built.admin);
        assert.deepEqual(seen?.nodes.map((n) => n.name).sort(), remaining.slice().sort(), `${name} still lists only the remaining nodes`);
      }

      // A voter goes too (through the leader): the two left are the whole configuration and still commit.
      const voter = remaining.find((n) => n !== leader && n !== follower)!;
      const voterId = view.nodes.find((n) => n.name === voter)!.id;
      const left = [leader, follower];
      const removedVoter = await send(cluster, leader, 'DELETE', `/api/v1/nodes/${voterId}`, built.admin);
      cluster.note(`DELETE /api/v1/nodes/${voterId} (${voter}) through ${leader}: ${removedVoter?.status}`);
      assert.equal(removedVoter?.status, 202, removedVoter?.body);
      await cluster.waitPrinted(leader, new RegExp(`autopilot: remove ${voterId}: `), 20_000);
      await waitFor('both nodes left to list 2 voters', async () => {
        for (const name of left) {
          const seen = await cluster.clusterView(name, built.admin);
          if (seen === null || seen.nodes.length !== 2 || seen.nodes.some((n) => n.role !== 'voter')) return null;
        }
        return true;
      }, 20_000, 100);
      const write = await cluster.request(follower, 'POST', '/api/v1/join-tokens', { token: built.admin, body: {}, timeoutMs: 10_000 });
      assert.equal(write?.status, 201, `a write through ${follower} with 2 voters left: ${write?.body}`);
    });
  } finally {
    await source.close();
  }
});
