// A closed-loop load: `clients` concurrent loops, each sending its next request as soon as the
// last one answered, for a fixed time. Stops by itself at the deadline or after `maxRequests`.
import { failureWord } from './first-success.ts';
import { round, summarize } from './stats.ts';

/** One request by client number `client`: true when acknowledged, else a word saying why not. */
export type Call = (client: number) => Promise<true | string>;

export interface LoadInit {
  readonly clients: number;
  readonly durationMs: number;
  /** Hard cap on requests started, whatever the duration. */
  readonly maxRequests: number;
  /** A client pauses this long after a failed request, so that errors cannot spin the CPU. */
  readonly pauseAfterErrorMs: number;
}

export interface LoadFigures {
  readonly writesPerS: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly ok: number;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  readonly seconds: number | null;
}

/** What one run of load saw, before figures are made of it: runs can be pooled (writes.ts
 *  interleaves short slices of two systems and reports each system's slices together). */
export interface LoadSample {
  readonly latMs: readonly number[];
  readonly errorKinds: ReadonlyMap<string, number>;
  readonly elapsedMs: number;
}

export async function sample(call: Call, init: LoadInit): Promise<LoadSample> {
  const latMs: number[] = [];
  const errorKinds = new Map<string, number>();
  let started = 0;
  const startMs = performance.now();
  const deadline = startMs + init.durationMs;
  const client = async (k: number): Promise<void> => {
    while (performance.now() < deadline && started < init.maxRequests) {
      started++;
      const t = performance.now();
      const outcome = await call(k).catch((err: unknown) => failureWord(err));
      if (outcome === true) {
        latMs.push(performance.now() - t);
        continue;
      }
      errorKinds.set(outcome, (errorKinds.get(outcome) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, init.pauseAfterErrorMs));
    }
  };
  await Promise.all(Array.from({ length: init.clients }, (_, k) => client(k)));
  return { latMs, errorKinds, elapsedMs: performance.now() - startMs };
}

/** The figures of one or more samples taken together (rates over their summed time). */
export function figures(samples: readonly LoadSample[]): LoadFigures {
  const latMs = samples.flatMap((x) => x.latMs);
  const elapsedMs = samples.reduce((sum, x) => sum + x.elapsedMs, 0);
  const errorKinds = new Map<string, number>();
  for (const x of samples) for (const [kind, n] of x.errorKinds) errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + n);
  const s = summarize(latMs);
  const errors = [...errorKinds.values()].reduce((a, b) => a + b, 0);
  return {
    writesPerS: Math.round((latMs.length / elapsedMs) * 1000),
    p50Ms: round(s.p50, 2),
    p99Ms: round(s.p99, 2),
    ok: latMs.length,
    errors,
    errorKinds: Object.fromEntries(errorKinds),
    seconds: round(elapsedMs / 1000, 2),
  };
}
