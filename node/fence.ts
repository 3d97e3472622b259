// When this node must keep its hands off the channels: no ffmpeg of its own and nothing new
// published by its gateway. Fenced as soon as it has been out of touch with a quorum for longer
// than fenceAfterMs (the leader has given its streams to others by then, and may have switched
// a stream at a public number this gateway would take); judged by the monotonic clock at each
// question, so a node waking from a pause (SIGSTOP, a frozen VM) is fenced before any of its
// overdue timers can publish. Back in touch is not enough to be let go: first a read barrier
// (Raft read-index through the leader) must have been applied here, so the seals and switches
// committed while it was away are in its state before it publishes again (found by the chaos
// suite: a gateway paused 36 s then served 4 public numbers with its old worker's segments).
export interface FenceComponents {
  /** Milliseconds since this node was last in touch with a quorum (RaftDriver). */
  readonly msSinceQuorumContact: () => number;
  /** Resolves once this node has applied everything the cluster had committed when it was
   *  called (RaftDriver.read); rejects when that cannot be known now. */
  readonly readBarrier: () => Promise<unknown>;
  /** Called when the answer of isFenced() changes. */
  readonly onChange: (fenced: boolean) => void;
}

export class QuorumFence {
  readonly #c: FenceComponents;
  readonly #fenceAfterMs: number;
  #fenced = false;
  #barrier: Promise<void> | null = null;

  constructor(components: FenceComponents, fenceAfterMs: number) {
    this.#c = components;
    this.#fenceAfterMs = fenceAfterMs;
  }

  #outOfTouch(): boolean {
    return this.#c.msSinceQuorumContact() > this.#fenceAfterMs;
  }

  /** Whether this node is fenced now (cheap enough to ask before every publication). */
  isFenced(): boolean {
    if (!this.#fenced && this.#outOfTouch()) this.#set(true);
    return this.#fenced;
  }

  /** Re-judges (called on a timer): fences, or starts the way back once in touch again. */
  check(): void {
    if (!this.isFenced() || this.#barrier !== null || this.#outOfTouch()) return;
    this.#barrier = this.#c.readBarrier().then(
      () => {
        if (!this.#outOfTouch()) this.#set(false);
      },
      () => undefined, // still fenced; the next check tries again
    ).finally(() => {
      this.#barrier = null;
    });
  }

  #set(fenced: boolean): void {
    this.#fenced = fenced;
    this.#c.onChange(fenced);
  }
}
