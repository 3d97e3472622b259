// Viewer stalls (pure): what a player would have felt, from what the ffmpeg viewers fetched.
//
// The records (viewers.ts): per viewer, its sessions (one ffmpeg on one node's stable URL; a
// viewer whose session ends reconnects to another node after a short delay, as a player behind
// a load balancer would) and the time each session opened each public segment (ffmpeg's hls
// demuxer logs "Opening '.../<n>.ts' for reading"; it reads as fast as segments are listed).
//
// The player model (hls.js-like, one player across the viewer's sessions):
// - a segment adds its EXTINF duration to the buffer when it is opened (its bytes follow within
//   milliseconds on these links: the model is optimistic by one segment's download time); a
//   number at or below the newest already buffered adds nothing (a new session starts three
//   segments behind the live edge, as hls.js does, and resumes after what the player has); a
//   jump past missing numbers is counted as skipped media, not as a stall;
// - playback starts with the first segment; from then on the buffer drains at 1 s/s;
// - a stall is the wall time from the buffer running empty until the next segment arrives (a
//   player resumes as soon as it has data at its position); a stall still going on at the end
//   ends there;
// - a session that ended keeps playing from the buffer: reconnecting costs only what the buffer
//   did not cover;
// - stalls shorter than `stallMinMs` (a player at the live edge after a rebuffer waits a few
//   tens of ms for each segment as it is produced) are counted apart, not as stalls: they are
//   barely visible, and hundreds of them would dilute the percentiles of the real ones.
// Each stall is attributed to a fault: one active while it happened (injected before it ended,
// healed after it began) or, failing that, one healed less than `aftermathMs` before it began
// (its consequences: re-placement, a restarted node catching up). 'gateway fault' when that
// fault hit a node the viewer was watching through during the stall, 'worker fault' when it
// did not, 'no fault' when there is none.
import type { CheckResult, FaultRecord } from './types.ts';
import { keptViolations, msFigure, percentile, sinceStart } from './check-format.ts';

export type ViewerRecord =
  | { readonly type: 'session'; readonly viewer: number; readonly session: number; readonly node: string; readonly stream: string; readonly atMs: number }
  | { readonly type: 'segment'; readonly viewer: number; readonly session: number; readonly n: number; readonly atMs: number }
  | { readonly type: 'end'; readonly viewer: number; readonly session: number; readonly atMs: number; readonly why: string };

export interface Stall {
  readonly viewer: number;
  readonly stream: string;
  readonly startMs: number;
  readonly endMs: number;
  /** The nodes the viewer watched through while it stalled (the session at its start, and any
   *  session started during it). */
  readonly nodes: readonly string[];
  /** Still stalled when the records end. */
  readonly ongoing: boolean;
}

export interface ViewerPlayback {
  readonly viewer: number;
  readonly stream: string;
  readonly stalls: readonly Stall[];
  /** From the first session's start to the first segment; null: it never played. */
  readonly startupMs: number | null;
  /** Public numbers the player jumped over. */
  readonly skipped: number;
  readonly sessions: number;
}

/** Plays one viewer's records through the model above. `durationS(stream, n)` gives a
 *  segment's EXTINF duration (the gateways' records, or the target duration). */
export function playback(records: readonly ViewerRecord[], durationS: (stream: string, n: number) => number): ViewerPlayback | null {
  const sessions = records.filter((r) => r.type === 'session').sort((a, b) => a.atMs - b.atMs);
  const first = sessions[0];
  if (first === undefined) return null;
  const segments = records.filter((r) => r.type === 'segment').sort((a, b) => a.atMs - b.atMs || a.n - b.n);
  const endMs = Math.max(...records.map((r) => r.atMs));
  const stalls: Stall[] = [];
  const nodesDuring = (fromMs: number, toMs: number) => {
    const atStart = sessions.filter((s) => s.atMs <= fromMs).at(-1);
    return [...new Set([...(atStart === undefined ? [] : [atStart.node]), ...sessions.filter((s) => s.atMs > fromMs && s.atMs <= toMs).map((s) => s.node)])];
  };
  let bufferS = 0;
  let clockMs = first.atMs;
  let started = false;
  let stalledSinceMs: number | null = null;
  let newest = -Infinity;
  let skipped = 0;
  let startupMs: number | null = null;
  const advance = (toMs: number) => {
    if (started && stalledSinceMs === null) {
      const playedS = (toMs - clockMs) / 1000;
      // A segment that comes the moment the buffer runs dry is no stall.
      if (playedS > bufferS) {
        stalledSinceMs = clockMs + bufferS * 1000;
        bufferS = 0;
      } else bufferS -= playedS;
    }
    clockMs = Math.max(clockMs, toMs);
  };
  for (const seg of segments) {
    if (seg.n <= newest) continue;
    if (newest !== -Infinity && seg.n > newest + 1) skipped += seg.n - newest - 1;
    advance(seg.atMs);
    bufferS += durationS(first.stream, seg.n);
    newest = seg.n;
    if (stalledSinceMs !== null) {
      stalls.push({ viewer: first.viewer, stream: first.stream, startMs: stalledSinceMs, endMs: seg.atMs, nodes: nodesDuring(stalledSinceMs, seg.atMs), ongoing: false });
      stalledSinceMs = null;
    }
    if (!started) {
      started = true;
      startupMs = seg.atMs - first.atMs;
    }
  }
  advance(endMs);
  if (stalledSinceMs !== null && endMs > stalledSinceMs) {
    stalls.push({ viewer: first.viewer, stream: first.stream, startMs: stalledSinceMs, endMs, nodes: nodesDuring(stalledSinceMs, endMs), ongoing: true });
  }
  return { viewer: first.viewer, stream: first.stream, stalls, startupMs, skipped, sessions: sessions.length };
}

