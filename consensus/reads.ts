// Linearizable reads waiting on the read-index protocol: first for the leader to confirm its
// leadership and name an index (a ReadState carrying our context), then for the local applied
// index to reach it. Requests can be dropped silently by Raft (leadership changed, message
// lost), so every read also has a deadline counted in ticks.
import { ReadTimeoutError } from './driver-errors.ts';
import type { ReadState } from './core/types.ts';

interface WaitingRead {
  readonly issuedTick: number;
  /** Null until the ReadState for this context arrives. */
  index: number | null;
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
}

export class PendingReads {
  readonly #timeoutTicks: number;
  readonly #byContext = new Map<string, WaitingRead>(); // insertion order = issue order

  constructor(timeoutTicks: number) {
    this.#timeoutTicks = timeoutTicks;
  }

  get size(): number {
    return this.#byContext.size;
  }

  /** Track the read sent with `context` (unique per request) at tick `nowTick`. Resolves with
   *  the read index once applied >= it. */
  add(context: string, nowTick: number): Promise<number> {
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#byContext.set(context, { issuedTick: nowTick, index: null, resolve, reject });
    return promise;
  }

  /** ReadStates from a Ready; contexts that are not ours (or already settled) are ignored. */
  readStates(states: readonly ReadState[], appliedIndex: number): void {
    for (const rs of states) {
      const read = this.#byContext.get(rs.context);
      if (read !== undefined && read.index === null) read.index = rs.index;
    }
    this.applied(appliedIndex);
  }

  /** Resolve every read whose index the local state machine has reached. */
  applied(appliedIndex: number): void {
    if (this.#byContext.size === 0) return;
    for (const [context, read] of this.#byContext) {
      if (read.index !== null && read.index <= appliedIndex) {
        this.#byContext.delete(context);
        read.resolve(read.index);
      }
    }
  }

  /** Reject reads issued more than the timeout ago. */
  expire(nowTick: number): void {
    for (const [context, read] of this.#byContext) {
      if (nowTick - read.issuedTick < this.#timeoutTicks) break; // later ones are younger
      this.#byContext.delete(context);
      read.reject(new ReadTimeoutError(this.#timeoutTicks));
    }
  }

  rejectAll(error: Error): void {
    const all = [...this.#byContext.values()];
    this.#byContext.clear();
    for (const read of all) read.reject(error);
  }
}
