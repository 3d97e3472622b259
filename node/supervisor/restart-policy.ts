// When to start ffmpeg again after it ended on its own: exponential backoff with jitter, capped,
// and forgotten after a stable run (pure; table-tested in test/supervisor/restart-policy.test.ts).
// A crash loop on a bad source costs a few starts a minute at the cap instead of a busy loop,
// and one crash after hours of good running restarts at once (well, after initialDelayMs).

export interface RestartPolicyConfig {
  /** Delay before the first restart after a stable run. Default 500. */
  readonly initialDelayMs: number;
  /** Each further consecutive failure multiplies the delay by this. Default 2. */
  readonly multiplier: number;
  /** Cap on the delay, jitter included. Default 30,000. */
  readonly maxDelayMs: number;
  /** The delay varies by up to +/- this fraction, so that streams that fail together (a source
   *  server restarting) do not all come back in the same instant. Default 0.2. */
  readonly jitterRatio: number;
  /** A run at least this long counts as stable: the failure count starts over. Default 30,000. */
  readonly stableRunMs: number;
}

export const defaultRestartPolicy: RestartPolicyConfig = {
  initialDelayMs: 500,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitterRatio: 0.2,
  stableRunMs: 30_000,
};

/** Failures since the last stable run (0: none yet). */
export interface RestartState {
  readonly failures: number;
}

export const initialRestartState: RestartState = { failures: 0 };

export interface RestartDecision {
  readonly state: RestartState;
  readonly delayMs: number;
}

/**
 * After ffmpeg ended on its own after running `runMs`: the delay before the next start.
 * `random01` is a value in [0, 1) from the caller's random source (0.5: no jitter).
 */
export function afterExit(state: RestartState, runMs: number, random01: number, config: RestartPolicyConfig = defaultRestartPolicy): RestartDecision {
  const failures = runMs >= config.stableRunMs ? 1 : state.failures + 1;
  return { state: { failures }, delayMs: backoffDelayMs(failures, random01, config) };
}

/** The delay before restart number `failures` (1 = the first since a stable run). */
export function backoffDelayMs(failures: number, random01: number, config: RestartPolicyConfig = defaultRestartPolicy): number {
  if (failures < 1) return 0;
  // Past the cap the exponent no longer matters; stopping it early keeps the power finite.
  const steps = Math.min(failures - 1, 64);
  const baseMs = Math.min(config.maxDelayMs, config.initialDelayMs * config.multiplier ** steps);
  const jitter = 1 + config.jitterRatio * (2 * clamp01(random01) - 1);
  return Math.round(Math.min(config.maxDelayMs, baseMs * jitter));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}
