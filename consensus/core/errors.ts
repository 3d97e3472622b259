// Expected failures are typed errors with a stable `name` (callers branch on the class);
// broken invariants go through assert() and crash: continuing would risk the log.
import type { NodeId } from './types.ts';

/** A proposal, conf change, read or transfer was made on a node that is not the leader.
 *  `leaderId` is who this node believes leads (null while unknown): retry there. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  readonly leaderId: NodeId | null;
  constructor(leaderId: NodeId | null) {
    super(leaderId === null ? 'not the leader, and no leader is known yet: retry shortly' : `not the leader: send this to ${leaderId}`);
    this.leaderId = leaderId;
  }
}

/** The leader refused a proposal for a reason other than leadership: a leadership transfer
 *  is in progress, or a conf change is already pending, or the change is invalid. */
export class ProposalDroppedError extends Error {
  override readonly name = 'ProposalDroppedError';
}

/** The requested index was compacted into a snapshot. */
export class CompactedError extends Error {
  override readonly name = 'CompactedError';
  constructor(index: number, firstIndex: number) {
    super(`log index ${index} is compacted (first available is ${firstIndex})`);
  }
}

/** The requested index is past the end of the log. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(index: number, lastIndex: number) {
    super(`log index ${index} is not available (last is ${lastIndex})`);
  }
}

/** A Raft invariant does not hold. Never caught: the process must stop. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function assert(condition: boolean, what: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(`raft invariant broken: ${typeof what === 'string' ? what : what()}`);
}
