// explain(): every node's answer for one stream, for GET /api/v1/placement/explain and for
// people reading a plan. It places everything as place() does, takes this stream's active copy
// out of the result, and asks each node whether it could take that copy now and how it scores.
// So it also shows where a kept stream could go; a kept copy stays on its node even when the
// node is now past a ceiling (moving it is rebalance()'s call, within its budget).
import { rejection } from './feasibility.ts';
import { runPlacement, toPlan } from './place.ts';
import { fitScore, groupRank } from './score.ts';
import type { Explanation, NodeExplanation, PlacementInput } from './types.ts';

/** null when `streamId` is not among input.streams. Reads `input`, never changes it. */
export function explain(input: PlacementInput, streamId: string, seed: number): Explanation | null {
  const run = runPlacement(input, seed);
  const { load } = run;
  const d = load.demands.find((x) => x.stream.id === streamId);
  if (d === undefined) return null;
  const planned = toPlan(run).streams.find((s) => s.streamId === streamId)!;
  const active = load.nodeOfCopy[2 * d.index]!;
  load.remove(2 * d.index);
  const standby = load.nodeOfCopy[2 * d.index + 1]!;
  const nodes: NodeExplanation[] = load.nodes.map((node, i) => {
    const reason = rejection(load, i, d, standby);
    if (reason !== null) return { nodeId: node.id, feasible: false, reason };
    return { nodeId: node.id, feasible: true, score: fitScore(load, i, d, active), groupRank: groupRank(node, d.stream.policy.groups, input.groups) };
  });
  nodes.sort((a, b) => {
    if (a.feasible !== b.feasible) return a.feasible ? -1 : 1;
    if (a.feasible) {
      const byRank = a.groupRank! - b.groupRank! || b.score! - a.score! || load.tieBreak[load.indexOf.get(a.nodeId)!]! - load.tieBreak[load.indexOf.get(b.nodeId)!]!;
      if (byRank !== 0) return byRank;
    }
    return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
  });
  return { streamId, nodeId: planned.nodeId, standbyNodeId: planned.standbyNodeId, status: planned.status, nodes };
}
