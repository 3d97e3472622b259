// `npm run bench -- placement [--json] [--runs N] [--seed S] [--streams N] [--nodes N]`
// The pure placement engine (node/placement) on a seeded synthetic cluster: by default 10,000
// streams (80 % copy remuxes, 20 % transcodes, a tenth pinned to a group, a fifth binpack) onto
// 1,000 nodes (4-16 cores, 16-64 GiB, some background load, a tenth of weight 2; groups "core"
// (preferred, 80 %) and "edge" (taken by the pinned streams)).
//   1. placements per second: place() of every stream onto the empty cluster, N timed runs after
//      two warm-ups, median (one run = one whole plan, so the figure includes building the view's
//      working copy and the eligible sets);
//   2. re-placement after a node failure: the plan of (1) becomes the running assignments (the
//      nodes' measured load includes their streams), the node holding closest to 10 streams goes
//      down, and place() runs again: ms for the whole new plan, median of N; the moves are checked
//      to be exactly that node's streams.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { currentAssignments, diff, place, resolvePolicy, seededRandom } from '../../node/placement/index.ts';
import type { NodeView, PlacementInput, Plan, StreamDemand } from '../../node/placement/index.ts';
import { machine, printTable, refuse, round } from './stats.ts';

const warmupRuns = 2;
const gib = 2 ** 30;
const mib = 2 ** 20;

/** A seeded cluster of `nodeCount` nodes and `streamCount` unplaced streams. */
export function syntheticCluster(seed: number, streamCount: number, nodeCount: number): PlacementInput {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const nodes: NodeView[] = Array.from({ length: nodeCount }, (_, i) => ({
    id: `node-${String(i).padStart(4, '0')}`,
    enabled: true, draining: false, health: 'alive',
    groups: [random() < 0.2 ? 'edge' : 'core'],
    weight: random() < 0.1 ? 2 : 1,
    cores: pick([4, 8, 8, 16]),
    cpuPct: 2 + random() * 10,
    memTotalBytes: pick([16, 32, 64]) * gib,
    memPct: 5 + random() * 15,
    streams: 0,
  }));
  const spread = resolvePolicy({});
  const binpack = resolvePolicy({}, { strategy: 'binpack' });
  const streams: StreamDemand[] = Array.from({ length: streamCount }, (_, i) => {
    const transcode = random() < 0.2;
    return {
      id: `stream-${String(i).padStart(5, '0')}`,
      priority: Math.floor(random() * 4),
      cost: transcode ? { cpuPct: 60 + random() * 120, memBytes: (200 + random() * 200) * mib } : { cpuPct: 2 + random() * 4, memBytes: (40 + random() * 80) * mib },
      policy: random() < 0.2 ? binpack : spread,
      pinGroup: random() < 0.1 ? 'edge' : null,
      pinNode: null,
      currentNode: null,
    };
  });
  return { nodes, streams, groups: { edge: { priority: 0 }, core: { priority: 5 } } };
}

/** The cluster as it runs after `plan`: streams on their nodes, the nodes' measured figures
 *  including them. */
export function runningAfter(input: PlacementInput, plan: Plan): PlacementInput {
  const byStream = new Map(plan.streams.map((s) => [s.streamId, s]));
  const loads = new Map(plan.nodes.map((n) => [n.nodeId, n]));
  return {
    groups: input.groups,
    nodes: input.nodes.map((n) => {
      const l = loads.get(n.id)!;
      return { ...n, cpuPct: l.cpuPct, memPct: l.memPct, streams: l.streams };
    }),
    streams: input.streams.map((s) => {
      const p = byStream.get(s.id)!;
      return { ...s, currentNode: p.nodeId, standbyNode: p.standbyNodeId };
    }),
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function timed<T>(f: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = f();
  return { value, ms: performance.now() - t };
}

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({ args: [...args], options: {
    json: { type: 'boolean', default: false }, runs: { type: 'string', default: '7' }, seed: { type: 'string', default: '1' },
    streams: { type: 'string', default: '10000' }, nodes: { type: 'string', default: '1000' },
  } });
  const [runs, seed, streamCount, nodeCount] = [Number(values.runs), Number(values.seed), Number(values.streams), Number(values.nodes)];
  if (![runs, streamCount, nodeCount].every((x) => Number.isInteger(x) && x >= 1) || !Number.isInteger(seed)) {
    refuse('placement', '--runs, --streams and --nodes must be whole numbers >= 1, --seed a whole number');
    return;
  }
  const input = syntheticCluster(seed, streamCount, nodeCount);

  const placeMs: number[] = [];
  let plan: Plan | null = null;
  for (let r = 0; r < warmupRuns + runs; r++) {
    const { value, ms } = timed(() => place(input, seed));
    if (r >= warmupRuns) placeMs.push(ms);
    plan = value;
  }
  const placed = plan!.streams.length - plan!.unplaced;

  const running = runningAfter(input, plan!);
  const victim = [...plan!.nodes].sort((a, b) => Math.abs(a.streams - 10) - Math.abs(b.streams - 10) || (a.nodeId < b.nodeId ? -1 : 1))[0]!;
  const failed: PlacementInput = { ...running, nodes: running.nodes.map((n) => (n.id === victim.nodeId ? { ...n, health: 'down' } : n)) };
  const replaceMs: number[] = [];
  let moves = 0;
  for (let r = 0; r < warmupRuns + runs; r++) {
    const { value, ms } = timed(() => place(failed, seed));
    if (r < warmupRuns) continue;
    replaceMs.push(ms);
    const changes = diff(currentAssignments(failed), value);
    if (changes.some((m) => m.from !== victim.nodeId)) throw new Error('placement bench: a stream not on the failed node moved');
    moves = changes.length;
  }
  if (moves !== victim.streams) throw new Error(`placement bench: ${moves} moves for ${victim.streams} streams on the failed node`);

  const placeMedianMs = median(placeMs);
  const result = {
    streams: streamCount, nodes: nodeCount, seed, runs,
    placements_per_s: round((placed / placeMedianMs) * 1000, 0),
    place_ms: round(placeMedianMs, 1), placed, unplaced: plan!.unplaced,
    replace_ms: round(median(replaceMs), 2), replace_moved: moves,
  };
  printTable([`placement: ${streamCount} streams onto ${nodeCount} nodes (seed ${seed}), median of ${runs} runs; ${machine()}`], [
    ['figure', 'value'],
    ['placements per second', String(result.placements_per_s)],
    ['one whole plan', `${result.place_ms} ms (${placed} placed, ${plan!.unplaced} unplaced)`],
    [`re-placement after ${victim.nodeId} fails`, `${result.replace_ms} ms (${moves} streams moved, the rest kept)`],
  ]);
  if (values.json) console.log(JSON.stringify(result));
}

// Runnable alone too: `node scripts/bench/placement.ts [--json]`.
if (process.argv[1] === fileURLToPath(import.meta.url)) await run(process.argv.slice(2));
