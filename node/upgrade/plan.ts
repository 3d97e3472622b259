// Which nodes a rolling upgrade touches and in what order (docs/upgrade.md). Pure: the
// coordinator gathers the facts (gossip health, the Raft configuration, what each node says of
// itself) and asks; nothing here does I/O or reads a clock.
//
// The order keeps the cluster serving: one node at a time, learners first (they vote in nothing),
// then the follower voters, then the leader (after it hands leadership to a voter that already
// runs the new build), and the coordinator itself last, since it drives the rollout until then.
import { sameBuild } from '../version.ts';

export type NodeId = string;

/** Which build a node runs. */
export interface BuildId {
  readonly version: string;
  /** Short commit id; "-dirty" when built from a tree with uncommitted changes; "unknown". */
  readonly commit: string;
}

/** The executable a rollout installs. */
export interface TargetBuild extends BuildId {
  readonly sha256: string;
}

/** What a node says about itself over /internal/v1/upgrade/node. */
export interface SelfReport {
  readonly build: BuildId;
  /** The single executable it runs from; null: it runs from the sources (bin/ottmesh). */
  readonly executable: string | null;
  /** sha256 of that executable (null with no executable). */
  readonly sha256: string | null;
  /** Whether it may write the executable's directory (the new one is renamed into place). */
  readonly writable: boolean;
  /** A rollout this node is part of right now (coordinating or being upgraded), or null. */
  readonly busy: string | null;
}

/** One member as the coordinator sees it when a rollout is asked for. */
export interface NodeFacts {
  readonly id: NodeId;
  readonly name: string;
  /** Health in the coordinator's gossip view. */
  readonly health: 'alive' | 'suspect' | 'down';
  /** A voter of the Raft configuration (else a learner). */
  readonly voter: boolean;
  /** Its admin state: the rollout drains it and puts this back afterwards. */
  readonly draining: boolean;
  /** Null: it did not answer. */
  readonly self: SelfReport | null;
}

export interface PlanInput {
  readonly nodes: readonly NodeFacts[];
  readonly leaderId: NodeId | null;
  readonly coordinatorId: NodeId;
  readonly target: TargetBuild;
}

/** One node's step as planned. */
export interface PlannedStep {
  readonly nodeId: NodeId;
  readonly name: string;
  readonly from: BuildId;
  /** The executable it runs from (null: from sources), for the operator's rollback message. */
  readonly executable: string | null;
  /** False: it runs the target already (the rollout skips it: re-running is idempotent). */
  readonly upgrade: boolean;
  readonly wasDraining: boolean;
}

export type PlanResult =
  | { readonly ok: true; readonly steps: readonly PlannedStep[] }
  | { readonly ok: false; readonly problem: string };

/** Whether a node already runs `target`: the same executable, or the same clean commit and
 *  version (a node running from sources at that commit needs nothing either). A dirty or unknown
 *  commit names no exact build, so only the checksum counts then. */
export function runsTarget(self: SelfReport, target: TargetBuild): boolean {
  if (self.sha256 !== null && self.sha256 === target.sha256) return true;
  return exactBuild(target) && sameBuild(self.build, target);
}

function exactBuild(build: BuildId): boolean {
  return build.commit !== 'unknown' && !build.commit.endsWith('-dirty');
}

/** The steps in rollout order, or why the rollout must not start. Every node must be healthy:
 *  each step takes one node away, and a node already down as well could cost the quorum or the
 *  last copy of a stream. */
