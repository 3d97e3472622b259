// The failover clock: after a kill, every surviving node gets a stream of writes, a new one
// every `launchIntervalMs` whether or not the earlier ones answered (etcd holds a put sent
// during an election until its own timeout, ottmesh answers 503 at once: launching on a fixed
// beat gives both the same resolution). The first write any survivor acknowledges stops the
// clock. What failed before that is counted by kind, to show where the time went.

/** One attempt: `true` on success, or a short word saying how it failed. */
export type Attempt = () => Promise<true | string>;

export interface RaceInit {
  /** The instant the clock started (performance.now()), e.g. just before the kill. */
  readonly startMs: number;
  /** Give up when nothing succeeded by then: a failover that never completes. */
  readonly giveUpAfterMs: number;
  /** A new attempt per survivor this often: the clock's resolution. */
  readonly launchIntervalMs: number;
  /** Bound on one survivor's unanswered attempts; launching waits while it is reached. */
  readonly maxInFlightPerLoop: number;
}

export interface RaceResult {
  /** From `startMs` to the first acknowledged write; null if none within `giveUpAfterMs`. */
  readonly ms: number | null;
  /** Which loop won (index into the attempts). */
  readonly winner: number | null;
  readonly attempts: number;
  readonly failures: ReadonlyMap<string, number>;
}

/** Resolves once every attempt launched has settled, so none outlives the trial. */
export async function firstSuccess(loops: readonly Attempt[], init: RaceInit): Promise<RaceResult> {
  const deadline = init.startMs + init.giveUpAfterMs;
  const failures = new Map<string, number>();
  const launched: Promise<void>[] = [];
  let done: { ms: number; winner: number } | null = null;
  const one = async (attempt: Attempt, index: number): Promise<void> => {
    const outcome = await attempt().catch((err: unknown) => failureWord(err));
    if (outcome === true) done ??= { ms: performance.now() - init.startMs, winner: index };
    else if (done === null) failures.set(outcome, (failures.get(outcome) ?? 0) + 1);
  };
  const launcher = async (attempt: Attempt, index: number): Promise<void> => {
    let inFlight = 0;
    while (done === null && performance.now() < deadline) {
      if (inFlight < init.maxInFlightPerLoop) {
        inFlight++;
        launched.push(one(attempt, index).finally(() => inFlight--));
      }
      await new Promise((r) => setTimeout(r, init.launchIntervalMs));
    }
  };
  await Promise.all(loops.map(launcher));
  await Promise.all(launched);
  const result = done as { ms: number; winner: number } | null;
  return { ms: result?.ms ?? null, winner: result?.winner ?? null, attempts: launched.length, failures };
}

/** A network error's code (ECONNREFUSED...), or its name. */
export function failureWord(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : 'error';
}

/** "503 x12, ECONNREFUSED x3", most frequent first. */
export function describeFailures(failures: ReadonlyMap<string, number>): string {
  const parts = [...failures].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} x${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** Adds `from` into `into` (the failure counts of all trials). */
export function addFailures(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}

/** Polls `probe` every `everyMs` until it says yes: ms since `startMs`, or null by `deadlineMs`
 *  if it never does by `deadlineMs` (a performance.now() instant). */
export async function timeUntil(probe: () => Promise<boolean>, startMs: number, deadlineMs: number, everyMs: number): Promise<number | null> {
  while (performance.now() < deadlineMs) {
    if (await probe()) return performance.now() - startMs;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return null;
}
