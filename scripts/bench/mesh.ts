// An ottmesh cluster of real node processes for the benchmarks, built the way an operator builds
// one: `ottmesh init` on the first node, a join token from its API for each other node,
// `ottmesh join`; then wait until the autopilot has made the voters (3 of any N >= 3).
import type { Agent } from 'node:http';
import { ProcessCluster, waitFor } from '../../test/cluster/processes.ts';
import type { ClusterCommand, Health } from '../../test/cluster/processes.ts';
import { send } from './http-client.ts';

/** How long a node may take to print that it runs (init, join, start). */
const nodeUpTimeoutMs = 60_000;
/** How long the autopilot may take to reach the voter target once all have joined. */
const votersTimeoutMs = 60_000;
const probeTimeoutMs = 1_000;

interface ClusterView {
  leader: { id: string } | null;
  nodes: { id: string; name: string; role: 'voter' | 'learner' }[];
}

export class MeshCluster {
  readonly processes: ProcessCluster;
  readonly names: readonly string[];
  readonly #agent: Agent;
  adminToken = '';

  private constructor(processes: ProcessCluster, size: number, agent: Agent) {
    this.processes = processes;
    this.names = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    this.#agent = agent;
  }

  /** A cluster with no node yet: hand it to the cleanup before `build()`, so that an
   *  interrupted build leaves no process or temp dir behind. */
  static async create(size: number, agent: Agent, command: ClusterCommand = {}): Promise<MeshCluster> {
    return new MeshCluster(await ProcessCluster.create('ottmesh-bench-', command), size, agent);
  }

  /** Starts the nodes and waits until all are members and the voter target is met. */
  async build(): Promise<void> {
    try {
      await this.#build();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.processes.transcript()}`, { cause: err });
    }
  }

  async #build(): Promise<void> {
    const [first, ...others] = this.names;
    await this.processes.init(first!);
    await this.#printed(first!, /cluster \S+ created/);
    this.adminToken = await this.processes.adminToken(first!);
    for (const name of others) {
      const created = await this.call(first!, 'POST', '/api/v1/join-tokens', {}, 10_000);
      if (created.status !== 201) throw new Error(`join token for ${name}: HTTP ${created.status} ${created.body}`);
      await this.processes.join(name, (JSON.parse(created.body) as { token: string }).token);
      await this.#printed(name, /joined cluster/);
    }
    await this.waitSettled(votersTimeoutMs);
  }

  async #printed(name: string, line: RegExp): Promise<void> {
    await waitFor(`${name} to start`, () => {
      const node = this.processes.nodes.get(name)!;
      if (node.child.exitCode !== null) throw new Error(`${name} exited with code ${node.child.exitCode}`);
      return line.test(node.output) ? true : null;
    }, nodeUpTimeoutMs);
  }

  /** Runs a killed node again from its data dir (`ottmesh start`) and waits until it runs. */
  async restart(name: string): Promise<void> {
    await this.processes.restart(name);
    await this.#printed(name, /node \S+ \(\S+\) running/);
  }

  /** The node processes' pids (the bench pauses and accounts them). */
  pids(): number[] {
    return this.names.flatMap((n) => this.processes.nodes.get(n)?.child.pid ?? []);
  }

  url(name: string): string {
    return this.processes.nodes.get(name)!.httpUrl;
  }

  /** One API call with the admin token through node `name`. */
  call(name: string, method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, timeoutMs: number): ReturnType<typeof send> {
    return send(this.#agent, { method, url: `${this.url(name)}${path}`, headers: { authorization: `Bearer ${this.adminToken}` }, body, timeoutMs });
  }

  async health(name: string): Promise<Health | null> {
    try {
      const res = await send(this.#agent, { method: 'GET', url: `${this.url(name)}/api/v1/health`, timeoutMs: probeTimeoutMs });
      return res.status === 200 ? (JSON.parse(res.body) as Health) : null;
    } catch {
      return null; // down or busy: the callers poll with a deadline
    }
  }

  /** The leader's name when every given node answers and names the same leader among them. */
  async agreedLeader(names: readonly string[] = this.names): Promise<string | null> {
    const healths = await Promise.all(names.map((n) => this.health(n)));
    if (healths.some((h) => h === null)) return null;
    const leaderId = healths[0]!.leaderId;
    if (leaderId === null || healths.some((h) => h!.leaderId !== leaderId)) return null;
    const index = healths.findIndex((h) => h!.nodeId === leaderId && h!.role === 'leader');
    return index < 0 ? null : names[index]!;
  }

  /** Waits until every node answers, all agree on the leader, all N are members and the
   *  voter target (3, or N when smaller) is met. Returns the leader's name. */
  async waitSettled(timeoutMs: number): Promise<string> {
    const voters = Math.min(3, this.names.length % 2 === 1 ? this.names.length : this.names.length - 1);
    return waitFor(`${this.names.length} members with ${voters} voters and one leader`, async () => {
      const leader = await this.agreedLeader();
      if (leader === null) return null;
      const res = await this.call(leader, 'GET', '/api/v1/cluster', undefined, probeTimeoutMs).catch(() => null);
      if (res?.status !== 200) return null;
      const view = JSON.parse(res.body) as ClusterView;
      const ok = view.nodes.length === this.names.length && view.nodes.filter((n) => n.role === 'voter').length === voters;
      return ok ? leader : null;
    }, timeoutMs, 100);
  }

  async stop(): Promise<void> {
    await this.processes.stop();
  }
}
