// Which of a stream's sources ffmpeg reads (pure; table-tested in test/supervisor/source-choice.test.ts).
// Sources are ranked (best first, see rankSources). The runner feeds events with the time; the
// reducer answers with what to do: leave a source that stalls or keeps failing for the next one,
// and come back to a better one only after it has rested `retryAfterMs` and a probe shows that
// it delivers again. A source that stalls again soon after we came back rests twice as long the
// next time (up to `retryAfterMaxMs`): a flaky primary cannot make the stream flap.
import type { SourceRecord } from '../state/stream-types.ts';

export interface SourceChoiceConfig {
  /** No new data for this long while running: the source has stalled. Default 5,000. */
  readonly stallTimeoutMs: number;
  /** No data at all this long after ffmpeg started (connect + probe): the source is not
   *  delivering. Longer than the stall timeout because probing takes a moment. Default 8,000. */
  readonly startTimeoutMs: number;
  /** ffmpeg ending sooner than this after its start is a fast failure. Default 10,000. */
  readonly fastFailMs: number;
  /** This many fast failures in a row on one source move to the next one. Default 3. */
  readonly fastFailuresMax: number;
  /** A better source we left is probed again this long after we left it or after its last
   *  failed probe. Default 30,000. */
  readonly retryAfterMs: number;
  /** Cap on the doubled rest of a source that flaps. Default 300,000. */
  readonly retryAfterMaxMs: number;
  /** Running this long on a source we came back to makes it trusted again. Default 60,000. */
  readonly stableRunMs: number;
}

export const defaultSourceChoice: SourceChoiceConfig = {
  stallTimeoutMs: 5_000,
  startTimeoutMs: 8_000,
  fastFailMs: 10_000,
  fastFailuresMax: 3,
  retryAfterMs: 30_000,
  retryAfterMaxMs: 300_000,
  stableRunMs: 60_000,
};

export interface ChoiceState {
  /** Number of sources; ranks are 0 (best) to count - 1. */
  readonly count: number;
  /** Rank of the source in use. */
  readonly active: number;
  /** An ffmpeg is running on `active` (between 'started' and its end or our switch). */
  readonly running: boolean;
  readonly startedAtMs: number;
  /** When the running ffmpeg last made progress; null: not yet since it started. */
  readonly lastDataAtMs: number | null;
  /** When `active` was chosen. */
  readonly activeSinceMs: number;
  /** `active` was chosen because it came back after a probe (a quick stall then is a flap). */
  readonly returned: boolean;
  readonly fastFailures: number;
  /** Rank being probed, or null. One probe at a time. */
  readonly probing: number | null;
  /** Per rank: when it may be probed (only ranks better than `active` are); null: not waiting. */
  readonly retryAtMs: readonly (number | null)[];
  /** Per rank: its current rest (doubles when it flaps). */
  readonly retryAfterMs: readonly number[];
}

export type ChoiceEvent =
  | { readonly type: 'started'; readonly nowMs: number }
  | { readonly type: 'data'; readonly nowMs: number }
  | { readonly type: 'tick'; readonly nowMs: number }
  /** ffmpeg ended on its own (not stopped by us). */
  | { readonly type: 'exited'; readonly nowMs: number }
  | { readonly type: 'probed'; readonly rank: number; readonly ok: boolean; readonly nowMs: number };

export type SwitchReason = 'stall' | 'no-start' | 'failures' | 'recovered';

export type ChoiceAction =
  | { readonly kind: 'none' }
  /** Start ffmpeg again on the same source (after the restart policy's delay). */
  | { readonly kind: 'restart' }
  /** Stop the running ffmpeg (if any) and start one on rank `to`. */
  | { readonly kind: 'switch'; readonly to: number; readonly reason: SwitchReason }
  /** Check in the background whether rank `rank` delivers; answer with a 'probed' event. */
  | { readonly kind: 'probe'; readonly rank: number };

export interface ChoiceStep {
  readonly state: ChoiceState;
  readonly action: ChoiceAction;
}

const none: ChoiceAction = { kind: 'none' };

/** Source indices (into `sources`) from best to worst: higher priority first, ties in list order. */
export function rankSources(sources: readonly SourceRecord[]): number[] {
  return sources.map((s, index) => ({ index, priority: s.priority })).sort((a, b) => b.priority - a.priority || a.index - b.index).map((s) => s.index);
}