export function planRollout(input: PlanInput): PlanResult {
  const { nodes, leaderId, coordinatorId, target } = input;
  if (leaderId === null) return refuse('no leader is elected right now: retry in a few seconds');
  if (!nodes.some((n) => n.id === coordinatorId)) return refuse('this node is not a member of the cluster (removed?): ask another node');
  for (const node of byName(nodes)) {
    if (node.health === 'down' || node.self === null) return refuse(`node ${node.name} is down: an upgrade needs every node healthy (bring it back, or remove it from the cluster, then retry)`);
    if (node.health === 'suspect') return refuse(`node ${node.name} is suspect (its telemetry is late): an upgrade needs every node healthy; retry when it is alive`);
    if (node.self.busy !== null) return refuse(`node ${node.name} is already part of a rollout (${node.self.busy}): wait until it ends`);
  }
  const steps = rolloutOrder(nodes, leaderId, coordinatorId).map((node): PlannedStep => ({
    nodeId: node.id, name: node.name, from: node.self!.build, executable: node.self!.executable, upgrade: !runsTarget(node.self!, target), wasDraining: node.draining,
  }));
  for (const step of steps) {
    if (!step.upgrade) continue;
    const self = nodes.find((n) => n.id === step.nodeId)!.self!;
    if (self.executable === null) return refuse(`node ${step.name} runs from sources: upgrade it with git pull / npm run build (a rollout replaces the ottmesh executable a node runs from)`);
    if (!self.writable) {
      return refuse(`node ${step.name} cannot replace its executable ${self.executable}: its directory is not writable by the node's user (install the executable in a directory the node owns, e.g. with install.sh)`);
    }
  }
  return { ok: true, steps };
}

function refuse(problem: string): PlanResult {
  return { ok: false, problem };
}

function byName<T extends { readonly name: string; readonly id: NodeId }>(nodes: readonly T[]): T[] {
  return [...nodes].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Learners, then follower voters (each by name), then the leader, then the coordinator. */
export function rolloutOrder<T extends { readonly id: NodeId; readonly name: string; readonly voter: boolean }>(nodes: readonly T[], leaderId: NodeId | null, coordinatorId: NodeId): T[] {
  const rank = (n: T) => (n.id === coordinatorId ? 3 : n.id === leaderId ? 2 : n.voter ? 1 : 0);
  return byName(nodes).sort((a, b) => rank(a) - rank(b));
}

/** The node to upgrade next, among `pending` (in planned order): leadership can move during a
 *  rollout (an election), so "the leader" is whoever leads now. Null: nothing is left. */
export function nextNode(pending: readonly NodeId[], leaderId: NodeId | null, coordinatorId: NodeId): NodeId | null {
  const others = pending.filter((id) => id !== leaderId && id !== coordinatorId);
  if (others.length > 0) return others[0]!;
  if (leaderId !== null && leaderId !== coordinatorId && pending.includes(leaderId)) return leaderId;
  return pending.includes(coordinatorId) ? coordinatorId : null;
}

/** Who the leader `leaderId` hands leadership to before it restarts: a live voter that runs the
 *  target already (upgraded in this rollout, or before), in `preferred` order. Null: there is
 *  none (a single voter): the leader restarts without handing over, and writes pause until it is
 *  back. */
export function transferTarget(options: {
  readonly leaderId: NodeId;
  readonly voters: readonly NodeId[];
  readonly onTarget: ReadonlySet<NodeId>;
  readonly alive: (id: NodeId) => boolean;
  readonly preferred: readonly NodeId[];
}): NodeId | null {
  const { leaderId, voters, onTarget, alive, preferred } = options;
  const candidates = voters.filter((id) => id !== leaderId && onTarget.has(id) && alive(id));
  candidates.sort((a, b) => rankIn(preferred, a) - rankIn(preferred, b) || a.localeCompare(b));
  return candidates[0] ?? null;
}

function rankIn(list: readonly NodeId[], id: NodeId): number {
  const i = list.indexOf(id);
  return i < 0 ? list.length : i;
}

/** How many streams node `id` still runs (as the active worker or the second one): a drained
 *  node is ready to restart at 0. */
export function streamsOn(assignments: Readonly<Record<string, { readonly nodeId: NodeId; readonly next: { readonly nodeId: NodeId } | null }>>, id: NodeId): number {
  return Object.values(assignments).filter((a) => a.nodeId === id || a.next?.nodeId === id).length;
}
