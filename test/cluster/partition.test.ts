// A network partition between real node processes: three nodes, each in its own network
// namespace (netns.ts), built from the CLI. The leader is cut off: it accepts no write, while
// the majority elects a leader and takes writes. After healing, all three converge on one
// leader and the same cluster, and every write acknowledged with 201 is on every node's disk.
// Needs root and `ip netns`; elsewhere the test is skipped, saying why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import type { HttpAnswer, ProcessCluster } from './processes.ts';
import { waitFor } from './processes.ts';
import { NetnsLab, netnsUnavailable, removeLeftovers } from './netns.ts';
import { readStoredState } from './replicated-state.ts';
import { buildCluster, report, since, waitSettled, withCluster, writeUntilAccepted } from './scenario.ts';
import type { Built } from './scenario.ts';

const electionTimeoutMs = 15_000;
const convergeTimeoutMs = 20_000;
/** A write to the cut-off leader gets this long to (wrongly) succeed. */
const minorityWriteTimeoutMs = 4_000;
const writesPerSide = 3;

const unavailable = await netnsUnavailable();

test('partition: the cut-off leader accepts no writes, the majority does; after healing all converge with no write lost', {
  timeout: 120_000,
  skip: unavailable ?? false,
}, async (t) => {
  const leftovers = await removeLeftovers();
  if (leftovers.length > 0) report(t, `removed network namespaces left by crashed runs: ${leftovers.join(', ')}`);
  const lab = new NetnsLab();
  try {
    await lab.start();
    for (const name of ['p1', 'p2', 'p3']) await lab.addHost(name);
    await withCluster('ottmesh-partition-', (cluster) => partitionScenario(t, cluster, lab));
  } finally {
    await lab.destroy(); // after withCluster stopped the processes inside
  }
});

async function partitionScenario(t: TestContext, cluster: ProcessCluster, lab: NetnsLab): Promise<void> {
  const started = performance.now();
  const built = await buildCluster(cluster, ['p1', 'p2', 'p3'], (name) => lab.hosts.get(name)!);
  const { leader: oldLeader } = await waitSettled(cluster, built, 3);
  report(t, `3 nodes in 3 network namespaces settled in ${since(started)} ms; leader ${oldLeader}`);
  const accepted = new Set<string>();
  for (let i = 0; i < writesPerSide; i++) accepted.add((await writeUntilAccepted(cluster, built.admin, [oldLeader], 5000)).id);

  // Cut the leader off. Writes sent to it meanwhile must never be acknowledged.
  const majority = built.names.filter((n) => n !== oldLeader);
  const cutAt = performance.now();
  await lab.cut(oldLeader);
  cluster.note(`cut ${oldLeader} off`);
  const minorityWrites: Promise<HttpAnswer | null>[] = [minorityWrite(cluster, built, oldLeader)];
  const first = await writeUntilAccepted(cluster, built.admin, majority, electionTimeoutMs, 1000);
  const writeMs = since(cutAt);
  accepted.add(first.id);
  const newLeader = await waitFor('the majority to agree on a new leader', () => cluster.agreedLeader(majority), electionTimeoutMs);
  report(t, `leader ${oldLeader} cut off: the majority took a write after ${writeMs} ms, leader ${newLeader}`);
  for (let i = 1; i < writesPerSide; i++) accepted.add((await writeUntilAccepted(cluster, built.admin, majority, 5000)).id);
  // Check-quorum: without a majority the old leader steps down, and then says so at once.
  await waitFor(`the cut-off ${oldLeader} to step down`, async () => ((await cluster.health(oldLeader))?.role === 'leader' ? null : true), electionTimeoutMs);
  const steppedDownMs = since(cutAt);
  const late = await minorityWrite(cluster, built, oldLeader);
  assert.equal(late?.status, 503, `a write to the stepped-down ${oldLeader}: ${late?.status} ${late?.body}`);
  const refused = await Promise.all(minorityWrites);
  for (const res of refused) {
    assert.notEqual(res?.status, 201, `the cut-off ${oldLeader} acknowledged a write: ${res?.body}`);
    if (res !== null) assert.equal(res.status, 503, `the cut-off ${oldLeader} answers 503 or not at all: ${res.status} ${res.body}`);
  }
  report(t, `the cut-off ${oldLeader} stepped down within ${steppedDownMs} ms; a write sent to it at the cut: ${refused.map((r) => (r === null ? `no answer within ${minorityWriteTimeoutMs} ms` : r.status)).join(', ')}; after stepping down: ${late?.status}`);

  // Heal: the old leader follows, every node's /api/v1/cluster agrees.
  const healedAt = performance.now();
  await lab.heal(oldLeader);
  cluster.note(`healed ${oldLeader}`);
  const converged = await waitFor('all three to agree on the leader and the cluster after healing', async () => {
    const leader = await cluster.agreedLeader(built.names);
    if (leader === null) return null;
    const views = await Promise.all(built.names.map((n) => cluster.clusterView(n, built.admin)));
    if (views.some((v) => v === null || v.leader?.name !== leader || v.term !== views[0]!.term || v.nodes.length !== 3)) return null;
    return leader;
  }, convergeTimeoutMs, 100);
  report(t, `healed: all three agree on leader ${converged} after ${since(healedAt)} ms`);
  const oldHealth = await cluster.health(oldLeader);
  if (converged !== oldLeader) assert.equal(oldHealth?.role, 'follower', `${oldLeader} follows after healing`);
  accepted.add((await writeUntilAccepted(cluster, built.admin, [oldLeader], 5000)).id); // forwarded, or led
  // A read-index read on each node: it has applied (so persisted as committed) that last write.
  await waitFor('every node to serve a current read', async () => {
    const views = await Promise.all(built.names.map((n) => cluster.clusterView(n, built.admin)));
    return views.every((v) => v !== null) ? true : null;
  }, convergeTimeoutMs, 100);

  // No acknowledged write lost, none of the minority's kept: every node's own Raft log.
  await Promise.all(built.names.map((n) => cluster.kill(n, 'SIGTERM')));
  for (const name of built.names) {
    const tokens = Object.keys((await readStoredState(cluster.nodes.get(name)!.dataDir)).state.joinTokens);
    const missing = [...accepted].filter((id) => !tokens.includes(id));
    assert.deepEqual(missing, [], `${name} holds every acknowledged write`);
    // The one other token is the one the nodes joined with.
    assert.equal(tokens.length, accepted.size + 1, `${name} holds no write beyond the acknowledged ones: ${tokens.join(', ')}`);
  }
}

/** One write through the cut-off node; its answer, or null when none came in time. */
function minorityWrite(cluster: ProcessCluster, built: Built, name: string): Promise<HttpAnswer | null> {
  return cluster.request(name, 'POST', '/api/v1/join-tokens', { token: built.admin, body: {}, timeoutMs: minorityWriteTimeoutMs });
}
