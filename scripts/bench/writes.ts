// `npm run bench -- writes [--json] [--seconds 10] [--clients 64] [--warmup 5] [--no-etcd]`
// Three ottmesh node processes on loopback; `clients` concurrent clients in this process (one
// keep-alive agent) send a replicated write through the REST API for `seconds`:
// PATCH /api/v1/nodes/:id {"enabled": true} (a SetNodeEnabled command: proposed, committed,
// applied; it does not grow the state), client k on node id k % 3 (3 keys). Two placements:
//   - via any node: client k talks to node k % 3, so two thirds are forwarded to the leader
//     (what clients behind a load balancer see; the headline figure);
//   - via the leader: every client talks to the leader.
// Plus one client alone, via the leader, for the unloaded latency. Then the same against 3
// etcd members through the JSON gateway (puts on 3 keys), one system at a time.
// Each system first gets `warmup` seconds of unrecorded load through any node: a Node.js process
// runs its first seconds of a new load 15-25 % slower while V8 compiles the hot paths (measured:
// the same 6 s phase run twice in a row), and what we compare is sustained throughput.
import { parseArgs } from 'node:util';
import { waitFor } from '../../test/cluster/processes.ts';
import { EtcdClient } from './etcd-client.ts';
import { EtcdCluster, etcdInstalled } from './etcd.ts';
import { keepAliveAgent } from './http-client.ts';
import { drive } from './load.ts';
import type { Call, LoadFigures } from './load.ts';
import { MeshCluster } from './mesh.ts';
import { machine, ms, printTable, ratio, refuse, withCleanup } from './stats.ts';

const requestTimeoutMs = 5_000;
const maxRequests = 2_000_000;
const pauseAfterErrorMs = 10;
/** Unrecorded load before each measured phase (connection pools, Raft pipelines). */
const phaseWarmupMs = 1_000;
const settleTimeoutMs = 60_000;

export interface Phases {
  readonly any: LoadFigures;
  readonly leader: LoadFigures;
  readonly single: LoadFigures;
}

interface Options {
  readonly clients: number;
  readonly durationMs: number;
  readonly singleMs: number;
  /** Unrecorded load through any node before the first phase (JIT warm-up). */
  readonly warmupMs: number;
}

/** Runs the three placements: `callVia(target)` makes a Call that sends client k through
 *  node `target(k)`; node indexes are 0..2. */
async function phases(callVia: (target: (k: number) => number) => Call, leaderIndex: number, o: Options): Promise<Phases> {
  const base = { maxRequests, pauseAfterErrorMs };
  if (o.warmupMs > 0) await drive(callVia((k) => k % 3), { ...base, clients: o.clients, durationMs: o.warmupMs });
  const measure = async (target: (k: number) => number, clients: number, durationMs: number) => {
    await drive(callVia(target), { ...base, clients, durationMs: phaseWarmupMs });
    return drive(callVia(target), { ...base, clients, durationMs });
  };
  const any = await measure((k) => k % 3, o.clients, o.durationMs);
  const leader = await measure(() => leaderIndex, o.clients, o.durationMs);
  const single = await measure(() => leaderIndex, 1, o.singleMs);
  return { any, leader, single };
}

async function meshPhases(mesh: MeshCluster, o: Options): Promise<Phases> {
  const leader = await mesh.waitSettled(settleTimeoutMs);
  const ids = await Promise.all(mesh.names.map(async (n) => (await mesh.health(n))!.nodeId));
  const callVia = (target: (k: number) => number): Call => async (k) => {
    const res = await mesh.call(mesh.names[target(k)]!, 'PATCH', `/api/v1/nodes/${ids[k % 3]!}`, { enabled: true }, requestTimeoutMs);
    return res.status === 200 ? true : String(res.status);
  };
  return phases(callVia, mesh.names.indexOf(leader), o);
}

async function etcdPhases(etcd: EtcdClient, o: Options): Promise<Phases> {
  const leader = await waitFor('etcd to agree on a leader', () => etcd.agreedLeader(), settleTimeoutMs, 100);
  const callVia = (target: (k: number) => number): Call => (k) => etcd.put(target(k), `bench/node/${k % 3}`, 'true', requestTimeoutMs);
  return phases(callVia, leader, o);
}

