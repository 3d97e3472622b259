// Fencing (pure): no channel may be run by a worker that the committed assignment no longer
// names for longer than the fencing bound.
//
// What is recorded (proc-sampler.ts, assignment-sampler.ts):
// - every ~250 ms, the channel ffmpeg processes on this machine: each one's node (its data dir,
//   from the output path in its command line), stream and epoch (the path is
//   <dataDir>/streams/<stream>/<epoch>/index.m3u8, node/supervisor/ffmpeg-args.ts) and whether
//   it runs (a stopped 'T' process, e.g. under a paused node, does not);
// - every ~500 ms, the committed assignments (GET /api/v1/streams, a read-index read, from any
//   node that answers): per stream the active worker and epoch, and the standby worker.
// Both are written only when they change, with the time of the sample before the change, so a
// state is known to have lasted from its record's time to the next record's `prevAtMs`.
//
// The rule: an assignment of stream S names process (node N, S, epoch E) when N is its active
// worker with epoch E, or N is its standby with epoch E (GET /api/v1/streams standbyEpoch; in
// records of runs from before that field, any epoch above the active one, which cannot tell a
// standby replaced by another on the same node before any switch). A process
// is stale while it runs and the assignment in force (the newest record) does not name it; its
// stale run is the total such time, with interval ends at sample times. That includes the short
// time between a new worker's start and the first sample showing its commit: inside the slack.
// The bound is fenceAfterMs (a cut-off worker stops its streams after that long without a
// leader, node/channels.ts) plus the measurement slack: two process-sampling periods (the last
// sample that saw a process may be up to one period before its end, and sampling runs late by
// up to one more under load) and 1 s (the assignment sample lags the commit by up to its 500 ms
// period plus the read's own time).
import type { CheckResult } from './types.ts';
import { keptViolations, sinceStart } from './check-format.ts';

export interface ChannelProcess {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): with the pid, the
   *  identity of a process (pids are reused). */
  readonly startTicks: number;
  readonly node: string;
  readonly stream: string;
  readonly epoch: number;
  readonly running: boolean;
}

export interface ProcessRecord {
  /** When this set of processes was first seen. */
  readonly atMs: number;
  /** The previous sample (which still saw the previous set); null for the first record. */
  readonly prevAtMs: number | null;
  readonly procs: readonly ChannelProcess[];
}

export interface StreamAssignment {
  /** Node names (ids when the name is not known). */
  readonly nodeId: string | null;
  readonly epoch: number | null;
  readonly standby: string | null;
  /** The standby's epoch (GET /api/v1/streams standbyEpoch); absent in records of older runs. */
  readonly standbyEpoch?: number | null;
  readonly status: string;
}

export interface AssignmentRecord {
  /** When the answer arrived (the commit happened before). */
  readonly atMs: number;
  readonly prevAtMs: number | null;
  /** The node that answered. */
  readonly via: string;
  readonly streams: Readonly<Record<string, StreamAssignment>>;
}

/** The fencing bound for a run: fenceAfterMs plus the measurement slack (see above). */
export function fencingBoundMs(fenceAfterMs: number, processSampleMs: number): number {
  return fenceAfterMs + 2 * processSampleMs + 1_000;
}

/** The output path of a channel ffmpeg: <dataDir>/streams/<stream>/<epoch>/index.m3u8. */
const outputPattern = /^(.+)\/streams\/([^/]+)\/(\d+)\/index\.m3u8$/;

/** The node, stream and epoch of a channel ffmpeg from its argv (/proc/<pid>/cmdline split at
 *  NULs), given the nodes' data dirs (dir -> node name); null for any other process (viewers,
 *  probes, sources, another cluster's channels). */
export function channelOf(argv: readonly string[], dataDirs: ReadonlyMap<string, string>): { node: string; stream: string; epoch: number } | null {
  const program = argv[0]?.split('/').at(-1);
  if (program !== 'ffmpeg') return null;
  const m = outputPattern.exec(argv.at(-1) ?? '');
  if (m === null) return null;
  const node = dataDirs.get(m[1]!.replace(/\/+$/, ''));
  return node === undefined ? null : { node, stream: m[2]!, epoch: Number(m[3]) };
}