/** Shorter stalls are counted apart (see above). */
export const stallMinMs = 250;

export type StallClass = 'worker fault' | 'gateway fault' | 'no fault';
export const stallClasses: readonly StallClass[] = ['worker fault', 'gateway fault', 'no fault'];

/** The class of a stall and the fault it is put down to (see above). */
export function attribute(stall: Stall, faults: readonly FaultRecord[], aftermathMs: number): { cls: StallClass; fault: FaultRecord | null } {
  const active = faults.filter((f) => f.injectedAtMs <= stall.endMs && (f.healedAtMs ?? Infinity) >= stall.startMs);
  const after = faults.filter((f) => f.healedAtMs !== null && f.healedAtMs < stall.startMs && f.healedAtMs + aftermathMs >= stall.startMs);
  for (const group of [active, after]) {
    if (group.length === 0) continue;
    const hitGateway = group.find((f) => f.nodes.some((n) => stall.nodes.includes(n)));
    if (hitGateway !== undefined) return { cls: 'gateway fault', fault: hitGateway };
    return { cls: 'worker fault', fault: [...group].sort((a, b) => b.injectedAtMs - a.injectedAtMs)[0]! };
  }
  return { cls: 'no fault', fault: null };
}

export interface StallsInit {
  readonly startedAtMs: number;
  /** Segment duration when no gateway recorded the segment's EXTINF. */
  readonly segmentS: number;
  readonly aftermathMs: number;
  /** The target for worker faults: p99 of stall durations at most this. */
  readonly workerP99MsMax: number;
}

export function checkStalls(records: readonly ViewerRecord[], durations: ReadonlyMap<string, number>, faults: readonly FaultRecord[], init: StallsInit): CheckResult {
  const durationS = (stream: string, n: number) => {
    const d = durations.get(`${stream} ${n}`);
    return d !== undefined && d > 0 ? d : init.segmentS;
  };
  const byViewer = new Map<number, ViewerRecord[]>();
  for (const r of records) {
    const list = byViewer.get(r.viewer);
    if (list === undefined) byViewer.set(r.viewer, [r]);
    else list.push(r);
  }
  const plays = [...byViewer.values()].map((list) => playback(list, durationS)).filter((p) => p !== null);
  const violations: string[] = [];
  const all = plays.flatMap((p) => p.stalls);
  const short = all.filter((s) => s.endMs - s.startMs < stallMinMs);
  const classified = all.filter((s) => s.endMs - s.startMs >= stallMinMs).map((s) => ({ s, ...attribute(s, faults, init.aftermathMs) }));
  const figures: Record<string, number | string> = {
    viewers: plays.length,
    sessions: plays.reduce((sum, p) => sum + p.sessions, 0),
    'startup p50 (ms)': msFigure(percentile(plays.flatMap((p) => (p.startupMs === null ? [] : [p.startupMs])), 50)),
    'never played': plays.filter((p) => p.startupMs === null).length,
    'skipped segments': plays.reduce((sum, p) => sum + p.skipped, 0),
    [`stalls under ${stallMinMs} ms (not counted)`]: short.length,
    [`stalls under ${stallMinMs} ms: total (ms)`]: Math.round(short.reduce((sum, s) => sum + s.endMs - s.startMs, 0)),
  };
  for (const cls of stallClasses) {
    const ms = classified.filter((c) => c.cls === cls).map((c) => c.s.endMs - c.s.startMs);
    figures[`${cls}: stalls`] = ms.length;
    figures[`${cls}: total (ms)`] = Math.round(ms.reduce((a, b) => a + b, 0));
    figures[`${cls}: p50/p99/max (ms)`] = ms.length === 0 ? '-' : `${msFigure(percentile(ms, 50))}/${msFigure(percentile(ms, 99))}/${msFigure(Math.max(...ms))}`;
  }
  const workerMs = classified.filter((c) => c.cls === 'worker fault').map((c) => c.s.endMs - c.s.startMs);
  const workerP99 = workerMs.length === 0 ? 0 : percentile(workerMs, 99);
  figures['worker-fault p99 target (ms)'] = init.workerP99MsMax;
  if (workerP99 > init.workerP99MsMax) {
    for (const c of classified.filter((x) => x.cls === 'worker fault' && x.s.endMs - x.s.startMs > init.workerP99MsMax)) {
      violations.push(`viewer ${c.s.viewer} (/live/${c.s.stream} via ${c.s.nodes.join(', ')}) stalled ${Math.round(c.s.endMs - c.s.startMs)} ms from ${sinceStart(c.s.startMs, init.startedAtMs)}${c.s.ongoing ? ' (still at the end)' : ''}, during fault ${c.fault!.id} (${c.fault!.kind} of ${c.fault!.nodes.join(', ')})`);
    }
  }
  for (const p of plays.filter((x) => x.startupMs === null)) violations.push(`viewer ${p.viewer} (/live/${p.stream}) never received a segment`);
  return { name: 'stalls', ok: violations.length === 0, figures, violations: keptViolations(violations) };
}
