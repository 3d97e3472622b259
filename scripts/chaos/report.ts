// The chaos run's report (pure): what ran, every fault with its times, every check with its
// figures and violations, and the line that replays the run. Text for people, one JSON object
// (the last line of output with --json) for machines.
import type { CheckResult, FaultKind, FaultRecord } from './types.ts';

/** A fault as the report tells it. */
export interface FaultOutcome {
  readonly record: FaultRecord;
  /** From the heal until every channel ran again, as the harness polled it (ms, every 2 s);
   *  null when not within the quiet gap after it. */
  allRunningAfterHealMs: number | null;
}

export interface ChaosReport {
  readonly seed: number;
  readonly minutes: number;
  readonly mode: 'netns' | 'loopback';
  readonly nodes: number;
  readonly voters: number;
  readonly channels: number;
  readonly viewers: number;
  readonly outDir: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** Fault kinds this mode cannot inject, each with why. */
  readonly notCovered: readonly string[];
  readonly faults: readonly FaultOutcome[];
  /** Faults of the schedule that could not be injected, with why. */
  readonly skipped: readonly string[];
  /** What the run saw that is not a violation but worth reading. */
  readonly notes: readonly string[];
  readonly checks: readonly CheckResult[];
  /** The command that runs the same schedule again. */
  readonly replay: string;
}

export function reportOk(report: ChaosReport): boolean {
  return report.checks.length > 0 && report.checks.every((c) => c.ok);
}

function at(ms: number | null, startedAtMs: number): string {
  return ms === null ? 'not healed' : `+${((ms - startedAtMs) / 1000).toFixed(1)} s`;
}

/** Faults by kind: how many of each. */
export function faultsByKind(faults: readonly FaultOutcome[]): Partial<Record<FaultKind, number>> {
  const out: Partial<Record<FaultKind, number>> = {};
  for (const f of faults) out[f.record.kind] = (out[f.record.kind] ?? 0) + 1;
  return out;
}

export function reportText(r: ChaosReport): string[] {
  const lines: string[] = [];
  const ok = reportOk(r);
  lines.push(`chaos: seed ${r.seed}, ${r.minutes} min, mode ${r.mode}: ${r.nodes} nodes (${r.voters} voters), ${r.channels} channels (copy, hot standby), ${r.viewers} viewers`);
  lines.push(`  records: ${r.outDir}`);
  lines.push(`  run took ${Math.round((r.endedAtMs - r.startedAtMs) / 1000)} s; replay: ${r.replay}`);
  for (const n of r.notCovered) lines.push(`  not covered in this mode: ${n}`);
  const byKind = Object.entries(faultsByKind(r.faults)).map(([k, n]) => `${k} ${n}`).join(', ');
  lines.push('', `faults: ${r.faults.length} injected${byKind === '' ? '' : ` (${byKind})`}${r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : ''}`);
  for (const f of r.faults) {
    const rec = f.record;
    const lasted = rec.healedAtMs === null ? '' : ` for ${((rec.healedAtMs - rec.injectedAtMs) / 1000).toFixed(1)} s`;
    const back = f.allRunningAfterHealMs === null ? 'channels not all running within the gap' : `all channels running ${(f.allRunningAfterHealMs / 1000).toFixed(1)} s after heal`;
    lines.push(`  #${rec.id} ${rec.kind} [${rec.role}] ${rec.nodes.join('+')} at ${at(rec.injectedAtMs, r.startedAtMs)}${lasted}; ${back}`);
    lines.push(`     ${rec.detail}`);
  }
  for (const s of r.skipped) lines.push(`  skipped: ${s}`);
  if (r.notes.length > 0) lines.push('', 'notes:', ...r.notes.map((n) => `  ${n}`));
  lines.push('', 'checks:');
  if (r.checks.length === 0) lines.push('  none ran (the run stopped before its final check)');
  for (const c of r.checks) {
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${Object.entries(c.figures).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const v of c.violations) lines.push(`       - ${v}`);
  }
  lines.push('', `${ok ? 'PASS' : 'FAIL'}: seed ${r.seed} (${r.replay})`);
  return lines;
}

/** The report as one JSON object on one line. */
export function reportJson(r: ChaosReport): string {
  return JSON.stringify({
    ok: reportOk(r), seed: r.seed, minutes: r.minutes, mode: r.mode, nodes: r.nodes, voters: r.voters, channels: r.channels, viewers: r.viewers,
    out_dir: r.outDir, started_at: new Date(r.startedAtMs).toISOString(), duration_s: Math.round((r.endedAtMs - r.startedAtMs) / 1000),
    not_covered: r.notCovered, faults_by_kind: faultsByKind(r.faults),
    faults: r.faults.map((f) => ({
      ...f.record,
      injected_s: round1((f.record.injectedAtMs - r.startedAtMs) / 1000),
      healed_s: f.record.healedAtMs === null ? null : round1((f.record.healedAtMs - r.startedAtMs) / 1000),
      all_running_after_heal_ms: f.allRunningAfterHealMs,
    })),
    skipped: r.skipped, notes: r.notes, checks: r.checks, replay: r.replay,
  });
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
