// The data the Raft core exchanges with its caller. Plain objects only: the core never
// serializes, the transport and the log store do (see consensus/codec.ts).

/** A member's id. In the cluster this is the node's libp2p peer id string. */
export type NodeId = string;

/** `normal` entries carry application commands (empty data = the leader's no-op);
 *  `conf-change` entries carry an encoded {@link ConfChange}. */
export type EntryType = 'normal' | 'conf-change';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before any message of the same Ready is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** The configuration: who votes, who only learns. Sorted, disjoint. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/** The application's state up to and including `meta.index`. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** Single-server membership changes (Raft thesis §4.1): one in flight at a time. */
export type ConfChangeType = 'add-learner' | 'promote' | 'remove';
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly node: NodeId;
}

export type MessageType =
  | 'MsgApp' // leader -> follower: entries after (index, logTerm); commit
  | 'MsgAppResp' // follower -> leader: index = last matching index, or reject with rejectHint
  | 'MsgHeartbeat' // leader -> follower: commit (capped at the follower's match), context
  | 'MsgHeartbeatResp'
  | 'MsgPreVote' // candidate -> voter: would you vote for me at term (my term + 1)?
  | 'MsgPreVoteResp'
  | 'MsgVote' // candidate -> voter
  | 'MsgVoteResp'
  | 'MsgSnap' // leader -> follower: snapshot
  | 'MsgTimeoutNow' // leader -> transfer target: campaign now
  | 'MsgReadIndex' // follower -> leader: forwarded read-index request (context)
  | 'MsgReadIndexResp' // leader -> follower: index safe to read at (context)
  | 'MsgTransferLeader' // follower -> leader: forwarded transfer request (from = target)
  | 'MsgProp' // follower -> leader: forwarded proposal (the driver's, never stepped into the core)
  | 'MsgPropResp'; // leader -> follower: where the forwarded proposal was placed (index, logTerm), or reject

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term; 0 for local-only messages. A MsgPreVote carries the term it would campaign at. */
  readonly term: number;
  /** MsgApp: term of the entry at `index`. MsgVote/PreVote: term of the candidate's last entry. */
  readonly logTerm: number;
  /** MsgApp: index of the entry before `entries`. MsgVote: candidate's last index.
   *  MsgAppResp: the follower's last matching index (or the rejected index). */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** MsgAppResp rejection: the follower's hint of where to probe next. */
  readonly rejectHint: number;
  /** MsgAppResp rejection: the term of the hinted entry (for fast backtracking). */
  readonly rejectTerm: number;
  readonly snapshot: Snapshot | null;
  /** Read-index request id, forwarded-proposal id, or 'transfer' on a vote forced by leadership transfer. */
  readonly context: string;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state that the caller may want to watch (leader changes). */
export interface SoftState {
  readonly leaderId: NodeId | null;
  readonly role: Role;
}

/** A linearizable read may be served once the local applied index reaches `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/**
 * What the caller must do, in this order (etcd-io/raft's contract):
 * 1. persist `snapshot` (if any), then `entries` (replacing any stored entries at the same
 *    or higher index), then `hardState`, as one synced write;
 * 2. send `messages`;
 * 3. apply `snapshot` (if any) to the state machine, then `committedEntries` in order;
 * 4. call `advance(ready)`.
 * Fields are copies or immutable: the caller owns them.
 */
export interface Ready {
  readonly softState: SoftState | null; // set when it changed since the last Ready
  readonly hardState: HardState | null; // set when it changed since the last Ready
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when `hardState`, `entries` or `snapshot` need a synced write. */
  readonly mustSync: boolean;
}

/** Progress of one peer as seen by the leader (for status displays and tests). */
export interface PeerProgress {
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly inflight: number;
  readonly recentActive: boolean;
  readonly learner: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly role: Role;
  readonly leaderId: NodeId | null;
  /** The configuration in effect: that of the last membership change in the log, committed
   *  or not (Raft thesis §4.1). */
  readonly conf: ConfState;
  /** The configuration as of the applied index: what a snapshot taken there must record. */
  readonly appliedConf: ConfState;
  readonly leadTransferee: NodeId | null;
  /** Only on the leader. */
  readonly progress: ReadonlyMap<NodeId, PeerProgress> | null;
}

/** Build a message with defaults for the fields a given type does not use. */
export function message(fields: Pick<Message, 'type' | 'from' | 'to'> & Partial<Message>): Message {
  return {
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    rejectTerm: 0,
    snapshot: null,
    context: '',
    ...fields,
  };
}

export const emptyHardState: HardState = { term: 0, vote: null, commit: 0 };
export const emptyConfState: ConfState = { voters: [], learners: [] };
