// Proposals waiting to be applied, and the rule that settles each one. A proposal placed at
// (index, term) succeeded iff the entry applied at `index` has the same term. Terms never
// decrease along a log, so once an entry of term T is applied at index j, any waiting proposal
// at an index >= j with a term below T can never commit: it is rejected right away instead of
// waiting for its own index (which a new leader's shorter log may never reach).
import { assert } from './core/errors.ts';
import type { SnapshotMeta } from './core/types.ts';
import { ProposalLostError, ProposalOutcomeUnknownError } from './driver-errors.ts';

export interface Placed {
  readonly index: number;
  readonly term: number;
}

interface Waiting extends Placed {
  readonly resolve: (placed: Placed) => void;
  readonly reject: (error: Error) => void;
}

/** Compact the array once this many settled slots sit in front of the live ones. */
const compactAfterSettled = 1024;

export class PendingProposals {
  // Sorted by index, and therefore by term too (see add). #head is the first live slot.
  #waiting: Waiting[] = [];
  #head = 0;

  get size(): number {
    return this.#waiting.length - this.#head;
  }

  /** Track a proposal the core placed at (index, term). The promise settles when the entry at
   *  `index` is applied, or when it is known that it never will be. */
  add(placed: Placed): Promise<Placed> {
    // A proposal placed at or below a waiting one means the log was truncated under it by a
    // newer term's leader: those are lost (the log now holds other entries there).
    while (this.size > 0) {
      const last = this.#waiting[this.#waiting.length - 1]!;
      if (last.index < placed.index) break;
      assert(last.term < placed.term, () => `proposal at ${placed.index} (term ${placed.term}) re-used index ${last.index} of the same term`);
      this.#waiting.pop();
      last.reject(new ProposalLostError(last.index, last.term, placed.term));
    }
    const { promise, resolve, reject } = Promise.withResolvers<Placed>();
    this.#waiting.push({ index: placed.index, term: placed.term, resolve, reject });
    return promise;
  }

  /** The entry (index, term) was applied locally. Call in log order. */
  applied(index: number, term: number): void {
    if (this.size === 0) return;
    let w = this.#peek();
    // Waiting proposals below `index` were passed over (the log only grows past them after a
    // snapshot): their outcome cannot be told from here.
    while (w !== undefined && w.index < index) {
      this.#shift().reject(new ProposalOutcomeUnknownError(w.index, w.term, index, term));
      w = this.#peek();
    }
    if (w !== undefined && w.index === index) {
      this.#shift();
      if (w.term === term) w.resolve({ index: w.index, term: w.term });
      else w.reject(new ProposalLostError(w.index, w.term, term));
    }
    this.#rejectOlderThan(term);
  }

  /** A snapshot replaced the local log up to `meta.index`. The committed log holds term
   *  `meta.term` at that index; a leader never overwrites its own entries, so a waiting proposal
   *  of exactly that term at or below it is in the committed log. */
  snapshotApplied(meta: SnapshotMeta): void {
    let w = this.#peek();
    while (w !== undefined && w.index <= meta.index) {
      this.#shift();
      if (w.term === meta.term) w.resolve({ index: w.index, term: w.term });
      else if (w.term > meta.term) w.reject(new ProposalLostError(w.index, w.term, meta.term));
      else w.reject(new ProposalOutcomeUnknownError(w.index, w.term, meta.index, meta.term));
      w = this.#peek();
    }
    this.#rejectOlderThan(meta.term);
  }

  /** Reject everything (the driver stops). */
  rejectAll(error: Error): void {
    const all = this.#waiting.slice(this.#head);
    this.#waiting = [];
    this.#head = 0;
    for (const w of all) w.reject(error);
  }

  /** Waiting proposals past an applied entry of `term` with a lower term can never commit. */
  #rejectOlderThan(term: number): void {
    let w = this.#peek();
    while (w !== undefined && w.term < term) {
      this.#shift().reject(new ProposalLostError(w.index, w.term, term));
      w = this.#peek();
    }
  }

  #peek(): Waiting | undefined {
    return this.#waiting[this.#head];
  }

  #shift(): Waiting {
    const w = this.#waiting[this.#head];
    assert(w !== undefined, 'shift from an empty pending-proposal queue');
    this.#head++;
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    } else if (this.#head >= compactAfterSettled && this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    return w;
  }
}
