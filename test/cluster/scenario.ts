// Steps the multi-process tests share: run a body against a fresh ProcessCluster (always torn
// down; a failure's message carries what every node printed), build a cluster the way an
// operator does (init, token create, join), and wait until it has settled.
import type { TestContext } from 'node:test';
import { loopback, ProcessCluster, waitFor } from './processes.ts';
import type { ClusterCommand, ClusterView, Place } from './processes.ts';

/** How long a node may take to print that it runs; several start at once on 2 cores. */
export const nodeUpTimeoutMs = 30_000;
/** How long the autopilot may take to settle the voter set once every node has joined. */
export const settleTimeoutMs = 30_000;

/** Runs `body` with a fresh cluster; kills every node and removes the data dirs afterwards,
 *  also on failure, when the error message gets the cluster's transcript appended
 *  (OTTMESH_TEST_TRANSCRIPT=1 prints it after a success too). */
export async function withCluster(prefix: string, body: (cluster: ProcessCluster) => Promise<void>, command: ClusterCommand = {}): Promise<void> {
  const cluster = await ProcessCluster.create(prefix, command);
  try {
    await body(cluster);
    if (process.env['OTTMESH_TEST_TRANSCRIPT'] === '1') console.log(cluster.transcript());
  } catch (err) {
    throw withTranscript(err, cluster);
  } finally {
    await cluster.stop();
  }
}

/** `err` with what every node printed appended to its message. Kept as the same error when it
 *  is one (an AssertionError keeps its actual/expected), the stack too: it is what reporters
 *  print, and it was made with the old message. */
export function withTranscript(err: unknown, cluster: { transcript(): string }): Error {
  const transcript = `\n\nwhat the nodes printed:\n${cluster.transcript()}`;
  if (!(err instanceof Error)) return new Error(`${String(err)}${transcript}`, { cause: err });
  const message = `${err.message}${transcript}`;
  if (err.stack !== undefined) err.stack = err.stack.replace(err.message, message);
  err.message = message;
  return err;
}

export interface Built {
  /** The API token written by `ottmesh init` (DIR/admin-token), accepted by every node. */
  readonly admin: string;
  readonly names: readonly string[];
}

/** `ottmesh init` on the first name, one `token create --uses N-1`, then every other node
 *  joins with it at once. `placeOf` says where each node runs (default: loopback). */
export async function buildCluster(cluster: ProcessCluster, names: readonly string[], placeOf: (name: string) => Place = () => loopback): Promise<Built> {
  const [first, ...others] = names;
  await cluster.init(first!, placeOf(first!));
  await cluster.waitPrinted(first!, /cluster \S+ created/, nodeUpTimeoutMs);
  const admin = await cluster.adminToken(first!);
  if (others.length > 0) {
    const token = await cluster.createToken(first!, ['--uses', String(others.length)]);
    await Promise.all(others.map((name) => cluster.join(name, token, placeOf(name))));
    await Promise.all(others.map((name) => cluster.waitPrinted(name, /joined cluster/, nodeUpTimeoutMs)));
  }
  return { admin, names };
}

/** Waits until every node in `names` answers its health, all name the same leader, and every
 *  node's /api/v1/cluster lists `names.length` nodes with `voters` voters. Every node, not only
 *  the leader: a membership change takes effect where it is applied, and a follower that has
 *  not yet learned that the last promotion committed still counts the old voters (kill the
 *  leader in that window and the survivors cannot elect; see docs/cluster.md). */
export async function waitSettled(cluster: ProcessCluster, built: Built, voters: number, timeoutMs = settleTimeoutMs): Promise<{ leader: string; view: ClusterView }> {
  const learners = built.names.length - voters;
  return waitFor(`${built.names.length} members (${voters} voters, ${learners} learners) agreeing on one leader`, async () => {
    const leader = await cluster.agreedLeader(built.names);
    if (leader === null) return null;
    const view = await cluster.clusterView(leader, built.admin);
    if (view === null || view.leader?.name !== leader || view.nodes.length !== built.names.length) return null;
    for (const name of built.names) {
      const seen = name === leader ? view : await cluster.clusterView(name, built.admin);
      if (seen === null || seen.nodes.length !== built.names.length || seen.nodes.filter((n) => n.role === 'voter').length !== voters) return null;
    }
    return { leader, view };
  }, timeoutMs, 100);
}

/** POST /api/v1/join-tokens `{}` through `via` (one node, or each in turn) until one answers
 *  201; the new token's id and the node that took it. An attempt with no answer within
 *  `attemptTimeoutMs` moves on to the next node (behind a partition, nothing answers). */
export async function writeUntilAccepted(cluster: ProcessCluster, admin: string, via: readonly string[], timeoutMs: number, attemptTimeoutMs = 3000): Promise<{ id: string; through: string }> {
  let turn = 0;
  return waitFor(`a write (POST /api/v1/join-tokens) accepted through ${via.join(' or ')}`, async () => {
    const through = via[turn++ % via.length]!;
    const res = await cluster.request(through, 'POST', '/api/v1/join-tokens', { token: admin, body: {}, timeoutMs: attemptTimeoutMs });
    return res?.status === 201 ? { id: (JSON.parse(res.body) as { id: string }).id, through } : null;
  }, timeoutMs, 50);
}

/** Milliseconds since `startMs` (performance.now()), rounded. */
export function since(startMs: number): number {
  return Math.round(performance.now() - startMs);
}

/** A measured figure, shown in the test output (and so in `npm test`'s report). */
export function report(t: TestContext, line: string): void {
  t.diagnostic(line);
}
