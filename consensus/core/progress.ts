// The leader's view of each peer's log, and flow control of what it sends them.
//
// probe:     the leader does not know where the peer's log ends; it sends one append at a time
//            and waits for the answer (or a heartbeat response) before the next.
// replicate: the peer is known to match; appends are pipelined, at most `maxInflightMsgs` unacknowledged.
// snapshot:  the peer needs a snapshot; nothing else is sent until it is applied or fails.
import { assert } from './errors.ts';

/** A ring buffer of the last index of each unacknowledged append, bounded by `capacity`. */
export class Inflights {
  readonly capacity: number;
  #buffer: number[];
  #start = 0;
  #count = 0;

  constructor(capacity: number) {
    assert(capacity > 0, 'inflight capacity must be positive');
    this.capacity = capacity;
    this.#buffer = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.#count;
  }

  full(): boolean {
    return this.#count === this.capacity;
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'add to a full inflights buffer');
    this.#buffer[(this.#start + this.#count) % this.capacity] = lastIndex;
    this.#count++;
  }

  /** Acknowledge every append whose last index is <= `index`. */
  freeLE(index: number): void {
    while (this.#count > 0 && this.#buffer[this.#start]! <= index) {
      this.#start = (this.#start + 1) % this.capacity;
      this.#count--;
    }
  }

  /** Forget the oldest unacknowledged append (it was probably lost). */
  freeFirst(): void {
    if (this.#count === 0) return;
    this.#start = (this.#start + 1) % this.capacity;
    this.#count--;
  }

  reset(): void {
    this.#start = 0;
    this.#count = 0;
  }
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to be in the peer's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding, wait for its answer or a heartbeat response. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Ticks spent in snapshot state; past a bound the leader gives up and probes again. */
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  learner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, learner: boolean) {
    this.next = next;
    this.learner = learner;
    this.inflights = new Inflights(maxInflightMsgs);
  }

  #reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it: the peer has at least that much once it applied it.
    const after = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.#reset('probe');
    this.next = after;
  }

  becomeReplicate(): void {
    this.#reset('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.#reset('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** The peer acknowledged its log up to `index`. False when the answer is stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** The peer rejected an append after `rejected`; its log probably matches up to `matchHint`.
   *  False when the rejection is stale (an answer to an older append). */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Record an append of entries ending at `lastIndex` (0 when it carried none). */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    } else {
      assert(false, 'sending entries to a peer in snapshot state');
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
