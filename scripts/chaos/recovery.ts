// Recovery (pure): after each fault heals, every channel runs again and every node's stable URL
// lists a new segment within the bound.
//
// For a fault healed at H and each channel S: S has recovered at the first time T >= H when
// (1) the committed view says S is 'running' (assignment records), and (2) every node's gateway
// has listed a public number of S above the highest any gateway listed up to H (listing
// records). The fault's recovery time is the longest over the channels, T - H.
// A heal while another fault is still active is not judged (that fault's heal is); nor is one
// whose window is cut short by the next fault before it recovered ('interrupted'), or by the end
// of the records (the last fault of a run: the observers stop once the harness saw every channel
// running; 'left to the final state'). The final state (all channels running and advancing at
// every node once the run has settled, FinalChannelState) is checked for every run.
import type { CheckResult, FaultRecord } from './types.ts';
import type { AssignmentRecord } from './fencing.ts';
import type { ListingRecord } from './gateways.ts';
import { keptViolations, msFigure, percentile, sinceStart } from './check-format.ts';

/** What the final-state probe saw per channel (checks.ts). */
export interface FinalChannelState {
  readonly stream: string;
  /** Status in the committed view (null: no node answered). */
  readonly status: string | null;
  /** Nodes whose stable URL did not list a newer segment during the probe. */
  readonly notAdvancing: readonly string[];
}

export interface RecoveryInit {
  readonly startedAtMs: number;
  readonly boundMs: number;
  readonly nodes: readonly string[];
  readonly streams: readonly string[];
  /** When the records end (the observers stopped). */
  readonly recordsEndMs: number;
}

type Verdict = { kind: 'recovered'; ms: number; slowest: string } | { kind: 'down'; streams: string[] } | { kind: 'interrupted' } | { kind: 'overlapped' } | { kind: 'unfinished' };

/** When S is 'running' in the committed view from H on (Infinity: never). */
function runningFrom(assignments: readonly AssignmentRecord[], stream: string, healMs: number): number {
  let inForce: AssignmentRecord | undefined;
  for (const a of assignments) {
    if (a.atMs <= healMs) {
      inForce = a;
      continue;
    }
    if (inForce?.streams[stream]?.status === 'running') return Math.max(healMs, inForce.atMs);
    inForce = a;
  }
  return inForce?.streams[stream]?.status === 'running' ? Math.max(healMs, inForce.atMs) : Infinity;
}

/** When every node lists a number of S above what any gateway listed up to H (Infinity: never). */
function listedNewFrom(listings: readonly ListingRecord[], stream: string, healMs: number, nodes: readonly string[]): number {
  const mine = listings.filter((l) => l.stream === stream);
  const before = Math.max(-1, ...mine.filter((l) => l.atMs <= healMs).map((l) => l.last));
  let latest = healMs;
  for (const node of nodes) {
    const first = mine.find((l) => l.node === node && l.atMs > healMs && l.last > before);
    if (first === undefined) return Infinity;
    latest = Math.max(latest, first.atMs);
  }
  return latest;
}

export function judgeHeal(fault: FaultRecord, faults: readonly FaultRecord[], assignments: readonly AssignmentRecord[], listings: readonly ListingRecord[], init: RecoveryInit): Verdict {
  const healMs = fault.healedAtMs!;
  if (faults.some((f) => f !== fault && f.injectedAtMs < healMs && (f.healedAtMs === null || f.healedAtMs > healMs))) return { kind: 'overlapped' };
  const nextMs = Math.min(...faults.filter((f) => f.injectedAtMs > healMs).map((f) => f.injectedAtMs));
  const limitMs = healMs + init.boundMs;
  const at = new Map(init.streams.map((stream) => [stream, Math.max(runningFrom(assignments, stream, healMs), listedNewFrom(listings, stream, healMs, init.nodes))]));
  // Recovery after the next fault began is that fault's business, not this one's.
  if (nextMs < limitMs && [...at.values()].some((t) => t > nextMs)) return { kind: 'interrupted' };
  if (init.recordsEndMs < limitMs && [...at.values()].some((t) => t > init.recordsEndMs)) return { kind: 'unfinished' };
  const down = init.streams.filter((stream) => at.get(stream)! > limitMs);
  if (down.length > 0) return { kind: 'down', streams: down };
  let slowest = init.streams[0] ?? '';
  for (const stream of init.streams) if (at.get(stream)! > at.get(slowest)!) slowest = stream;
  return { kind: 'recovered', ms: init.streams.length === 0 ? 0 : at.get(slowest)! - healMs, slowest };
}

export function checkRecovery(faults: readonly FaultRecord[], assignments: readonly AssignmentRecord[], listings: readonly ListingRecord[], final: readonly FinalChannelState[], init: RecoveryInit): CheckResult {
  const violations: string[] = [];
  const times: number[] = [];
  let interrupted = 0;
  let overlapped = 0;
  let unfinished = 0;
  let downAfterHeal = 0;
  const healed = faults.filter((f) => f.healedAtMs !== null).sort((a, b) => a.healedAtMs! - b.healedAtMs!);
  for (const f of healed) {
    const v = judgeHeal(f, faults, assignments, listings, init);
    if (v.kind === 'recovered') times.push(v.ms);
    else if (v.kind === 'interrupted') interrupted++;
    else if (v.kind === 'overlapped') overlapped++;
    else if (v.kind === 'unfinished') unfinished++;
    else {
      downAfterHeal += v.streams.length;
      violations.push(`fault ${f.id} (${f.kind} of ${f.nodes.join(', ')}) healed at ${sinceStart(f.healedAtMs!, init.startedAtMs)}: ${v.streams.join(', ')} not running with a new segment at every node within ${init.boundMs} ms`);
    }
  }
  for (const f of faults.filter((x) => x.healedAtMs === null)) violations.push(`fault ${f.id} (${f.kind} of ${f.nodes.join(', ')}) was never healed`);
  const notRunning = final.filter((c) => c.status !== 'running' || c.notAdvancing.length > 0);
  for (const c of notRunning) {
    violations.push(`at the end ${c.stream} is ${c.status ?? 'unknown (no node answered)'}${c.notAdvancing.length > 0 ? `, no new segment at ${c.notAdvancing.join(', ')}` : ''}`);
  }
  return {
    name: 'recovery',
    ok: violations.length === 0,
    figures: {
      'heals judged': times.length + downAfterHeal,
      'interrupted by the next fault': interrupted,
      'overlapping another fault': overlapped,
      'left to the final state (records ended)': unfinished,
      'p50 time to recover (ms)': msFigure(percentile(times, 50)),
      'max time to recover (ms)': times.length === 0 ? 'n/a' : Math.round(Math.max(...times)),
      'bound (ms)': init.boundMs,
      'channels down after heal': downAfterHeal,
      'running at the end': `${final.length - notRunning.length}/${init.streams.length}`,
    },
    violations: keptViolations(violations),
  };
}