export async function run(args: readonly string[]): Promise<void> {
  const options = () => parseArgs({
    args: [...args],
    options: {
      json: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '64' },
      'single-seconds': { type: 'string', default: '3' },
      warmup: { type: 'string', default: '5' },
      'no-etcd': { type: 'boolean', default: false },
    },
  });
  let values: ReturnType<typeof options>['values'];
  try {
    ({ values } = options());
  } catch (err) {
    return refuse('writes', `${(err as Error).message}; usage: npm run bench -- writes [--seconds 10] [--clients 64] [--single-seconds 3] [--warmup 5] [--json] [--no-etcd]`);
  }
  const o: Options = { clients: Number(values.clients), durationMs: Number(values.seconds) * 1000, singleMs: Number(values['single-seconds']) * 1000, warmupMs: Number(values.warmup) * 1000 };
  if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > 1024) return refuse('writes', `--clients must be an integer from 1 to 1024 (got ${values.clients})`);
  if (!(o.durationMs > 0 && o.durationMs <= 600_000)) return refuse('writes', `--seconds must be more than 0 and at most 600 (got ${values.seconds})`);
  if (!(o.warmupMs >= 0 && o.warmupMs <= 600_000)) return refuse('writes', `--warmup must be from 0 to 600 seconds (got ${values.warmup})`);
  if (!(o.singleMs > 0 && o.singleMs <= 600_000)) return refuse('writes', `--single-seconds must be more than 0 and at most 600 (got ${values['single-seconds']})`);
  const etcdVersion = values['no-etcd'] ? null : etcdInstalled();
  const etcdMissing = values['no-etcd'] ? 'etcd: skipped (--no-etcd)' : 'etcd: not installed (apt-get install etcd-server)';
  const agent = keepAliveAgent(o.clients);
  let mesh: MeshCluster | null = null;
  let etcd: EtcdCluster | null = null;
  await withCleanup(async () => {
    await mesh?.stop();
    await etcd?.stop();
    agent.destroy();
  }, async () => {
    mesh = await MeshCluster.create(3, agent);
    await mesh.build();
    const ours = await meshPhases(mesh, o);
    await mesh.stop();
    mesh = null;
    let theirs: Phases | null = null;
    if (etcdVersion !== null) {
      etcd = await EtcdCluster.start(3);
      theirs = await etcdPhases(new EtcdClient(etcd, agent), o);
    }
    report(o, ours, theirs, { version: etcdVersion, missing: etcdMissing }, values.json);
  });
}

function keysOf(prefix: string, p: Phases | null): Record<string, unknown> {
  return {
    [`${prefix}writes_per_s`]: p?.any.writesPerS ?? null, [`${prefix}write_p50_ms`]: p?.any.p50Ms ?? null, [`${prefix}write_p99_ms`]: p?.any.p99Ms ?? null,
    [`${prefix}errors`]: p?.any.errors ?? null,
    [`${prefix}via_leader_writes_per_s`]: p?.leader.writesPerS ?? null, [`${prefix}via_leader_write_p50_ms`]: p?.leader.p50Ms ?? null,
    [`${prefix}via_leader_write_p99_ms`]: p?.leader.p99Ms ?? null, [`${prefix}via_leader_errors`]: p?.leader.errors ?? null,
    [`${prefix}one_client_writes_per_s`]: p?.single.writesPerS ?? null, [`${prefix}one_client_write_p50_ms`]: p?.single.p50Ms ?? null,
    [`${prefix}one_client_write_p99_ms`]: p?.single.p99Ms ?? null,
    [`${prefix}error_kinds`]: p === null ? null : { any: p.any.errorKinds, leader: p.leader.errorKinds, single: p.single.errorKinds },
  };
}

function report(o: Options, ours: Phases, theirs: Phases | null, etcd: { version: string | null; missing: string }, json: boolean): void {
  const result: Record<string, unknown> = {
    clients: o.clients, seconds: o.durationMs / 1000, warmup_s: o.warmupMs / 1000, ...keysOf('', ours), ...keysOf('etcd_', theirs),
    writes_vs_etcd: ratio(ours.any.writesPerS, theirs?.any.writesPerS ?? null),
    via_leader_writes_vs_etcd: ratio(ours.leader.writesPerS, theirs?.leader.writesPerS ?? null),
    etcd_version: etcd.version, node_version: process.version, machine: machine(), date: new Date().toISOString(),
  };
  const line = (label: string, pick: (p: Phases) => LoadFigures) => {
    const cells = (p: Phases | null) => {
      if (p === null) return ['n/a', 'n/a', 'n/a', 'n/a'];
      const f = pick(p);
      return [String(f.writesPerS), ms(f.p50Ms), ms(f.p99Ms), String(f.errors)];
    };
    return [label, ...cells(ours), ...cells(theirs)];
  };
  const etcdName = etcd.version === null ? etcd.missing : `etcd ${etcd.version}`;
  printTable([
    `writes bench: 3 ottmesh nodes (PATCH /api/v1/nodes/:id {"enabled":true}) vs 3 etcd members (JSON gateway puts), 3 keys, ${o.durationMs / 1000} s per phase`,
    `node ${process.version} on ${machine()}; writes/s ottmesh / etcd: via any node ${String(result['writes_vs_etcd'] ?? 'n/a')}, via the leader ${String(result['via_leader_writes_vs_etcd'] ?? 'n/a')}`,
  ], [
    ['', 'ottmesh/s', 'p50', 'p99', 'errors', `${etcdName}/s`, 'p50', 'p99', 'errors'],
    line(`${o.clients} clients via any node (headline)`, (p) => p.any),
    line(`${o.clients} clients via the leader`, (p) => p.leader),
    line('1 client via the leader', (p) => p.single),
  ]);
  if (json) console.log(JSON.stringify(result));
}
