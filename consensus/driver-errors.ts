// Expected failures of the driver's API, one class per failure with a stable `name` (callers
// branch on the class). The core's own errors (NotLeaderError, ProposalDroppedError) pass
// through unchanged.

/** A bound on waiting requests was reached: back off and retry. */
export class TooManyPendingError extends Error {
  override readonly name = 'TooManyPendingError';
  readonly bound: number;
  constructor(what: 'proposals' | 'reads', bound: number) {
    super(`too many ${what} waiting (bound ${bound}): retry when some have completed`);
    this.bound = bound;
  }
}

/** The proposal's entry was replaced by another leader's entry (its leader lost leadership
 *  before committing it): it was certainly not applied. Safe to retry. */
export class ProposalLostError extends Error {
  override readonly name = 'ProposalLostError';
  readonly index: number;
  readonly term: number;
  constructor(index: number, term: number, byTerm: number) {
    super(`the proposal at index ${index} (term ${term}) was overwritten by term ${byTerm}: it was not applied, retry it`);
    this.index = index;
    this.term = term;
  }
}

/** A snapshot from a newer leader replaced the log around the proposal: it may or may not have
 *  been applied. Retry only if the command is idempotent, or check the state first. */
export class ProposalOutcomeUnknownError extends Error {
  override readonly name = 'ProposalOutcomeUnknownError';
  readonly index: number;
  constructor(index: number, term: number, snapshotIndex: number, snapshotTerm: number) {
    super(`the proposal at index ${index} (term ${term}) was covered by a snapshot at ${snapshotIndex} (term ${snapshotTerm}): ` +
      `whether it was applied is unknown`);
    this.index = index;
  }
}

/** A linearizable read got no answer in time (leadership changed, or messages were lost). */
export class ReadTimeoutError extends Error {
  override readonly name = 'ReadTimeoutError';
  constructor(timeoutTicks: number) {
    super(`the read-index request got no answer within ${timeoutTicks} ticks: retry it (on the leader)`);
  }
}

/** The driver is not running: not started yet, stopped, or stopped by a fatal error (`cause`). */
export class DriverStoppedError extends Error {
  override readonly name = 'DriverStoppedError';
  constructor(id: string, cause?: unknown) {
    super(cause === undefined ? `raft node ${id} is not running` : `raft node ${id} stopped after a fatal error: ${String(cause)}`,
      cause === undefined ? undefined : { cause });
  }
}

/** The node stopped (or failed, say its disk filled up) while a proposal of it was in flight:
 *  handed to Raft or forwarded to the leader, it may be committed by the rest of the cluster, or
 *  not. Check before retrying (a proposal not yet handed on gets DriverStoppedError). */
export class StoppedInFlightError extends Error {
  override readonly name = 'StoppedInFlightError';
  constructor(id: string, cause?: unknown) {
    super(`raft node ${id} ${cause === undefined ? 'stopped' : `stopped after a fatal error (${String(cause)})`} while the proposal was in flight: whether the cluster applies it is unknown`,
      cause === undefined ? undefined : { cause });
  }
}

/** A proposal this follower forwarded got no placement from the leader in time, or leadership
 *  changed before it did: the old leader may still have appended it. Check before retrying. */
export class ForwardUnconfirmedError extends Error {
  override readonly name = 'ForwardUnconfirmedError';
  constructor(why: string) {
    super(`the leader did not confirm the forwarded proposal (${why}): whether it will be applied is unknown`);
  }
}
