// CPU and memory of one process from /proc (Linux). CPU is a rate over the last samples (up to
// cpuWindowSamples): the first sample reports 0 %. Where /proc is missing (another OS) or the
// process is gone, a sample is null and the figures are left out rather than made up.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/** Linux reports /proc/<pid>/stat times in USER_HZ ticks, which the kernel ABI fixes at 100 on
 *  every architecture Debian ships (sysconf(_SC_CLK_TCK); Node has no binding for it). */
export const clockTicksPerS = 100;

/** CPU is averaged over this many sample intervals: at 100 ticks a second, one 1 s interval
 *  sees a remuxing ffmpeg (about 0.4 %) as 0 or 1 %; ten see it to 0.1 %. */
export const cpuWindowSamples = 10;

export interface ProcFigures {
  /** Percent of one core over the last samples (can exceed 100 with threads on several cores). */
  readonly cpuPct: number;
  readonly rssBytes: number;
}

/** utime + stime in ticks from the text of /proc/<pid>/stat. The command name (field 2) is in
 *  parentheses and may contain spaces or ')', so fields are counted from the last ')'. */
export function parseCpuTicks(statText: string): number | null {
  const close = statText.lastIndexOf(')');
  if (close < 0) return null;
  // After ')': state is field 3, so utime (14) and stime (15) are at indices 11 and 12.
  const fields = statText.slice(close + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** VmRSS in bytes from the text of /proc/<pid>/status. */
export function parseRssBytes(statusText: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return match === null ? null : Number(match[1]) * 1024;
}

export class ProcSampler {
  readonly pid: number;
  /** Oldest first, at most cpuWindowSamples + 1. */
  readonly #history: { atMs: number; ticks: number }[] = [];

  constructor(pid: number) {
    this.pid = pid;
  }

  /** Never rejects: a vanished process or a missing /proc gives null. */
  async sample(): Promise<ProcFigures | null> {
    let stat: string;
    let status: string;
    try {
      [stat, status] = await Promise.all([readFile(`/proc/${this.pid}/stat`, 'utf8'), readFile(`/proc/${this.pid}/status`, 'utf8')]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== undefined) return null;
      throw err;
    }
    const ticks = parseCpuTicks(stat);
    const rssBytes = parseRssBytes(status);
    if (ticks === null || rssBytes === null) return null;
    const atMs = performance.now();
    this.#history.push({ atMs, ticks });
    if (this.#history.length > cpuWindowSamples + 1) this.#history.shift();
    const oldest = this.#history[0]!;
    const elapsedMs = atMs - oldest.atMs;
    const cpuPct = elapsedMs > 0 ? (((ticks - oldest.ticks) * 1000) / clockTicksPerS / elapsedMs) * 100 : 0;
    return { cpuPct: Math.max(0, Math.round(cpuPct * 100) / 100), rssBytes };
  }
}
