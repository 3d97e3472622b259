// Builders for placement tests: nodes and streams with defaults a test overrides, and seeded
// random clusters for the property tests.
import { resolvePolicy, seededRandom } from '../../node/placement/index.ts';
import type { NodeView, PlacementInput, Plan, StreamDemand } from '../../node/placement/index.ts';
import type { PolicyOverride } from '../../node/state/stream-types.ts';

export const gib = 2 ** 30;

/** An alive, enabled node of 1 core and 1 GiB, idle: a stream of 10 % of a core adds 10 %. */
export function node(id: string, over: Partial<NodeView> = {}): NodeView {
  return { id, enabled: true, draining: false, health: 'alive', groups: [], weight: 1, cores: 1, cpuPct: 0, memTotalBytes: gib, memPct: 0, streams: 0, ...over };
}

/** A stream of 10 % of a core and 1 % of a GiB, default policy, unplaced. */
export function stream(id: string, over: Partial<Omit<StreamDemand, 'policy'>> & { policy?: PolicyOverride } = {}): StreamDemand {
  const { policy, ...rest } = over;
  return { id, priority: 0, cost: { cpuPct: 10, memBytes: gib / 100 }, policy: resolvePolicy({}, null, policy ?? {}), pinGroup: null, pinNode: null, currentNode: null, standbyNode: null, ...rest };
}

export function input(nodes: NodeView[], streams: StreamDemand[], groups: PlacementInput['groups'] = {}): PlacementInput {
  return { nodes, streams, groups };
}

/** Where the plan puts each stream: streamId -> [active, standby]. */
export function where(plan: Plan): Record<string, [string | null, string | null]> {
  return Object.fromEntries(plan.streams.map((s) => [s.streamId, [s.nodeId, s.standbyNodeId]]));
}

/** The cluster as it runs after `plan`: copies on their nodes, measured figures including them. */
export function runningAfter(before: PlacementInput, plan: Plan): PlacementInput {
  const byStream = new Map(plan.streams.map((s) => [s.streamId, s]));
  const loads = new Map(plan.nodes.map((n) => [n.nodeId, n]));
  return {
    groups: before.groups,
    nodes: before.nodes.map((n) => {
      const l = loads.get(n.id)!;
      return { ...n, cpuPct: l.cpuPct, memPct: l.memPct, streams: l.streams };
    }),
    streams: before.streams.map((s) => ({ ...s, currentNode: byStream.get(s.id)!.nodeId, standbyNode: byStream.get(s.id)!.standbyNodeId })),
  };
}

/** A small random cluster from `seed`: mixed health and admin state, groups, pins, policies
 *  (ceilings, limits, strategies, standbys) and some streams already running (consistently:
 *  a node's measured figures include the copies said to run on it). */
export function randomCluster(seed: number): PlacementInput {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const groupNames = ['a', 'b', 'c'];
  const nodes: NodeView[] = Array.from({ length: 1 + int(12) }, (_, i) => node(`n${i}`, {
    health: pick(['alive', 'alive', 'alive', 'alive', 'suspect', 'down'] as const),
    enabled: random() > 0.1, draining: random() < 0.1,
    groups: groupNames.filter(() => random() < 0.4),
    weight: pick([1, 1, 1, 0.5, 2]),
    cores: pick([1, 2, 4]),
    cpuPct: random() * 40, memPct: random() * 40, memTotalBytes: pick([1, 2]) * gib,
  }));
  const policies: PolicyOverride[] = [{}, { strategy: 'binpack' }, { cpuCeilPct: 60 }, { memCeilPct: 50 }, { maxStreamsPerNode: 2 }, { hotStandby: true }, { groups: ['b', 'a'] }, { hotStandby: true, strategy: 'binpack', cpuCeilPct: 95 }];
  const streams: StreamDemand[] = Array.from({ length: int(40) }, (_, i) => {
    const current = random() < 0.4 ? pick(nodes).id : null;
    const standby = current !== null && random() < 0.3 ? pick(nodes).id : null;
    return stream(`s${String(i).padStart(2, '0')}`, {
      priority: int(3),
      cost: { cpuPct: 1 + random() * 60, memBytes: random() * 0.2 * gib },
      policy: pick(policies),
      pinGroup: random() < 0.15 ? pick(groupNames) : null,
      pinNode: random() < 0.05 ? pick(nodes).id : null,
      currentNode: current, standbyNode: standby,
    });
  });
  // Measured figures include what runs there.
  const measured = nodes.map((n) => {
    let { cpuPct, memPct, streams: count } = n;
    for (const s of streams) {
      for (const at of [s.currentNode, s.standbyNode]) {
        if (at !== n.id) continue;
        cpuPct += s.cost.cpuPct / n.cores;
        memPct += (s.cost.memBytes / n.memTotalBytes) * 100;
        count++;
      }
    }
    return { ...n, cpuPct, memPct, streams: count };
  });
  return { nodes: measured, streams, groups: { a: { priority: int(5) }, b: { priority: int(5) }, c: { priority: 0 } } };
}
