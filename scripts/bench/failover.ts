// `npm run bench -- failover [--nodes 3|5] [--trials 20] [--json] [--no-etcd]`
// Real ottmesh node processes on loopback (built through the CLI). Each trial: find the leader,
// kill -9 it, and time from that instant until a write (POST /api/v1/join-tokens) succeeds
// through a surviving node; then start the killed node again from its data dir and wait until
// the cluster is whole before the next trial. Then the same against 3 etcd members (a put
// through a survivor), one system at a time: etcd 3.4 with default timeouts is the yardstick.
import { parseArgs } from 'node:util';
import { waitFor } from '../../test/cluster/processes.ts';
import { EtcdClient } from './etcd-client.ts';
import { EtcdCluster, etcdInstalled } from './etcd.ts';
import { addFailures, describeFailures, firstSuccess, timeUntil } from './first-success.ts';
import type { Attempt } from './first-success.ts';
import { keepAliveAgent } from './http-client.ts';
import { MeshCluster } from './mesh.ts';
import { machine, ms, printTable, ratio, refuse, round, summarize, withCleanup } from './stats.ts';

/** A write attempt is abandoned after this long (later ones were launched meanwhile). */
const attemptTimeoutMs = 2_000;
/** A new write attempt per survivor this often: the clock's resolution. */
const launchIntervalMs = 25;
/** Unanswered attempts per survivor: enough to keep the beat through a whole attempt timeout. */
const maxInFlightPerLoop = Math.ceil(attemptTimeoutMs / launchIntervalMs);
/** How often the new leader is looked for (health / status polls), separately from writes. */
const electionPollMs = 20;
/** A trial in which nothing succeeds for this long counts as failed. */
const giveUpAfterMs = 30_000;
/** How long a restarted node and the cluster may take to be whole again. */
const recoverTimeoutMs = 60_000;
/** Quiet time once whole, so that the next kill does not land on a node still catching up. */
const settleMs = 1_000;

interface TrialFigures {
  readonly writeMs: number | null;
  readonly electedMs: number | null;
  readonly failures: ReadonlyMap<string, number>;
}

interface SystemFigures {
  readonly writes: number[];
  readonly elected: number[];
  failed: number;
  readonly failures: Map<string, number>;
}

const sleep = (msToWait: number) => new Promise((r) => setTimeout(r, msToWait));

function newFigures(): SystemFigures {
  return { writes: [], elected: [], failed: 0, failures: new Map() };
}

function record(into: SystemFigures, trial: TrialFigures): void {
  if (trial.writeMs === null) into.failed++;
  else into.writes.push(trial.writeMs);
  if (trial.electedMs !== null) into.elected.push(trial.electedMs);
  addFailures(into.failures, trial.failures);
}

async function meshTrial(mesh: MeshCluster): Promise<TrialFigures> {
  const leader = await mesh.waitSettled(recoverTimeoutMs);
  const oldLeaderId = (await mesh.health(leader))?.nodeId;
  const survivors = mesh.names.filter((n) => n !== leader);
  const startMs = performance.now();
  const killed = mesh.processes.kill(leader);
  const write = (name: string): Attempt => async () => {
    const res = await mesh.call(name, 'POST', '/api/v1/join-tokens', {}, attemptTimeoutMs);
    return res.status === 201 ? true : String(res.status);
  };
  const newLeader = async () => (await Promise.all(survivors.map((s) => mesh.health(s)))).some((h) => h?.role === 'leader' && h.nodeId !== oldLeaderId);
  const [race, electedMs] = await Promise.all([
    firstSuccess(survivors.map(write), { startMs, giveUpAfterMs, launchIntervalMs, maxInFlightPerLoop }),
    timeUntil(newLeader, startMs, startMs + giveUpAfterMs, electionPollMs),
  ]);
  await killed;
  await mesh.restart(leader);
  await mesh.waitSettled(recoverTimeoutMs);
  await sleep(settleMs);
  return { writeMs: race.ms, electedMs, failures: race.failures };
}

async function etcdTrial(etcd: EtcdClient, trial: number): Promise<TrialFigures> {
  const leader = await waitFor('etcd to agree on a leader', () => etcd.agreedLeader(), recoverTimeoutMs, 100);
  const oldLeaderId = (await etcd.status(leader))?.memberId;
  const survivors = etcd.cluster.members.map((_, i) => i).filter((i) => i !== leader);
  const startMs = performance.now();
  const killed = etcd.cluster.kill(leader);
  let attempt = 0;
  const put = (i: number): Attempt => () => etcd.put(i, `bench/failover/${trial}`, String(attempt++), attemptTimeoutMs);
  const newLeader = async () => (await Promise.all(survivors.map((s) => etcd.status(s)))).some((s) => s !== null && s.leader !== null && s.leader !== oldLeaderId);
  const [race, electedMs] = await Promise.all([
    firstSuccess(survivors.map(put), { startMs, giveUpAfterMs, launchIntervalMs, maxInFlightPerLoop }),
    timeUntil(newLeader, startMs, startMs + giveUpAfterMs, electionPollMs),
  ]);
  await killed;
  etcd.cluster.restart(leader);
  await waitFor('the restarted etcd member to rejoin', () => etcd.agreedLeader(), recoverTimeoutMs, 100);
  await sleep(settleMs);
  return { writeMs: race.ms, electedMs, failures: race.failures };
}

async function runTrials(what: string, trials: number, one: (trial: number) => Promise<TrialFigures>): Promise<SystemFigures> {
  const figures = newFigures();
  for (let t = 0; t < trials; t++) {
    const trial = await one(t);
    record(figures, trial);
    console.error(`${what} trial ${t + 1}/${trials}: write after ${ms(round(trial.writeMs ?? NaN))}, new leader seen after ${ms(round(trial.electedMs ?? NaN))}; failed attempts: ${describeFailures(trial.failures)}`);
  }
  return figures;
}

