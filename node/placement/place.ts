// place(): every stream gets a node or stays unplaced with the reasons. Three passes over the
// streams, in placement order (priority descending, then id):
// 1. keep: a copy stays on the node it runs on while that node passes the static filters
//    (alive, enabled, not draining, pins, groups), whatever the load: overload is rebalance()'s
//    job, within its budget. So placing again with a plan's result as the current assignments
//    moves nothing. An active copy whose node fails them is replaced by its standby (promoted);
//    a standby is kept only while policy.hotStandby is on;
// 2. active copies that have no node, in placement order (higher priority first: when capacity
//    is short the lower ones stay unplaced). Running copies are never displaced for them;
// 3. standbys wanted (policy.hotStandby) and missing, on a node other than the active copy's,
//    after every active copy: a standby never takes capacity an active copy needs.
import { ClusterLoad } from './cluster.ts';
import type { Demand } from './cluster.ts';
import { Eligibility } from './eligible.ts';
import { eligibilityRejection, rejectionCounts, stateRejection } from './feasibility.ts';
import { bestNode } from './score.ts';
import type { NodeLoad, Plan, PlacementInput, PlacementStatus, ReasonCode, StreamPlacement } from './types.ts';

/** A stream's placement while a run builds it. */
export interface Draft {
  status: PlacementStatus;
  whys: string[];
  rejected: Partial<Record<ReasonCode, number>> | null;
}

/** A run's working state: explain() and rebalance() continue from it. */
export interface PlacementRun {
  readonly load: ClusterLoad;
  readonly eligibility: Eligibility;
  /** Demand indices in placement order. */
  readonly order: readonly number[];
  /** By demand index. */
  readonly drafts: Draft[];
  readonly seed: number;
}

/** Places every stream of `input` (see the file comment). Deterministic: the same input and seed
 *  give the same plan, whatever the order of input.nodes. Does not throw on any input it was
 *  given by the type; reads `input` and never changes it. */
export function place(input: PlacementInput, seed: number): Plan {
  return toPlan(runPlacement(input, seed));
}

export function runPlacement(input: PlacementInput, seed: number): PlacementRun {
  const load = new ClusterLoad(input, seed);
  const eligibility = new Eligibility(load, input.groups);
  const order = load.order;
  const drafts: Draft[] = load.demands.map(() => ({ status: 'kept', whys: [], rejected: null }));
  for (const k of order) keep(load, load.demands[k]!, drafts[k]!);
  for (const k of order) {
    if (load.nodeOfCopy[2 * k]! >= 0) continue;
    const d = load.demands[k]!;
    const i = bestNode(load, eligibility.of(d.stream), d, -1, -1);
    const draft = drafts[k]!;
    if (i >= 0) {
      load.add(2 * k, i);
      if (draft.status !== 'moved') draft.status = 'placed';
      draft.whys.push(`placed on ${load.nodes[i]!.id}`);
    } else {
      draft.status = 'unplaced';
      draft.rejected = rejectionCounts(load, d, -1);
      draft.whys.push(`no node can take it (${countsText(draft.rejected, load.nodes.length)})`);
    }
  }
  for (const k of order) {
    const d = load.demands[k]!;
    const active = load.nodeOfCopy[2 * k]!;
    if (!d.stream.policy.hotStandby || active < 0 || load.nodeOfCopy[2 * k + 1]! >= 0) continue;
    const i = bestNode(load, eligibility.of(d.stream), d, active, -1);
    const draft = drafts[k]!;
    if (i >= 0) {
      load.add(2 * k + 1, i);
      draft.whys.push(`standby on ${load.nodes[i]!.id}`);
    } else {
      draft.rejected = rejectionCounts(load, d, active);
      draft.whys.push(`no node can take its standby (${countsText(draft.rejected, load.nodes.length)})`);
    }
  }
  return { load, eligibility, order, drafts, seed };
}

/** Pass 1 for one stream: keep its copies where the static filters still allow them. */
function keep(load: ClusterLoad, d: Demand, draft: Draft): void {
  const k = d.index;
  const { currentNode, standbyNode = null } = d.stream;
  const activeWhy = currentNode === null ? null : staticProblem(load, currentNode, d);
  let standbyWhy = standbyNode === null ? null : staticProblem(load, standbyNode, d);
  if (standbyNode !== null && standbyWhy === null && standbyNode === currentNode) standbyWhy = `its standby was on its active node ${standbyNode}`;
  if (standbyNode !== null && standbyWhy === null && !d.stream.policy.hotStandby) standbyWhy = 'its policy has no hot standby';
  const standbyOk = standbyNode !== null && standbyWhy === null;

  if (currentNode !== null && activeWhy === null) {
    load.add(2 * k, load.indexOf.get(currentNode)!);
  } else if (standbyOk) {
    load.add(2 * k, load.indexOf.get(standbyNode)!);
    draft.status = 'promoted';
    draft.whys.push(`${activeWhy ?? 'it had no active copy'}: its standby on ${standbyNode} takes over`);
    return;
  } else if (currentNode !== null) {
    draft.status = 'moved';
    draft.whys.push(activeWhy!);
  }
  if (standbyOk) load.add(2 * k + 1, load.indexOf.get(standbyNode)!);
  else if (standbyNode !== null) draft.whys.push(`standby dropped: ${standbyWhy}`);
}

/** Why a stream's copy may not stay on node `id` (null: it may), ignoring load. */
function staticProblem(load: ClusterLoad, id: string, d: Demand): string | null {
  const i = load.indexOf.get(id);
  if (i === undefined) return `node ${id} is not in the cluster`;
  const node = load.nodes[i]!;
  return (stateRejection(node) ?? eligibilityRejection(node, d.stream))?.message ?? null;
}

export function countsText(counts: Partial<Record<ReasonCode, number>>, nodes: number): string {
  const parts = Object.entries(counts).map(([code, n]) => `${n} ${code}`);
  return `of ${nodes} nodes: ${parts.length === 0 ? 'none' : parts.join(', ')}`;
}

export function toPlan(run: PlacementRun): Plan {
  const { load, drafts } = run;
  const streams: StreamPlacement[] = run.order.map((k) => {
    const draft = drafts[k]!;
    const active = load.nodeOfCopy[2 * k]!;
    const standby = load.nodeOfCopy[2 * k + 1]!;
    return {
      streamId: load.demands[k]!.stream.id,
      nodeId: active < 0 ? null : load.nodes[active]!.id,
      standbyNodeId: standby < 0 ? null : load.nodes[standby]!.id,
      status: draft.status,
      why: draft.whys.length === 0 ? null : draft.whys.join('; '),
      rejected: draft.rejected,
    };
  });
  const nodes: NodeLoad[] = load.nodes.map((node, i) => ({ nodeId: node.id, cpuPct: load.cpuPct[i]!, memPct: load.memPct[i]!, streams: load.count[i]! }));
  return { seed: run.seed, streams, nodes, unplaced: streams.filter((s) => s.status === 'unplaced').length };
}
