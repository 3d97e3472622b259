// Feasibility (Nomad's first phase): filters that say whether a node can take a copy of a
// stream at all, each rejection with its reason. Two kinds:
// - static, the same for every stream of a kind during one run (health, admin state, pins,
//   groups): computed once per kind of stream into an EligibleSet (eligible.ts);
// - capacity, which changes as copies are placed (streams per node, cpu, memory): checked per
//   node in the hot loop by capacityCode(), which allocates nothing; the message is built only
//   when someone asks (capacityRejection).
import type { ClusterLoad, Demand } from './cluster.ts';
import type { NodeView, Rejection, ReasonCode, StreamDemand } from './types.ts';
import { reasonCodes } from './types.ts';

/** Slack for float sums: a node exactly at its ceiling is still within it. */
const ceilingEpsilonPct = 1e-9;

/** Health and admin state: the node runs nothing new at all. */
export function stateRejection(node: NodeView): Rejection | null {
  if (node.health === 'down') return { code: 'down', message: `node ${node.id} is down (no telemetry)` };
  if (node.health === 'suspect') return { code: 'suspect', message: `node ${node.id} is suspect (its recent reports are missing)` };
  if (!node.enabled) return { code: 'disabled', message: `node ${node.id} is disabled by an operator` };
  if (node.draining) return { code: 'draining', message: `node ${node.id} is draining` };
  return null;
}

/** Pins and the policy's groups: the node is not one this stream may use. */
export function eligibilityRejection(node: NodeView, stream: StreamDemand): Rejection | null {
  if (stream.pinNode !== null && stream.pinNode !== node.id) return { code: 'pinned', message: `the stream is pinned to node ${stream.pinNode}` };
  if (stream.pinGroup !== null && !node.groups.includes(stream.pinGroup)) {
    return { code: 'pinned', message: `the stream is pinned to group ${stream.pinGroup}, which node ${node.id} is not in` };
  }
  const groups = stream.policy.groups;
  if (groups.length > 0 && !groups.some((g) => node.groups.includes(g))) {
    return { code: 'group', message: `node ${node.id} is in none of the policy's groups (${groups.join(', ')})` };
  }
  return null;
}

/** Capacity check of node i for one more copy of d: -1 if it fits, else the index in
 *  reasonCodes of the first limit it breaks. Allocation-free: this is the hot loop's filter. */
export function capacityCode(load: ClusterLoad, i: number, d: Demand): number {
  if (load.count[i]! >= Math.min(d.maxStreams, load.maxStreams[i]!)) return maxStreamsCode;
  if (load.cpuPct[i]! + d.cpuPct / load.cores[i]! > Math.min(d.cpuCeilPct, load.cpuCeilPct[i]!) + ceilingEpsilonPct) return cpuCode;
  if (load.memPct[i]! + d.memBytes * load.memPctPerByte[i]! > Math.min(d.memCeilPct, load.memCeilPct[i]!) + ceilingEpsilonPct) return memoryCode;
  return -1;
}

const maxStreamsCode = reasonCodes.indexOf('max-streams');
const cpuCode = reasonCodes.indexOf('cpu');
const memoryCode = reasonCodes.indexOf('memory');

/** capacityCode with the figures, for explain and for unplaced streams. */
export function capacityRejection(load: ClusterLoad, i: number, d: Demand): Rejection | null {
  const code = capacityCode(load, i, d);
  if (code < 0) return null;
  const id = load.nodes[i]!.id;
  const f = (x: number): string => x.toFixed(1);
  switch (reasonCodes[code]) {
    case 'max-streams': return { code: 'max-streams', message: `node ${id} holds ${load.count[i]} streams, the most allowed there is ${Math.min(d.maxStreams, load.maxStreams[i]!)}` };
    case 'cpu': {
      const after = load.cpuPct[i]! + d.cpuPct / load.cores[i]!;
      return { code: 'cpu', message: `cpu of node ${id} would reach ${f(after)}%, over the ceiling of ${f(Math.min(d.cpuCeilPct, load.cpuCeilPct[i]!))}%` };
    }
    default: {
      const after = load.memPct[i]! + d.memBytes * load.memPctPerByte[i]!;
      return { code: 'memory', message: `memory of node ${id} would reach ${f(after)}%, over the ceiling of ${f(Math.min(d.memCeilPct, load.memCeilPct[i]!))}%` };
    }
  }
}

/** Every filter in order, for one node and one copy; `otherCopyNode` is the node (index) of the
 *  stream's other copy, which this one may not share (-1: none). */
export function rejection(load: ClusterLoad, i: number, d: Demand, otherCopyNode: number): Rejection | null {
  const node = load.nodes[i]!;
  const fixed = stateRejection(node) ?? eligibilityRejection(node, d.stream);
  if (fixed !== null) return fixed;
  if (i === otherCopyNode) return { code: 'other-copy', message: `node ${node.id} runs the stream's other copy (standby and active must differ)` };
  return capacityRejection(load, i, d);
}

/** How many nodes each filter rejects: the summary an unplaced stream carries. */
export function rejectionCounts(load: ClusterLoad, d: Demand, otherCopyNode: number): Partial<Record<ReasonCode, number>> {
  const counts: Partial<Record<ReasonCode, number>> = {};
  for (let i = 0; i < load.nodes.length; i++) {
    const r = rejection(load, i, d, otherCopyNode);
    if (r !== null) counts[r.code] = (counts[r.code] ?? 0) + 1;
  }
  return counts;
}
