// The chaos suite's fault schedule, drawn from the seed alone (pure): which kinds of fault, when,
// for how long, and the random draws that pick the nodes. The nodes themselves are chosen when a
// fault is injected (chooseNodes), from the live cluster: "the leader" is whoever leads then.
// Same seed and minutes, same schedule of kinds, times and durations.
//
// One fault at a time, each followed by a quiet gap for recovery: with five voters any single
// fault below leaves a quorum (a minority side holds at most two nodes, a majority partition
// puts the leader and at most one other on the small side), so what is checked is the cluster's
// own recovery, never a loss of quorum the schedule forced on it. Kinds come from a shuffled bag
// of all eight, refilled when empty, so a short run still meets several different kinds.
import { deriveSeed, Rng } from '../../test/sim/rng.ts';
import type { FaultKind } from './types.ts';

export const faultKinds: readonly FaultKind[] = ['kill', 'crash', 'stop', 'partition-minority', 'partition-majority', 'partition-one-way', 'loss', 'disk-full'];

/** Time bounds of a schedule (ms). A fault lasts 5-40 s (for kill: the time until the restart,
 *  below the autopilot's 60 s before it replaces a down voter; a crash is restarted after
 *  crashRestartMs, as a service manager's Restart=always does); the quiet gap after each heal,
 *  15-30 s, is about twice the time channels take to run again after a worker's death (gossip
 *  marks it down in 2.5 s, then a switch or a new ffmpeg and a first segment). */
export const scheduleBounds = Object.freeze({
  leadInMs: 10_000,
  faultMsMin: 5_000,
  faultMsMax: 40_000,
  crashRestartMs: 1_000,
  gapMsMin: 15_000,
  gapMsMax: 30_000,
  /** Emulated packet loss: the share of the fault's time its link is cut, in short cuts. */
  lossFractionMin: 0.1,
  lossFractionMax: 0.35,
  lossCutMsMin: 50,
  lossCutMsMax: 300,
});

export type FaultRole = 'leader' | 'worker' | 'any';

/** One fault of the schedule, before it is aimed at nodes. */
export interface PlannedFault {
  /** 1, 2, ... in schedule order (the FaultRecord's id). */
  readonly id: number;
  readonly kind: FaultKind;
  readonly role: FaultRole;
  /** Start, as an offset from the schedule's start. */
  readonly atMs: number;
  readonly durationMs: number;
  /** Partitions: nodes on the small side (minority: 1-2 non-leaders; majority: the leader and
   *  0-1 others; one-way: 1). 1 for every other kind. */
  readonly smallSide: number;
  /** Uniform draws in [0, 1) that choose the nodes at injection (chooseNodes). */
  readonly picks: readonly number[];
  /** loss: the share of the fault's time the link is cut; 0 for other kinds. */
  readonly lossFraction: number;
  /** loss: the seed of its cut pattern (lossPattern). */
  readonly lossSeed: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly minutes: number;
  /** Nodes in the cluster; voters are min(nodes, 5) (votersTarget 5, or 3 with 3-4 nodes). */
  readonly nodes: number;
  /** The kinds to draw from (default: all); a mode that cannot inject some leaves them out. */
  readonly kinds?: readonly FaultKind[];
}

/** The most nodes a partition's small side may hold and leave a quorum on the other side. */
export function smallSideMax(nodes: number): number {
  const voters = nodes >= 5 ? 5 : 3;
  return Math.floor((voters - 1) / 2);
}

/** Every fault of a run of `minutes`, in order, none overlapping, the last healed by the end. */
export function drawSchedule(options: ScheduleOptions): PlannedFault[] {
  const { seed, minutes, nodes, kinds = faultKinds } = options;
  if (kinds.length === 0) throw new Error('a schedule needs at least one kind of fault');
  if (!(minutes > 0)) throw new Error(`minutes must be positive, not ${minutes}`);
  if (!Number.isInteger(nodes) || nodes < 3) throw new Error(`a schedule needs at least 3 nodes, not ${nodes}`);
  const rng = new Rng(deriveSeed(seed, 'chaos-schedule'));
  const b = scheduleBounds;
  const endMs = Math.round(minutes * 60_000);
  const out: PlannedFault[] = [];
  let bag: FaultKind[] = [];
  let atMs = b.leadInMs;
  for (;;) {
    if (bag.length === 0) bag = rng.shuffle(kinds);
    const kind = bag.pop()!;
    const drawnMs = rng.int(b.faultMsMin / 1000, b.faultMsMax / 1000) * 1000;
    const durationMs = kind === 'crash' ? b.crashRestartMs : drawnMs;
    const gapMs = rng.int(b.gapMsMin / 1000, b.gapMsMax / 1000) * 1000;
    const fault = drawOne(rng, out.length + 1, kind, atMs, durationMs, nodes, seed);
    if (atMs + durationMs > endMs) break;
    out.push(fault);
    atMs += durationMs + gapMs;
  }
  return out;
}

