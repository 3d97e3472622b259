// Small shared pieces of the cluster benchmarks (failover, writes): percentiles, rounding, the
// machine line, and a two-column table printer.
import { cpus, totalmem } from 'node:os';

/** The p-th percentile (nearest rank) of ascending values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

/** Rounds to `digits` decimals; NaN (nothing measured) becomes null so the JSON says so. */
export function round(x: number, digits = 1): number | null {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** a / b rounded, or null when either is missing. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  return round(a / b, 2);
}

export function machine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'unknown cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

/** Prints a title, then rows of cells in aligned columns (the first row is the header). */
export function printTable(title: readonly string[], rows: readonly (readonly string[])[]): void {
  const columns = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const line of title) console.log(line);
  for (const row of rows) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}`);
}

/** "12.3 ms", or "n/a" when the figure is missing. */
export function ms(x: number | null): string {
  return x === null ? 'n/a' : `${x} ms`;
}

/** Runs `body`, and whatever happens (error, Ctrl-C), runs `cleanup` once before leaving. */
export async function withCleanup<T>(cleanup: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  let cleaned: Promise<void> | null = null;
  const once = (): Promise<void> => (cleaned ??= cleanup());
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`bench: ${signal}: stopping the clusters and removing their temp dirs`);
    void once().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await once();
  }
}

/** Bad options: one line saying what to pass, exit code 2, and the suite does not run. */
export function refuse(suite: string, problem: string): void {
  console.error(`bench ${suite}: ${problem}`);
  process.exitCode = 2;
}