export function initialChoice(count: number, nowMs: number, config: SourceChoiceConfig = defaultSourceChoice): ChoiceState {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`a stream needs at least one source, got ${count}`);
  return {
    count, active: 0, running: false, startedAtMs: nowMs, lastDataAtMs: null, activeSinceMs: nowMs, returned: false,
    fastFailures: 0, probing: null, retryAtMs: new Array<null>(count).fill(null), retryAfterMs: new Array<number>(count).fill(config.retryAfterMs),
  };
}

export function stepChoice(state: ChoiceState, event: ChoiceEvent, config: SourceChoiceConfig = defaultSourceChoice): ChoiceStep {
  const nowMs = event.nowMs;
  switch (event.type) {
    case 'started':
      return { state: { ...state, running: true, startedAtMs: nowMs, lastDataAtMs: null }, action: none };
    case 'data':
      return { state: state.running ? { ...state, lastDataAtMs: nowMs } : state, action: none };
    case 'exited': {
      if (!state.running) return { state, action: none };
      const fast = nowMs - state.startedAtMs < config.fastFailMs;
      const fastFailures = fast ? state.fastFailures + 1 : 0;
      const stopped = { ...state, running: false, fastFailures };
      if (fastFailures >= config.fastFailuresMax && state.count > 1) return leave(stopped, next(state), 'failures', nowMs, config);
      return { state: stopped, action: { kind: 'restart' } };
    }
    case 'probed': {
      if (state.probing !== event.rank) return { state, action: none };
      const done = { ...state, probing: null };
      if (event.rank >= state.active) return { state: done, action: none };
      if (event.ok) return leave(done, event.rank, 'recovered', nowMs, config);
      return { state: { ...done, retryAtMs: withAt(done.retryAtMs, event.rank, nowMs + done.retryAfterMs[event.rank]!) }, action: none };
    }
    case 'tick':
      return tick(state, nowMs, config);
  }
}

function tick(state: ChoiceState, nowMs: number, config: SourceChoiceConfig): ChoiceStep {
  if (!state.running) return { state, action: none };
  if (state.lastDataAtMs === null) {
    if (nowMs - state.startedAtMs >= config.startTimeoutMs) return leave(state, next(state), 'no-start', nowMs, config);
    return { state, action: none };
  }
  if (nowMs - state.lastDataAtMs >= config.stallTimeoutMs) return leave(state, next(state), 'stall', nowMs, config);
  let current = state;
  if (current.returned && nowMs - current.activeSinceMs >= config.stableRunMs) {
    // Trusted again: its next rest starts from the base.
    current = { ...current, returned: false, retryAfterMs: withAt(current.retryAfterMs, current.active, config.retryAfterMs) };
  }
  if (current.probing === null) {
    for (let rank = 0; rank < current.active; rank++) {
      const at = current.retryAtMs[rank];
      if (at !== null && at !== undefined && nowMs >= at) return { state: { ...current, probing: rank }, action: { kind: 'probe', rank } };
    }
  }
  return { state: current, action: none };
}

function next(state: ChoiceState): number {
  return (state.active + 1) % state.count;
}

/** Move from `active` to `to`: the source we leave rests if it is better than `to`. */
function leave(state: ChoiceState, to: number, reason: SwitchReason, nowMs: number, config: SourceChoiceConfig): ChoiceStep {
  const from = state.active;
  let retryAfterMs = state.retryAfterMs;
  if (state.returned && nowMs - state.activeSinceMs < config.stableRunMs && reason !== 'recovered') {
    retryAfterMs = withAt(retryAfterMs, from, Math.min(config.retryAfterMaxMs, retryAfterMs[from]! * 2));
  }
  // Only ranks better than the new active one wait for a probe.
  const retryAtMs = state.retryAtMs.map((at, rank) => (rank < to ? at : null));
  if (from < to) retryAtMs[from] = nowMs + retryAfterMs[from]!;
  const switched: ChoiceState = {
    ...state, active: to, running: false, activeSinceMs: nowMs, returned: reason === 'recovered', fastFailures: 0,
    probing: state.probing !== null && state.probing < to ? state.probing : null, retryAtMs, retryAfterMs,
  };
  return { state: switched, action: { kind: 'switch', to, reason } };
}

function withAt<T>(values: readonly T[], index: number, value: T): T[] {
  const copy = values.slice();
  copy[index] = value;
  return copy;
}
