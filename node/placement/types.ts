// The placement engine's input view and its answers. The caller (the leader, or the API for a
// dry run) builds the view from the replicated state (streams, policies, node admin state) and
// gossip (health, measured load); placement reads it and never changes it.
//
// Load accounting (one rule, used everywhere): a node's measured figures already include every
// copy (active or standby) of the input streams that names it as currentNode or standbyNode.
// Placement first takes those copies' costs out of the measured figures (never below zero),
// leaving the node's background load, and then adds the cost of every copy the plan puts there.
// So a stream that stays is counted once, a stream moved away frees its cost, and one placed
// there adds it.
import type { NodeId } from '../../consensus/core/index.ts';
import type { Policy } from '../state/stream-types.ts';

export type Health = 'alive' | 'suspect' | 'down';

export interface NodeView {
  readonly id: NodeId;
  /** Admin state: a disabled node runs nothing; a draining one keeps nothing new and loses its
   *  streams to other nodes. */
  readonly enabled: boolean;
  readonly draining: boolean;
  /** From gossip: only 'alive' nodes are given streams. */
  readonly health: Health;
  readonly groups: readonly string[];
  /** > 0 (default 1): multiplies the node's score, so a node of weight 2 is preferred as if it
   *  had twice the headroom. Ceilings are physical and do not scale with it. */
  readonly weight: number;
  /** CPU cores (> 0): a stream's cost in % of one core is cost / cores of the whole machine. */
  readonly cores: number;
  /** Measured CPU use of the whole machine, 0-100 (includes its streams; see above). */
  readonly cpuPct: number;
  readonly memTotalBytes: number;
  /** Measured memory use, 0-100 (includes its streams). */
  readonly memPct: number;
  /** Stream copies running there (measured; includes those of the input's streams). */
  readonly streams: number;
}

export interface StreamCost {
  /** % of one core (a 1080p transcode may be 150). */
  readonly cpuPct: number;
  readonly memBytes: number;
}

export interface StreamDemand {
  readonly id: string;
  /** Higher is placed first when capacity is short. */
  readonly priority: number;
  /** Measured on its worker, or the per-profile estimate before it ever ran. */
  readonly cost: StreamCost;
  /** Already resolved global -> service -> stream (see policy.ts). */
  readonly policy: Policy;
  readonly pinGroup: string | null;
  readonly pinNode: NodeId | null;
  /** Where its active copy runs now (null: not placed). */
  readonly currentNode: NodeId | null;
  /** Where its second copy runs now (hot standby or a move's target), if any. */
  readonly standbyNode?: NodeId | null;
}

export interface GroupView {
  /** Higher is preferred when a policy lists no groups. */
  readonly priority: number;
}

export interface PlacementInput {
  readonly nodes: readonly NodeView[];
  readonly streams: readonly StreamDemand[];
  readonly groups: Readonly<Record<string, GroupView>>;
}

/** Why a node cannot take a copy of a stream, in the order the filters run. */
export const reasonCodes = [
  'down', 'suspect', 'disabled', 'draining', 'pinned', 'group', 'other-copy', 'max-streams', 'cpu', 'memory',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

export interface Rejection {
  readonly code: ReasonCode;
  /** For people: what the node lacks, with the figures. */
  readonly message: string;
}

/** What happened to a stream in a plan. */
export type PlacementStatus =
  /** On the node it ran on (its standby may have changed). */
  | 'kept'
  /** Its active node could no longer run it; the standby took over. */
  | 'promoted'
  /** Its active node could no longer run it; it goes to another node. */
  | 'moved'
  /** It ran nowhere and now has a node. */
  | 'placed'
  /** No node can take it (see `rejected`). */
  | 'unplaced';

export interface StreamPlacement {
  readonly streamId: string;
  readonly nodeId: NodeId | null;
  /** The hot standby's node (policy.hotStandby), never the active node; null: none. */
  readonly standbyNodeId: NodeId | null;
  readonly status: PlacementStatus;
  /** Why it changed or why it is unplaced (null when it was kept as it was). */
  readonly why: string | null;
  /** Unplaced (or a wanted standby unplaced): how many nodes each filter rejected. */
  readonly rejected: Partial<Record<ReasonCode, number>> | null;
}

/** A node's planned load: background plus every copy the plan puts there. */
export interface NodeLoad {
  readonly nodeId: NodeId;
  readonly cpuPct: number;
  readonly memPct: number;
  readonly streams: number;
}

export interface Plan {
  readonly seed: number;
  /** One per input stream, in placement order (priority descending, then id). */
  readonly streams: readonly StreamPlacement[];
  /** One per input node, by id. */
  readonly nodes: readonly NodeLoad[];
  readonly unplaced: number;
}

/** A stream's copies as they run (current) or as planned. */
export interface Assigned {
  readonly nodeId: NodeId | null;
  readonly standbyNodeId: NodeId | null;
}

export type MoveKind = 'start' | 'move' | 'promote' | 'stop' | 'standby-start' | 'standby-move' | 'standby-stop';

export interface Move {
  readonly streamId: string;
  readonly kind: MoveKind;
  readonly from: NodeId | null;
  readonly to: NodeId | null;
  readonly why: string;
}

export interface NodeExplanation {
  readonly nodeId: NodeId;
  readonly feasible: boolean;
  /** The first filter that rejected it (feasible: absent). */
  readonly reason?: Rejection;
  /** Feasible only: higher is better, after group rank (lower rank wins first). */
  readonly score?: number;
  readonly groupRank?: number;
}

export interface Explanation {
  readonly streamId: string;
  /** Where the plan puts it (null: unplaced). */
  readonly nodeId: NodeId | null;
  readonly standbyNodeId: NodeId | null;
  readonly status: PlacementStatus;
  /** Every node, evaluated against the plan's final loads without this stream's active copy:
   *  feasible ones first, best first; then the rejected ones by id. */
  readonly nodes: readonly NodeExplanation[];
}
