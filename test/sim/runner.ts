// One seed, start to finish: draw the fault and workload profiles from the seed, run the fault
// phase with safety checks after every event, heal, then require liveness within a bound.
// A core exception (a broken assert, or any other throw) ends the seed as a violation.
import type { Entry, NodeId } from '../../consensus/core/types.ts';
import type { Violation } from './checker.ts';
import { Cluster } from './cluster.ts';
import { describeProfile, drawProfile, FaultDriver } from './faults.ts';
import { deriveSeed, Rng } from './rng.ts';
import type { RaftTuning } from './sim-node.ts';
import { drawWorkload, Workload } from './workload.ts';
import { checkLiveness } from './liveness.ts';

export interface SeedOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Receives the trace of events, or null for none (the fast path). */
  readonly trace: ((line: string) => void) | null;
  readonly mutateApplied?: ((node: NodeId, entry: Entry) => Entry) | undefined;
}

export interface SeedStats {
  simulatedMs: number;
  commits: number;
  elections: number;
  snapshotsSent: number;
  crashes: number;
  lostWrites: number;
  messages: number;
  proposals: number;
  confChanges: number;
  reads: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly nodes: number;
  /** The fault, workload and Raft settings this seed drew. */
  readonly setup: string;
  readonly violations: readonly Violation[];
  readonly violationCount: number;
  /** Why liveness failed, or null. */
  readonly livenessFailure: string | null;
  readonly stats: SeedStats;
}

export const tickMs = 10;
/** The fault phase lasts between these (drawn per seed). */
export const faultMsMin = 1000;
export const faultMsMax = 12_000;
/** The liveness phase's bound: a leader and every liveness proposal applied on all voters by then. */
export const livenessBoundMs = 20_000;

/** Raft settings drawn per seed: short election timeouts make elections contend, small message
 *  and in-flight limits exercise flow control, frequent snapshots exercise snapshot transfer. */
function drawTuning(rng: Rng): RaftTuning {
  const electionTicks = rng.int(4, 15);
  return {
    electionTicks,
    heartbeatTicks: rng.int(1, Math.min(3, electionTicks - 1)),
    snapshotEveryEntries: rng.chance(0.3) ? rng.int(3, 10) : rng.int(10, 80),
    keepEntries: rng.int(0, 10),
    maxSizePerMsgBytes: rng.pick([64, 512, 4096, 1 << 20]),
    maxInflightMsgs: rng.pick([1, 2, 4, 16, 256]),
  };
}

interface SeedSetup {
  readonly cluster: Cluster;
  readonly faults: FaultDriver;
  readonly workload: Workload;
  readonly faultMs: number;
  readonly summary: string;
}

/** Everything a seed decides, drawn from it before the run starts. */
function setUp(opts: SeedOptions): SeedSetup {
  const rng = new Rng(deriveSeed(opts.seed, 'profile'));
  const profile = drawProfile(rng);
  const work = drawWorkload(rng);
  const faultMs = rng.int(faultMsMin, faultMsMax);
  const tuning = drawTuning(rng);
  const cluster = new Cluster({ seed: opts.seed, nodes: opts.nodes, spares: 2, tickMs, tuning, trace: opts.trace, mutateApplied: opts.mutateApplied });
  const summary = `faults for ${faultMs}ms: ${describeProfile(profile)}; workload ${JSON.stringify(work)}; raft ${JSON.stringify(tuning)}`;
  cluster.trace(() => `seed ${opts.seed}, ${opts.nodes} nodes, ${summary}`);
  const faults = new FaultDriver(profile, new Rng(deriveSeed(opts.seed, 'faults')), cluster.clock, cluster.network, {
    nodeIds: () => cluster.members().map((n) => n.id),
    isUp: (id) => cluster.nodes.get(id)?.up ?? false,
    isWriting: (id) => cluster.nodes.get(id)?.writing ?? false,
    crash: (id) => cluster.nodes.get(id)?.crash(),
    restart: (id) => cluster.nodes.get(id)?.start(),
    trace: (line) => cluster.trace(line),
  });
  cluster.disk = () => faults.disk;
  const workload = new Workload(work, new Rng(deriveSeed(opts.seed, 'workload')), {
    clock: cluster.clock,
    checker: cluster.checker,
    members: () => cluster.members(),
    spares: () => cluster.spares(),
    trace: (line) => cluster.trace(line),
  });
  cluster.onApplied = (e) => workload.noteApplied(e);
  return { cluster, faults, workload, faultMs, summary };
}

/** The fault phase, then healing and the liveness phase. Returns why liveness failed, or null. */
function runPhases({ cluster, faults, workload, faultMs }: SeedSetup): string | null {
  cluster.start();
  faults.start();
  workload.start();
  cluster.clock.runUntil(faultMs);
  faults.heal();
  workload.startLiveness();
  const deadlineMs = faultMs + livenessBoundMs;
  // Checking liveness after every event would cost more than the run: check every tick.
  let verdict = checkLiveness(cluster, workload);
  for (let t = faultMs + tickMs; t <= deadlineMs && verdict !== null; t += tickMs) {
    cluster.clock.runUntil(t);
    verdict = checkLiveness(cluster, workload);
  }
  return verdict === null ? null : `no progress ${livenessBoundMs}ms after healing: ${verdict}`;
}

export function runSeed(opts: SeedOptions): SeedResult {
  const setup = setUp(opts);
  const { cluster, workload } = setup;
  let livenessFailure: string | null = null;
  try {
    livenessFailure = runPhases(setup);
  } catch (err) {
    // A broken assert in the core (or any throw) ends the seed: report it with where it came from.
    const e = err as Error;
    cluster.checker.fail('core-error', cluster.activeNode, `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 8).join('\n') ?? ''}`);
    cluster.trace(() => `CORE ERROR: ${e.stack ?? e.message}`);
  }
  workload.stop();
  if (livenessFailure !== null) cluster.trace(() => `LIVENESS FAILURE: ${livenessFailure}`);
  const nodes = [...cluster.nodes.values()];
  return {
    seed: opts.seed,
    nodes: opts.nodes,
    setup: setup.summary,
    violations: cluster.checker.violations,
    violationCount: cluster.checker.violationCount,
    livenessFailure,
    stats: {
      simulatedMs: cluster.clock.nowMs,
      commits: cluster.checker.maxCommitted,
      elections: cluster.checker.leaderTerms,
      snapshotsSent: cluster.snapshotsSent,
      crashes: nodes.reduce((n, x) => n + x.stats.crashes, 0),
      lostWrites: nodes.reduce((n, x) => n + x.stats.lostWrites, 0),
      messages: cluster.network.stats.sent,
      proposals: workload.stats.proposed,
      confChanges: workload.stats.confChanges,
      reads: workload.stats.reads,
    },
  };
}
