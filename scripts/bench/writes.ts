// `npm run bench -- writes [--json] [--seconds 10] [--clients 64] [--warmup 5] [--slice 1] [--no-etcd]`
// Three ottmesh node processes on loopback; `clients` concurrent clients in this process (one
// keep-alive agent) send a replicated write through the REST API for `seconds`:
// PATCH /api/v1/nodes/:id {"enabled": true} (a SetNodeEnabled command: proposed, committed,
// applied; it does not grow the state), client k on node id k % 3 (3 keys). Two placements:
//   - via any node: client k talks to node k % 3, so two thirds are forwarded to the leader
//     (what clients behind a load balancer see; the headline figure);
//   - via the leader: every client talks to the leader.
// Plus one client alone, via the leader, for the unloaded latency. The same against 3 etcd
// members through the JSON gateway (puts on 3 keys).
// The two systems run side by side and take turns: each placement is measured in slices of
// `slice` seconds, ottmesh and etcd alternating (ottmesh first in even rounds, etcd in odd ones),
// and the system whose turn it is not is paused (SIGSTOP), so that neither pays for the other's
// idle work. On this shared VM the speed of the machine drifts by 15-30 % within a minute (the
// bench's own client, the same code throughout, costs 35-53 us per request from one phase to the
// next): measured one after the other, the two systems met different machines; interleaved,
// each slice pair meets the same one.
// Each system first gets `warmup` seconds of unrecorded load through any node (also in turns): a
// Node.js process runs its first seconds of a new load 15-25 % slower while V8 compiles the hot
// paths (measured: the same 6 s phase run twice in a row), and what we compare is sustained
// throughput. Each slice starts with a short unrecorded ramp after its system is resumed.
import { parseArgs } from 'node:util';
import { waitFor } from '../../test/cluster/processes.ts';
import { EtcdClient } from './etcd-client.ts';
import { EtcdCluster, etcdInstalled } from './etcd.ts';
import { keepAliveAgent } from './http-client.ts';
import { figures, sample } from './load.ts';
import type { Call, LoadFigures, LoadSample } from './load.ts';
import { MeshCluster } from './mesh.ts';
import { cpuTicks, usPerTick } from './proc.ts';
import { machine, ms, printTable, ratio, refuse, withCleanup } from './stats.ts';

const requestTimeoutMs = 5_000;
const maxRequests = 2_000_000;
const pauseAfterErrorMs = 10;
/** Unrecorded load at the start of each slice, after the system was resumed. */
const sliceRampMs = 300;
const settleTimeoutMs = 60_000;

export interface Measured extends LoadFigures {
  /** CPU (user + system, all threads) of the system's processes per acknowledged write, during
   *  its recorded slices. */
  readonly cpuUsPerWrite: number | null;
  /** CPU of this bench process (the clients) per acknowledged write, likewise. */
  readonly clientCpuUsPerWrite: number | null;
}

export interface Phases {
  readonly any: Measured;
  readonly leader: Measured;
  readonly single: Measured;
}

interface Options {
  readonly clients: number;
  readonly durationMs: number;
  readonly singleMs: number;
  /** Unrecorded load through any node before the first phase (JIT warm-up). */
  readonly warmupMs: number;
  readonly sliceMs: number;
}

/** A system under load: its processes, and a Call that sends client k through node `target(k)`
 *  (node indexes 0..2). */
interface System {
  readonly pids: () => readonly number[];
  readonly callVia: (target: (k: number) => number) => Call;
  readonly leaderIndex: number;
}

function signal(pids: readonly number[], sig: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // exited: the load against it fails and says so
    }
  }
}

/** CPU ticks of `pids` together (processes gone count nothing). */
function ticksOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuTicks(pid) ?? 0), 0);
}

/** Load on each system in turn, `totalMs` of it each in slices of about `sliceMs`, the others
 *  paused meanwhile; returns each system's figures, its slices pooled. */
