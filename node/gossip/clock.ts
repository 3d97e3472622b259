// Time for the gossip service, injected so tests drive it with a fake clock; and a fixed-rate
// timer that corrects drift, so late firings do not push every later report back.
import { performance } from 'node:perf_hooks';

export interface GossipClock {
  /** Wall clock in ms since the epoch: report timestamps and the seq seed only. */
  wallMs(): number;
  /** Monotonic ms (any origin): timers and the membership view, immune to clock steps. */
  monotonicMs(): number;
  /** Run `callback` once after `delayMs` (>= 0). */
  schedule(delayMs: number, callback: () => void): { cancel(): void };
}

export const realGossipClock: GossipClock = {
  wallMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  schedule(delayMs, callback) {
    const handle = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(handle) };
  },
};

export interface FixedRateTimer {
  stop(): void;
  /** Slots skipped because the callback ran more than a whole interval late. */
  readonly skipped: number;
}

/**
 * Call `callback` at `start + k * intervalMs` (k = 1, 2, ...) on the monotonic clock. A firing
 * that comes late does not delay the next one; if a whole interval or more was missed (the event
 * loop was blocked), the missed slots are skipped rather than run in a burst. The callback must
 * not throw (the timer stops if it does, and the error propagates to the event loop).
 */
export function everyFixedRate(clock: GossipClock, intervalMs: number, callback: () => void): FixedRateTimer {
  if (!(intervalMs > 0)) throw new RangeError(`timer interval must be > 0 ms, got ${intervalMs}`);
  let nextAtMs = clock.monotonicMs() + intervalMs;
  let pending: { cancel(): void } | null = null;
  let stopped = false;
  const timer = {
    skipped: 0,
    stop(): void {
      stopped = true;
      pending?.cancel();
      pending = null;
    },
  };
  const arm = (): void => {
    pending = clock.schedule(Math.max(0, nextAtMs - clock.monotonicMs()), fire);
  };
  const fire = (): void => {
    if (stopped) return;
    callback();
    if (stopped) return;
    nextAtMs += intervalMs;
    const nowMs = clock.monotonicMs();
    if (nextAtMs <= nowMs) {
      const missed = Math.floor((nowMs - nextAtMs) / intervalMs) + 1;
      timer.skipped += missed;
      nextAtMs += missed * intervalMs;
    }
    arm();
  };
  arm();
  return timer;
}