function keysOf(prefix: string, f: SystemFigures | null): Record<string, unknown> {
  const w = summarize(f?.writes ?? []);
  const e = summarize(f?.elected ?? []);
  return {
    [`${prefix}failover_p50_ms`]: round(w.p50), [`${prefix}failover_p99_ms`]: round(w.p99), [`${prefix}failover_max_ms`]: round(w.max),
    [`${prefix}elected_p50_ms`]: round(e.p50), [`${prefix}elected_p99_ms`]: round(e.p99),
    [`${prefix}failed_trials`]: f?.failed ?? null,
    [`${prefix}failover_trials_ms`]: f?.writes.map((x) => round(x)) ?? null,
    [`${prefix}failed_attempts`]: f === null ? null : Object.fromEntries(f.failures),
  };
}

export async function run(args: readonly string[]): Promise<void> {
  const options = () => parseArgs({
    args: [...args],
    options: {
      json: { type: 'boolean', default: false },
      nodes: { type: 'string', default: '3' },
      trials: { type: 'string', default: '20' },
      'no-etcd': { type: 'boolean', default: false },
    },
  });
  let values: ReturnType<typeof options>['values'];
  try {
    ({ values } = options());
  } catch (err) {
    return refuse('failover', `${(err as Error).message}; usage: npm run bench -- failover [--nodes 3|5] [--trials 20] [--json] [--no-etcd]`);
  }
  const nodes = Number(values.nodes);
  const trials = Number(values.trials);
  if (!Number.isInteger(nodes) || nodes < 3 || nodes > 9) return refuse('failover', `--nodes must be an integer from 3 to 9 (got ${values.nodes})`);
  if (!Number.isInteger(trials) || trials < 1 || trials > 1000) return refuse('failover', `--trials must be an integer from 1 to 1000 (got ${values.trials})`);
  const etcdVersion = values['no-etcd'] ? null : etcdInstalled();
  const etcdMissing = values['no-etcd'] ? 'etcd: skipped (--no-etcd)' : 'etcd: not installed (apt-get install etcd-server)';
  // Sockets per node: every attempt that is still waiting holds one.
  const agent = keepAliveAgent(maxInFlightPerLoop + 8);
  let mesh: MeshCluster | null = null;
  let etcd: EtcdCluster | null = null;
  const cleanup = async () => {
    await mesh?.stop();
    await etcd?.stop();
    agent.destroy();
  };
  await withCleanup(cleanup, async () => {
    mesh = await MeshCluster.create(nodes, agent);
    await mesh.build();
    const meshFigures = await runTrials(`ottmesh (${nodes} nodes)`, trials, () => meshTrial(mesh!));
    await mesh.stop();
    mesh = null;
    let etcdFigures: SystemFigures | null = null;
    if (etcdVersion !== null) {
      etcd = await EtcdCluster.start(3);
      const client = new EtcdClient(etcd, agent);
      etcdFigures = await runTrials('etcd (3 members)', trials, (t) => etcdTrial(client, t));
    }
    report({ nodes, trials, meshFigures, etcdFigures, etcdVersion, etcdMissing, json: values.json });
  });
}

function report(r: { nodes: number; trials: number; meshFigures: SystemFigures; etcdFigures: SystemFigures | null; etcdVersion: string | null; etcdMissing: string; json: boolean }): void {
  const result: Record<string, unknown> = {
    nodes: r.nodes, trials: r.trials, ...keysOf('', r.meshFigures), ...keysOf('etcd_', r.etcdFigures),
  };
  result['failover_p99_vs_etcd'] = ratio(result['failover_p99_ms'] as number | null, result['etcd_failover_p99_ms'] as number | null);
  Object.assign(result, { etcd_version: r.etcdVersion, node_version: process.version, machine: machine(), date: new Date().toISOString() });
  const etcdColumn = r.etcdVersion === null ? r.etcdMissing : `etcd ${r.etcdVersion} (3 members)`;
  const cell = (key: string) => (r.etcdFigures === null ? 'n/a' : ms(result[`etcd_${key}`] as number | null));
  const rows = [
    ['', `ottmesh (${r.nodes} nodes)`, etcdColumn],
    ['write through a survivor: p50', ms(result['failover_p50_ms'] as number | null), cell('failover_p50_ms')],
    ['write through a survivor: p99', ms(result['failover_p99_ms'] as number | null), cell('failover_p99_ms')],
    ['write through a survivor: max', ms(result['failover_max_ms'] as number | null), cell('failover_max_ms')],
    ['new leader seen: p50', ms(result['elected_p50_ms'] as number | null), cell('elected_p50_ms')],
    ['new leader seen: p99', ms(result['elected_p99_ms'] as number | null), cell('elected_p99_ms')],
    ['trials without a write in 30 s', String(r.meshFigures.failed), r.etcdFigures === null ? 'n/a' : String(r.etcdFigures.failed)],
    ['failed attempts (all trials)', describeFailures(r.meshFigures.failures), r.etcdFigures === null ? 'n/a' : describeFailures(r.etcdFigures.failures)],
  ];
  printTable([
    `failover bench: kill -9 the leader, time until a write through a surviving node succeeds; ${r.trials} trials each (p99 of fewer than 100 trials is the max)`,
    `node ${process.version} on ${machine()}; p99 ottmesh / etcd: ${String(result['failover_p99_vs_etcd'] ?? 'n/a')}`,
  ], rows);
  if (r.json) console.log(JSON.stringify(result));
}