async function inTurns(systems: readonly System[], target: (s: System) => (k: number) => number, clients: number, totalMs: number, o: Options): Promise<Measured[]> {
  const rounds = Math.max(1, Math.round(totalMs / o.sliceMs));
  const init = { maxRequests, pauseAfterErrorMs, clients, durationMs: totalMs / rounds };
  const samples = systems.map((): LoadSample[] => []);
  const ticks = systems.map(() => 0);
  const clientUs = systems.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    const order = systems.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const system = systems[i]!;
      for (const other of systems) if (other !== system) signal(other.pids(), 'SIGSTOP');
      signal(system.pids(), 'SIGCONT');
      const call = system.callVia(target(system));
      await sample(call, { ...init, durationMs: sliceRampMs });
      const before = ticksOf(system.pids());
      const clientBefore = process.cpuUsage();
      samples[i]!.push(await sample(call, init));
      const client = process.cpuUsage(clientBefore);
      clientUs[i]! += client.user + client.system;
      ticks[i]! += ticksOf(system.pids()) - before;
    }
  }
  for (const system of systems) signal(system.pids(), 'SIGCONT');
  return systems.map((_, i) => {
    const f = figures(samples[i]!);
    const perWrite = (us: number) => (f.ok === 0 ? null : Math.round(us / f.ok));
    return { ...f, cpuUsPerWrite: perWrite(ticks[i]! * usPerTick), clientCpuUsPerWrite: perWrite(clientUs[i]!) };
  });
}

async function phasesInTurns(systems: readonly System[], o: Options): Promise<Phases[]> {
  const anyNode = () => (k: number) => k % 3;
  const theLeader = (s: System) => () => s.leaderIndex;
  if (o.warmupMs > 0) await inTurns(systems, anyNode, o.clients, o.warmupMs, o);
  const any = await inTurns(systems, anyNode, o.clients, o.durationMs, o);
  const leader = await inTurns(systems, theLeader, o.clients, o.durationMs, o);
  const single = await inTurns(systems, theLeader, 1, o.singleMs, o);
  return systems.map((_, i) => ({ any: any[i]!, leader: leader[i]!, single: single[i]! }));
}

async function meshSystem(mesh: MeshCluster): Promise<System> {
  const leader = await mesh.waitSettled(settleTimeoutMs);
  const ids = await Promise.all(mesh.names.map(async (n) => (await mesh.health(n))!.nodeId));
  const callVia = (target: (k: number) => number): Call => async (k) => {
    const res = await mesh.call(mesh.names[target(k)]!, 'PATCH', `/api/v1/nodes/${ids[k % 3]!}`, { enabled: true }, requestTimeoutMs);
    return res.status === 200 ? true : String(res.status);
  };
  return { pids: () => mesh.pids(), callVia, leaderIndex: mesh.names.indexOf(leader) };
}

