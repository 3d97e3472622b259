// When this node must keep its hands off the channels: no ffmpeg of its own and nothing new
// published by its gateway. A lease, renewed by read barriers: a barrier (Raft read-index
// through the leader) that succeeded proves that at its start this node was in two-way touch
// with a quorum, and that it has since applied everything committed by then. The node is free
// only for fenceAfterMs after the start of its latest successful barrier, judged by the
// monotonic clock at every question:
// - a node waking from a pause (SIGSTOP, a frozen VM) is fenced before any overdue timer of it
//   can publish (found by the chaos suite: a gateway paused 36 s served four public numbers
//   with its old worker's segments);
// - a node that hears its leader but cannot answer it (a one-way partition) renews nothing;
// - a node that restarts is fenced until it has caught up, so it neither lists old playlists
//   from a stale state nor starts ffmpeg for epochs already superseded.
// The leader relies on the bound: once fenceAfterMs (plus a second) have passed since a seal,
// every gateway has applied it or is fenced (stream-decisions.ts, sealWaitMs).
/** A node whose latest successful read barrier started this long ago stops its streams and its
 *  gateway publishes nothing new: the leader has given its streams to others by then (it sees a
 *  silent node down after 2.5 s by default). */
export const defaultFenceAfterMs = 3_000;

export interface FenceComponents {
  /** Resolves once this node has applied everything the cluster had committed when it was
   *  called (RaftDriver.read); rejects when that cannot be known now. */
  readonly readBarrier: () => Promise<unknown>;
  /** Monotonic clock, ms (performance.now). */
  readonly nowMs: () => number;
  /** Called when the answer of isFenced() changes. */
  readonly onChange: (fenced: boolean) => void;
}

/** A new barrier this often (the leader confirms each one with a round of heartbeats), even
 *  while earlier ones are still on their way: on a lossy link TCP may hold one back for
 *  seconds, and the lease must not wait for it. */
const renewEveryMs = 500;
/** Barriers on their way at most. */
const barriersInFlightMax = 4;

export class QuorumFence {
  readonly #c: FenceComponents;
  readonly #fenceAfterMs: number;
  readonly #now: () => number;
  /** Start of the latest successful barrier. */
  #leaseFromMs = -Infinity;
  #lastBarrierFromMs = -Infinity;
  #inFlight = 0;
  #fenced = true;

  constructor(components: FenceComponents, fenceAfterMs: number) {
    this.#c = components;
    this.#fenceAfterMs = fenceAfterMs;
    this.#now = components.nowMs;
  }

  /** Whether this node is fenced now (cheap enough to ask before every publication). */
  isFenced(): boolean {
    const fenced = this.#now() - this.#leaseFromMs > this.#fenceAfterMs;
    if (fenced !== this.#fenced) {
      this.#fenced = fenced;
      this.#c.onChange(fenced);
    }
    return fenced;
  }

  /** Call on a timer: re-judges, and renews the lease with a barrier when due. */
  check(): void {
    this.isFenced();
    const fromMs = this.#now();
    if (this.#inFlight >= barriersInFlightMax || fromMs - this.#lastBarrierFromMs < renewEveryMs) return;
    this.#lastBarrierFromMs = fromMs;
    this.#inFlight++;
    this.#c.readBarrier().then(
      () => {
        this.#leaseFromMs = Math.max(this.#leaseFromMs, fromMs);
      },
      () => undefined, // not renewed; the lease runs out unless a later barrier succeeds
    ).finally(() => {
      this.#inFlight--;
      this.isFenced();
    });
  }
}
