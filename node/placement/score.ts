// Ranking (Nomad's second phase): among the nodes that can take a copy, which one. In order:
// 1. group rank: with policy groups, the node's first listed group (earlier wins); without,
//    the node's highest group priority (higher wins). It decides before anything else, so a
//    later group is used only when no node of an earlier one can take the copy;
// 2. fit: headroom after placement, the smaller of cpu and memory left in % of the machine,
//    times the node's weight; spread takes the most headroom, binpack the least (the fullest
//    node that still fits); plus the stickiness bonus on the node the copy runs on now;
// 3. a seeded tie-break rank per node (prng.ts), so equal nodes are not always taken in id order
//    yet a seed always gives the same plan.
import type { ClusterLoad, Demand } from './cluster.ts';
import type { EligibleSet } from './eligible.ts';
import { capacityCode } from './feasibility.ts';
import type { GroupView, NodeView } from './types.ts';

/** Lower is preferred. With policy groups: the index of the node's first listed group (the node
 *  is in one: feasibility saw to it). Without: minus the highest priority among its groups
 *  (unknown groups and a node in none count 0). */
export function groupRank(node: NodeView, policyGroups: readonly string[], groups: Readonly<Record<string, GroupView>>): number {
  if (policyGroups.length > 0) {
    const first = policyGroups.findIndex((g) => node.groups.includes(g));
    return first < 0 ? policyGroups.length : first;
  }
  let best = node.groups.length === 0 ? 0 : -Infinity;
  for (const g of node.groups) best = Math.max(best, groups[g]?.priority ?? 0);
  return 0 - best; // not -best: a node in no group ranks +0, not -0
}

/** Node i's fit for one more copy of d (higher is better), assuming it fits. `stickyNode` is the
 *  node the copy runs on now (-1: none): it gets stickiness x 100 points of headroom more, so a
 *  running copy moves only for a larger gain. */
export function fitScore(load: ClusterLoad, i: number, d: Demand, stickyNode: number): number {
  const cpuLeft = 100 - (load.cpuPct[i]! + d.cpuPct / load.cores[i]!);
  const memLeft = 100 - (load.memPct[i]! + d.memBytes * load.memPctPerByte[i]!);
  const headroom = cpuLeft < memLeft ? cpuLeft : memLeft;
  const weight = load.weight[i]!;
  const fit = weight * (d.spread ? headroom : 100 - headroom);
  return i === stickyNode ? fit + d.stickiness * 100 * weight : fit;
}

/** The best node of `set` for a copy of d, or -1 when none can take it. `exclude` (the other
 *  copy's node) is skipped; `stickyNode` as in fitScore. Allocation-free: one pass over the
 *  set, stopping once a feasible node is found and the group rank gets worse. */
export function bestNode(load: ClusterLoad, set: EligibleSet, d: Demand, exclude: number, stickyNode: number): number {
  const { nodes, ranks } = set;
  const tieBreak = load.tieBreak;
  let best = -1;
  let bestRank = Infinity;
  let bestFit = -Infinity;
  for (let k = 0; k < nodes.length; k++) {
    const rank = ranks[k]!;
    if (rank > bestRank) break;
    const i = nodes[k]!;
    if (i === exclude || capacityCode(load, i, d) >= 0) continue;
    const fit = fitScore(load, i, d, stickyNode);
    if (best < 0 || fit > bestFit || (fit === bestFit && tieBreak[i]! < tieBreak[best]!)) {
      best = i;
      bestRank = rank;
      bestFit = fit;
    }
  }
  return best;
}