async function etcdSystem(cluster: EtcdCluster, etcd: EtcdClient): Promise<System> {
  const leader = await waitFor('etcd to agree on a leader', () => etcd.agreedLeader(), settleTimeoutMs, 100);
  const callVia = (target: (k: number) => number): Call => (k) => etcd.put(target(k), `bench/node/${k % 3}`, 'true', requestTimeoutMs);
  return { pids: () => cluster.pids(), callVia, leaderIndex: leader };
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
      slice: { type: 'string', default: '1' },
      'no-etcd': { type: 'boolean', default: false },
    },
  });
  let values: ReturnType<typeof options>['values'];
  try {
    ({ values } = options());
  } catch (err) {
    return refuse('writes', `${(err as Error).message}; usage: npm run bench -- writes [--seconds 10] [--clients 64] [--single-seconds 3] [--warmup 5] [--slice 1] [--json] [--no-etcd]`);
  }
  const o: Options = { clients: Number(values.clients), durationMs: Number(values.seconds) * 1000, singleMs: Number(values['single-seconds']) * 1000, warmupMs: Number(values.warmup) * 1000, sliceMs: Number(values.slice) * 1000 };
  if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > 1024) return refuse('writes', `--clients must be an integer from 1 to 1024 (got ${values.clients})`);
  if (!(o.durationMs > 0 && o.durationMs <= 600_000)) return refuse('writes', `--seconds must be more than 0 and at most 600 (got ${values.seconds})`);
  if (!(o.warmupMs >= 0 && o.warmupMs <= 600_000)) return refuse('writes', `--warmup must be from 0 to 600 seconds (got ${values.warmup})`);
  if (!(o.sliceMs >= 200 && o.sliceMs <= 600_000)) return refuse('writes', `--slice must be from 0.2 to 600 seconds (got ${values.slice})`);
  if (!(o.singleMs > 0 && o.singleMs <= 600_000)) return refuse('writes', `--single-seconds must be more than 0 and at most 600 (got ${values['single-seconds']})`);
  const etcdVersion = values['no-etcd'] ? null : etcdInstalled();
  const etcdMissing = values['no-etcd'] ? 'etcd: skipped (--no-etcd)' : 'etcd: not installed (apt-get install etcd-server)';
  const agent = keepAliveAgent(o.clients);
  let mesh: MeshCluster | null = null;
  let etcd: EtcdCluster | null = null;
  await withCleanup(async () => {
    // A paused process would not act on SIGTERM: resume everything first.
    signal([...(mesh?.pids() ?? []), ...(etcd?.pids() ?? [])], 'SIGCONT');
    await mesh?.stop();
    await etcd?.stop();
    agent.destroy();
  }, async () => {
    mesh = await MeshCluster.create(3, agent);
    await mesh.build();
    const systems = [await meshSystem(mesh)];
    if (etcdVersion !== null) {
      etcd = await EtcdCluster.start(3);
      systems.push(await etcdSystem(etcd, new EtcdClient(etcd, agent)));
    }
    const [ours, theirs] = await phasesInTurns(systems, o);
    report(o, ours!, theirs ?? null, { version: etcdVersion, missing: etcdMissing }, values.json);
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
    [`${prefix}cpu_us_per_write`]: p?.any.cpuUsPerWrite ?? null, [`${prefix}via_leader_cpu_us_per_write`]: p?.leader.cpuUsPerWrite ?? null,
    [`${prefix}client_cpu_us_per_write`]: p?.any.clientCpuUsPerWrite ?? null,
    [`${prefix}error_kinds`]: p === null ? null : { any: p.any.errorKinds, leader: p.leader.errorKinds, single: p.single.errorKinds },
  };
}

function report(o: Options, ours: Phases, theirs: Phases | null, etcd: { version: string | null; missing: string }, json: boolean): void {
  const result: Record<string, unknown> = {
    clients: o.clients, seconds: o.durationMs / 1000, warmup_s: o.warmupMs / 1000, slice_s: o.sliceMs / 1000, ...keysOf('', ours), ...keysOf('etcd_', theirs),
    writes_vs_etcd: ratio(ours.any.writesPerS, theirs?.any.writesPerS ?? null),
    via_leader_writes_vs_etcd: ratio(ours.leader.writesPerS, theirs?.leader.writesPerS ?? null),
    etcd_version: etcd.version, node_version: process.version, machine: machine(), date: new Date().toISOString(),
  };
  const line = (label: string, pick: (p: Phases) => Measured) => {
    const cells = (p: Phases | null) => {
      if (p === null) return ['n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
      const f = pick(p);
      return [String(f.writesPerS), ms(f.p50Ms), ms(f.p99Ms), String(f.errors), String(f.cpuUsPerWrite ?? 'n/a')];
    };
    return [label, ...cells(ours), ...cells(theirs)];
  };
  const etcdName = etcd.version === null ? etcd.missing : `etcd ${etcd.version}`;
  printTable([
    `writes bench: 3 ottmesh nodes (PATCH /api/v1/nodes/:id {"enabled":true}) vs 3 etcd members (JSON gateway puts), 3 keys, ${o.durationMs / 1000} s per phase in turns of ${o.sliceMs / 1000} s`,
    `node ${process.version} on ${machine()}; writes/s ottmesh / etcd: via any node ${String(result['writes_vs_etcd'] ?? 'n/a')}, via the leader ${String(result['via_leader_writes_vs_etcd'] ?? 'n/a')}`,
  ], [
    ['', 'ottmesh/s', 'p50', 'p99', 'errors', 'cpu us/write', `${etcdName}/s`, 'p50', 'p99', 'errors', 'cpu us/write'],
    line(`${o.clients} clients via any node (headline)`, (p) => p.any),
    line(`${o.clients} clients via the leader`, (p) => p.leader),
    line('1 client via the leader', (p) => p.single),
  ]);
  if (json) console.log(JSON.stringify(result));
}
