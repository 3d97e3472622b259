// The simulated clock: a queue of events ordered by simulated time (ms), then by the order they
// were scheduled, so ties break the same way on every run. Nothing here reads a real clock.

export interface SimEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Bound on queued events: a run that schedules more than this is broken (a feedback loop). */
export const maxQueuedEvents = 1_000_000;

export class Scheduler {
  #nowMs = 0;
  #seq = 0;
  readonly #heap: SimEvent[] = [];

  get nowMs(): number {
    return this.#nowMs;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Run `run` after `delayMs` (>= 0) of simulated time. */
  after(delayMs: number, run: () => void): void {
    if (!(delayMs >= 0)) throw new Error(`negative delay ${delayMs}`);
    if (this.#heap.length >= maxQueuedEvents) throw new Error(`more than ${maxQueuedEvents} queued events`);
    this.#push({ atMs: this.#nowMs + delayMs, seq: this.#seq++, run });
  }

  /** Run every event due up to and including `untilMs`, in order; the clock then reads `untilMs`.
   *  `stop` is asked after each event and ends the run early (the clock stays at that event). */
  runUntil(untilMs: number, stop: () => boolean = () => false): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.atMs > untilMs) break;
      this.#pop();
      this.#nowMs = top.atMs;
      top.run();
      if (stop()) return;
    }
    this.#nowMs = Math.max(this.#nowMs, untilMs);
  }

  #less(a: SimEvent, b: SimEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  #push(e: SimEvent): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