function drawOne(rng: Rng, id: number, kind: FaultKind, atMs: number, durationMs: number, nodes: number, seed: number): PlannedFault {
  const b = scheduleBounds;
  const sideMax = smallSideMax(nodes);
  let role: FaultRole = rng.chance(0.5) ? 'leader' : 'worker';
  let smallSide = 1;
  if (kind === 'partition-minority') {
    role = 'any';
    smallSide = rng.int(1, sideMax);
  } else if (kind === 'partition-majority') {
    role = 'leader';
    smallSide = rng.int(1, sideMax);
  }
  const picks = [rng.next(), rng.next()];
  const lossFraction = kind === 'loss' ? Math.round(rng.float(b.lossFractionMin, b.lossFractionMax) * 100) / 100 : 0;
  return { id, kind, role, atMs, durationMs, smallSide, picks, lossFraction, lossSeed: deriveSeed(seed, `chaos-loss-${id}`) };
}

/** The cluster as seen when a fault is injected. */
export interface LiveView {
  /** Every node's name, in a stable order. */
  readonly names: readonly string[];
  /** The leader's name, or null when none was found. */
  readonly leader: string | null;
  /** Channels each node runs as their active worker (absent: none). */
  readonly channelsByNode: ReadonlyMap<string, number>;
}

export interface Aim {
  readonly nodes: readonly string[];
  /** Why these nodes, for the fault's detail. */
  readonly why: string;
}

/** The nodes a planned fault hits, from the live view and the fault's own draws. Deterministic.
 *  - leader role: the leader (no leader found: a node by draw, said so);
 *  - worker role: a non-leader that runs channels (none: the leader if it runs them all, else
 *    any non-leader);
 *  - minority: `smallSide` non-leaders; majority: the leader and `smallSide - 1` non-leaders. */
export function chooseNodes(fault: PlannedFault, view: LiveView): Aim {
  const nonLeaders = view.names.filter((n) => n !== view.leader);
  const pickFrom = (from: readonly string[], count: number): string[] => {
    const left = [...from];
    const got: string[] = [];
    for (let i = 0; i < count && left.length > 0; i++) got.push(left.splice(Math.floor(fault.picks[i % fault.picks.length]! * left.length), 1)[0]!);
    return got;
  };
  const noLeader = view.leader === null ? ' (no leader found: a node by draw)' : '';
  switch (fault.kind) {
    case 'partition-minority':
      return { nodes: pickFrom(nonLeaders, fault.smallSide), why: `${fault.smallSide} non-leader node(s) cut from the rest${noLeader}` };
    case 'partition-majority': {
      const leader = view.leader ?? pickFrom(view.names, 1)[0]!;
      const others = pickFrom(view.names.filter((n) => n !== leader), fault.smallSide - 1);
      return { nodes: [leader, ...others], why: `the leader${others.length > 0 ? ' and one other' : ''} cut from the majority${noLeader}` };
    }
    default:
      break;
  }
  if (fault.role === 'leader') {
    if (view.leader !== null) return { nodes: [view.leader], why: 'the leader' };
    return { nodes: pickFrom(view.names, 1), why: `the leader${noLeader}` };
  }
  const runsChannels = (n: string): boolean => (view.channelsByNode.get(n) ?? 0) > 0;
  const workers = nonLeaders.filter(runsChannels);
  if (workers.length > 0) return { nodes: pickFrom(workers, 1), why: 'a worker running channels (not the leader)' };
  if (view.leader !== null && runsChannels(view.leader)) return { nodes: [view.leader], why: 'the only worker running channels (the leader)' };
  return { nodes: pickFrom(nonLeaders, 1), why: 'a non-leader (no worker running channels found)' };
}

export interface LinkCut {
  readonly startMs: number;
  readonly lengthMs: number;
}

/** Emulated packet loss (no netem here): short cuts of a link, 50-300 ms each, spread so they
 *  cover about `fraction` of `durationMs`. In order, never overlapping, within the duration. */
export function lossPattern(seed: number, durationMs: number, fraction: number): LinkCut[] {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`loss fraction must be between 0 and 1, not ${fraction}`);
  const b = scheduleBounds;
  const rng = new Rng(seed);
  const meanCutMs = (b.lossCutMsMin + b.lossCutMsMax) / 2;
  const meanGapMs = (meanCutMs * (1 - fraction)) / fraction;
  const cuts: LinkCut[] = [];
  let t = 0;
  for (;;) {
    t += Math.round(rng.float(0.5, 1.5) * meanGapMs);
    const lengthMs = rng.int(b.lossCutMsMin, b.lossCutMsMax);
    if (t + lengthMs > durationMs) return cuts;
    cuts.push({ startMs: t, lengthMs });
    t += lengthMs;
  }
}