/** State letter and start ticks from /proc/<pid>/stat (fields 3 and 22); null if malformed. */
export function parseStat(stat: string): { state: string; startTicks: number } | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  const startTicks = Number(fields[19]);
  return fields[0] === undefined || !Number.isFinite(startTicks) ? null : { state: fields[0], startTicks };
}

/** Running: not stopped (T, t), dead or a zombie (Z, X, x). */
export function isRunningState(state: string): boolean {
  return !['T', 't', 'Z', 'X', 'x'].includes(state);
}

/** True when assignment `a` (undefined: the stream has none) names process p. */
export function names(a: StreamAssignment | undefined, p: Pick<ChannelProcess, 'node' | 'epoch'>): boolean {
  if (a === undefined || a.epoch === null) return false;
  if (p.node === a.nodeId && p.epoch === a.epoch) return true;
  if (p.node !== a.standby) return false;
  return a.standbyEpoch === undefined || a.standbyEpoch === null ? p.epoch > a.epoch : p.epoch === a.standbyEpoch;
}

interface Instance {
  readonly first: ChannelProcess;
  /** [from, to] intervals in which it was seen running. */
  readonly running: [number, number][];
}

function instancesOf(records: readonly ProcessRecord[]): Map<string, Instance> {
  const out = new Map<string, Instance>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const until = records[i + 1]?.prevAtMs ?? r.atMs;
    for (const p of r.procs) {
      const key = `${p.pid}:${p.startTicks}`;
      let inst = out.get(key);
      if (inst === undefined) out.set(key, (inst = { first: p, running: [] }));
      if (p.running) inst.running.push([r.atMs, Math.max(r.atMs, until)]);
    }
  }
  return out;
}

/** The stale run of process p: its running time while the assignment in force did not name
 *  it (running before the first assignment record is not judged), and when that began. */
export function staleRun(assignments: readonly AssignmentRecord[], running: readonly (readonly [number, number])[], p: ChannelProcess): { fromMs: number; runMs: number } | null {
  let fromMs = Infinity;
  let runMs = 0;
  let seen = false;
  for (let i = 0; i < assignments.length; i++) {
    const a = assignments[i]!;
    if (names(a.streams[p.stream], p)) continue;
    const untilMs = assignments[i + 1]?.atMs ?? Infinity;
    for (const [from, to] of running) {
      const start = Math.max(from, a.atMs);
      const end = Math.min(to, untilMs);
      if (end < start) continue;
      seen = true;
      fromMs = Math.min(fromMs, start);
      runMs += end - start;
    }
  }
  return seen ? { fromMs, runMs } : null;
}

export interface FencingInit {
  readonly boundMs: number;
  readonly startedAtMs: number;
}

export function checkFencing(records: readonly ProcessRecord[], assignments: readonly AssignmentRecord[], init: FencingInit): CheckResult {
  const violations: string[] = [];
  const stale: { p: ChannelProcess; fromMs: number; runMs: number }[] = [];
  const instances = instancesOf(records);
  for (const inst of instances.values()) {
    const run = staleRun(assignments, inst.running, inst.first);
    if (run !== null) stale.push({ p: inst.first, ...run });
  }
  stale.sort((a, b) => a.fromMs - b.fromMs);
  const over = stale.filter((s) => s.runMs > init.boundMs);
  for (const s of over) {
    violations.push(`stream ${s.p.stream} epoch ${s.p.epoch} ran on ${s.p.node} (pid ${s.p.pid}) ${s.runMs} ms while the committed assignment did not name it (from ${sinceStart(s.fromMs, init.startedAtMs)}; bound ${init.boundMs} ms)`);
  }
  return {
    name: 'fencing',
    ok: violations.length === 0,
    figures: {
      'channel processes seen': instances.size,
      'seen running unnamed': stale.length,
      'max stale run (ms)': stale.length === 0 ? 0 : Math.max(...stale.map((s) => s.runMs)),
      'bound (ms)': init.boundMs,
      'over bound': over.length,
      'process samples recorded': records.length,
      'assignment samples recorded': assignments.length,
    },
    violations: keptViolations(violations),
  };
}
