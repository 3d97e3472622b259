// Small pure helpers the checkers share: times relative to the run's start, percentiles, and a
// bound on how many violations are spelled out (one bug can repeat thousands of times).

/** Violations kept with their text; more are counted in the figures only. */
export const violationsKeptMax = 40;

/** "+12.3 s": `atMs` (wall clock) relative to the run's start. */
export function sinceStart(atMs: number, startedAtMs: number): string {
  return `+${((atMs - startedAtMs) / 1000).toFixed(1)} s`;
}

/** The p-th percentile (nearest rank) of values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** A figure for the report: a whole number of ms, or 'n/a' when nothing was measured. */
export function msFigure(x: number): number | string {
  return Number.isFinite(x) ? Math.round(x) : 'n/a';
}

/** The first `violationsKeptMax` violations, and a last line saying how many more there were. */
export function keptViolations(all: readonly string[]): string[] {
  if (all.length <= violationsKeptMax) return [...all];
  return [...all.slice(0, violationsKeptMax), `... and ${all.length - violationsKeptMax} more`];
}
