// rebalance(): moves copies off nodes that are past a ceiling, at most `budget` moves, the move
// that helps most first. It starts from place()'s plan (failovers and new streams are not
// counted against the budget) and never flaps:
// - it moves only copies on an overloaded node (pressure above 1: past its cpu or memory
//   ceiling or its stream limit, the tightest among the streams there);
// - a target must take the copy within every ceiling (the feasibility filters), so it is not
//   overloaded afterwards and nothing is moved back off it while the load stays as measured;
// - a move must lower the pressure of the worse of source and target below the source's by at
//   least rebalanceMarginPressure, so tiny copies are not shuffled for nothing.
// Stickiness does not hold a copy on an overloaded node: relieving the overload comes first.
import type { CopyId } from './cluster.ts';
import type { ClusterLoad } from './cluster.ts';
import { runPlacement, toPlan } from './place.ts';
import type { PlacementRun } from './place.ts';
import { bestNode } from './score.ts';
import type { Move, Plan, PlacementInput } from './types.ts';

/** A move must improve the worse node by this much of a ceiling (0.05: 5 % of it). */
export const rebalanceMarginPressure = 0.05;
/** Only this many of the most overloaded nodes are searched per move (bounds the work to
 *  nodesSearched x their copies x the cluster's nodes). */
export const rebalanceNodesSearchedMax = 32;
/** Slack over 1 before a node counts as overloaded (float sums). */
const overloadEpsilon = 1e-9;

export interface RebalanceResult {
  /** place()'s plan with the rebalancing moves applied. */
  readonly plan: Plan;
  /** The rebalancing moves only ('move' and 'standby-move'), in the order chosen. */
  readonly moves: readonly Move[];
}

interface Candidate {
  readonly copy: CopyId;
  readonly from: number;
  readonly to: number;
  readonly gain: number;
  readonly priority: number;
  readonly streamId: string;
}

/** Reads `input`, never changes it. `budget` (>= 0) is the most moves to return; the seed breaks
 *  ties as in place(). */
export function rebalance(input: PlacementInput, budget: number, seed: number): RebalanceResult {
  const run = runPlacement(input, seed);
  const moves: Move[] = [];
  for (let step = 0; step < budget; step++) {
    const best = bestMove(run);
    if (best === null) break;
    const { load } = run;
    const why = `rebalance: ${overloadText(load, best.from)}`;
    load.remove(best.copy);
    load.add(best.copy, best.to);
    const draft = run.drafts[best.copy >> 1]!;
    const standby = (best.copy & 1) === 1;
    if (!standby) draft.status = 'moved';
    draft.whys.push(`${why}; ${standby ? 'standby ' : ''}moved to ${load.nodes[best.to]!.id}`);
    moves.push({ streamId: best.streamId, kind: standby ? 'standby-move' : 'move', from: load.nodes[best.from]!.id, to: load.nodes[best.to]!.id, why });
  }
  return { plan: toPlan(run), moves };
}

/** The move with the largest gain off the most overloaded nodes, or null when none gains enough.
 *  Ties: the lower-priority stream, then a standby before an active copy, then by stream id. */
function bestMove(run: PlacementRun): Candidate | null {
  const { load, eligibility } = run;
  const overloaded: number[] = [];
  for (let i = 0; i < load.nodes.length; i++) if (load.pressure(i) > 1 + overloadEpsilon) overloaded.push(i);
  overloaded.sort((a, b) => load.pressure(b) - load.pressure(a) || a - b);
  let best: Candidate | null = null;
  for (const from of overloaded.slice(0, rebalanceNodesSearchedMax)) {
    const before = load.pressure(from);
    for (const copy of [...load.copies[from]!]) {
      const d = load.demands[copy >> 1]!;
      const other = load.nodeOfCopy[copy ^ 1]!;
      // The source is past a ceiling, so the filters reject it as a target.
      const to = bestNode(load, eligibility.of(d.stream), d, other, -1);
      if (to < 0) continue;
      load.remove(copy);
      const sourceAfter = load.pressure(from);
      load.add(copy, to);
      const targetAfter = load.pressure(to);
      load.remove(copy);
      load.add(copy, from);
      const gain = before - Math.max(sourceAfter, targetAfter);
      if (gain < rebalanceMarginPressure) continue;
      const c: Candidate = { copy, from, to, gain, priority: d.stream.priority, streamId: d.stream.id };
      if (best === null || better(c, best)) best = c;
    }
  }
  return best;
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.gain !== b.gain) return a.gain > b.gain;
  if (a.priority !== b.priority) return a.priority < b.priority;
  if ((a.copy & 1) !== (b.copy & 1)) return (a.copy & 1) === 1;
  return a.streamId < b.streamId;
}

function overloadText(load: ClusterLoad, i: number): string {
  const id = load.nodes[i]!.id;
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const cpu = load.cpuPct[i]! / Math.min(100, load.cpuCeilPct[i]!);
  const mem = load.memPct[i]! / Math.min(100, load.memCeilPct[i]!);
  if (cpu >= mem && cpu > 1) return `node ${id} is at ${pct(cpu)} of its cpu ceiling`;
  if (mem > 1) return `node ${id} is at ${pct(mem)} of its memory ceiling`;
  return `node ${id} holds ${load.count[i]} streams, over its limit of ${load.maxStreams[i]}`;
}
