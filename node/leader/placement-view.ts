// From the replicated state and gossip to placement's input (node/placement), and back to the
// one question the stream decisions ask: "which node for this stream, not one of these?". Pure.
import type { HostFigures, StreamFigures } from '../gossip/report.ts';
import { place, resolvePolicy } from '../placement/index.ts';
import type { NodeView, Plan, PlacementInput, StreamCost, StreamDemand, StreamPlacement } from '../placement/index.ts';
import { defaultNodeAdmin, serviceOf } from '../state/index.ts';
import type { ClusterState, NodeId, Policy, Profile, StreamRecord } from '../state/index.ts';

/** What gossip says about one member. */
export interface MemberFigures {
  readonly health: 'alive' | 'suspect' | 'down';
  /** Null until a report arrived. */
  readonly host: HostFigures | null;
  readonly streams: readonly StreamFigures[];
}

/** Cost of a stream before it ever ran, from ../shared/NOTES.md: a copy remux about 0.4 % of a
 *  core and 22 MB; a 480p libx264 veryfast transcode about 37 % (scaled by pixels here). */
export function estimatedCost(profile: Profile): StreamCost {
  if (profile === 'copy') return { cpuPct: 1, memBytes: 32 * 1024 * 1024 };
  const scale = (profile.height / 480) ** 2;
  return { cpuPct: Math.max(10, 40 * scale), memBytes: Math.round((80 + 60 * scale) * 1024 * 1024) };
}

export function streamPolicy(state: ClusterState, stream: StreamRecord): Policy {
  return resolvePolicy(state.policy, serviceOf(state, stream)?.policy ?? null, stream.policy);
}

/** Placement's view of the cluster: every member with its admin state and measured load, every
 *  enabled stream with its policy, pin, where it runs and what it costs there. */
export function placementInput(state: ClusterState, members: (id: NodeId) => MemberFigures): PlacementInput {
  const figuresOf = new Map<string, StreamFigures>();
  const nodes: NodeView[] = Object.values(state.nodes).map((node) => {
    const m = members(node.id);
    for (const f of m.streams) figuresOf.set(`${node.id}/${f.id}`, f);
    const admin = Object.hasOwn(state.nodeAdmin, node.id) ? state.nodeAdmin[node.id]! : defaultNodeAdmin;
    return {
      id: node.id, enabled: node.enabled, draining: admin.draining, health: m.health, groups: node.groups, weight: admin.weight,
      cores: m.host?.cores ?? 1, cpuPct: m.host?.cpuPct ?? 0, memTotalBytes: m.host?.memTotalBytes ?? 0, memPct: m.host?.memPct ?? 0,
      streams: m.streams.length,
    };
  });
  const streams: StreamDemand[] = Object.values(state.streams).filter((s) => s.enabled).map((s) => {
    const a = Object.hasOwn(state.assignments, s.id) ? state.assignments[s.id]! : null;
    const measured = a === null ? undefined : figuresOf.get(`${a.nodeId}/${s.id}`);
    const estimate = estimatedCost(s.profile);
    const cost = measured?.cpuPct === undefined ? estimate : { cpuPct: measured.cpuPct, memBytes: measured.memBytes ?? estimate.memBytes };
    const policy = streamPolicy(state, s);
    return {
      id: s.id, priority: s.priority, cost, policy, pinGroup: s.pinGroup, pinNode: s.pinNode,
      // A move's starting target is not a standby: placement would drop it when hotStandby is off.
      currentNode: a?.nodeId ?? null, standbyNode: policy.hotStandby ? a?.next?.nodeId ?? null : null,
    };
  });
  const groups = Object.fromEntries(Object.values(state.groups).map((g) => [g.name, { priority: g.priority }]));
  return { nodes, streams, groups };
}

/** One plan's placements by stream id. */
export function placementsById(plan: Plan): ReadonlyMap<string, StreamPlacement> {
  return new Map(plan.streams.map((p) => [p.streamId, p]));
}

/** choose() for the stream decisions, from one plan's placements: the plan's node for the
 *  stream, else its standby node, whichever `exclude` allows. */
export function chooserFrom(byId: ReadonlyMap<string, StreamPlacement>): (stream: StreamRecord, exclude: ReadonlySet<NodeId>) => NodeId | null {
  return (stream, exclude) => {
    const p = byId.get(stream.id);
    if (p === undefined) return null;
    if (p.nodeId !== null && !exclude.has(p.nodeId)) return p.nodeId;
    if (p.standbyNodeId !== null && !exclude.has(p.standbyNodeId)) return p.standbyNodeId;
    return null;
  };
}

/** One plan for the round: deterministic for the round's seed. */
export function planRound(state: ClusterState, members: (id: NodeId) => MemberFigures, seed: number): Plan {
  return place(placementInput(state, members), seed);
}
