// Measures the host for the telemetry report (an adapter: reads node:os, /proc and the file
// system). Rates (cpu %, network bytes/s) are deltas between two samples, so the first sample
// after start reports them as 0: there is nothing to compare with yet.
import { readFile, statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { CpuInfo } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { HostFigures } from './report.ts';

/** What the gossip service needs from a sampler. May reject (e.g. the data dir vanished). */
export interface Sampler {
  sample(): Promise<HostFigures>;
}

export interface HostSamplerInit {
  /** The node's data dir: its file system's free space is reported. */
  readonly dataDir: string;
  /** Default /proc/net/dev (Linux). Elsewhere it does not exist and network rates are 0. */
  readonly procNetDevPath?: string;
}

export interface CpuTimes {
  readonly idleMs: number;
  readonly totalMs: number;
}

export interface NetCounters {
  readonly rxBytes: number;
  readonly txBytes: number;
  /** True when only the loopback interface was there to count. */
  readonly loopbackOnly: boolean;
}

export class HostSampler implements Sampler {
  readonly #dataDir: string;
  readonly #procNetDevPath: string;
  #prev: { atMs: number; cpu: CpuTimes; net: NetCounters | null } | null = null;

  constructor(init: HostSamplerInit) {
    this.#dataDir = init.dataDir;
    this.#procNetDevPath = init.procNetDevPath ?? '/proc/net/dev';
  }

  /** Never overlapping calls are needed: each call compares with the previous call's counters. */
  async sample(): Promise<HostFigures> {
    const [net, disk] = await Promise.all([this.#readNet(), statfs(this.#dataDir)]);
    const atMs = performance.now();
    const cores = cpus();
    const cpu = sumCpuTimes(cores);
    const prev = this.#prev;
    this.#prev = { atMs, cpu, net };
    const elapsedMs = prev === null ? 0 : atMs - prev.atMs;
    // Counters from different interface sets (loopback-only then not, or back) do not compare.
    const prevNet = prev?.net?.loopbackOnly === net?.loopbackOnly ? prev?.net : undefined;
    const [load1 = 0, load5 = 0, load15 = 0] = loadavg();
    const memTotalBytes = totalmem();
    // freemem() is MemAvailable on Linux (page cache counts as free), the figure that matters
    // for starting another ffmpeg. It is the host's, not a container's cgroup limit.
    const memUsedBytes = Math.max(0, memTotalBytes - freemem());
    return {
      cpuPct: prev === null ? 0 : cpuPctBetween(prev.cpu, cpu),
      cores: cores.length,
      load1, load5, load15,
      memUsedBytes,
      memTotalBytes,
      memPct: memTotalBytes > 0 ? round2(Math.min(100, (memUsedBytes / memTotalBytes) * 100)) : 0,
      netRxBytesPerS: ratePerS(prevNet?.rxBytes, net?.rxBytes, elapsedMs),
      netTxBytesPerS: ratePerS(prevNet?.txBytes, net?.txBytes, elapsedMs),
      diskFreeBytes: disk.bavail * disk.bsize,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  async #readNet(): Promise<NetCounters | null> {
    try {
      return parseProcNetDev(await readFile(this.#procNetDevPath, 'utf8'));
    } catch (err) {
      // No /proc (not Linux) or unreadable: network rates are reported as 0 rather than
      // failing the whole report, since liveness matters more than this figure.
      if ((err as NodeJS.ErrnoException).code !== undefined) return null;
      throw err;
    }
  }
}

/** Idle and total cpu time summed over all cores. */
export function sumCpuTimes(infos: readonly CpuInfo[]): CpuTimes {
  let idleMs = 0;
  let totalMs = 0;
  for (const { times } of infos) {
    idleMs += times.idle;
    totalMs += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idleMs, totalMs };
}

/** Busy share of all cores between two readings, 0-100. 0 if no time passed (or counters
 *  went back, e.g. a core went offline). */
export function cpuPctBetween(prev: CpuTimes, cur: CpuTimes): number {
  const totalMs = cur.totalMs - prev.totalMs;
  const idleMs = cur.idleMs - prev.idleMs;
  if (totalMs <= 0 || idleMs < 0) return 0;
  return round2(Math.min(100, Math.max(0, ((totalMs - idleMs) / totalMs) * 100)));
}

/** Bytes per second between two counter readings; 0 without both readings, without elapsed
 *  time, or when the counter went back (an interface was removed or its counter reset). */
export function ratePerS(prevBytes: number | undefined, curBytes: number | undefined, elapsedMs: number): number {
  if (prevBytes === undefined || curBytes === undefined || elapsedMs <= 0 || curBytes < prevBytes) return 0;
  return Math.round(((curBytes - prevBytes) * 1000) / elapsedMs);
}

/**
 * Received and sent bytes summed over the interfaces in /proc/net/dev, loopback (`lo`) left
 * out: traffic between processes on this host is not network load. If loopback is the only
 * interface (a bare container or network namespace), it is counted instead, so the figure still
 * moves with the node's traffic; `loopbackOnly` says so. Virtual interfaces (bridges, veth) are
 * counted like physical ones, so bridged traffic may be counted twice.
 */
export function parseProcNetDev(text: string): NetCounters {
  let rxBytes = 0;
  let txBytes = 0;
  let loRx = 0;
  let loTx = 0;
  let others = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    // Columns: 8 receive fields (bytes first), then 8 transmit fields (bytes first).
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    const rx = Number(fields[0]);
    const tx = Number(fields[8]);
    if (fields.length < 16 || !Number.isFinite(rx) || !Number.isFinite(tx)) continue;
    if (name === 'lo') {
      loRx += rx;
      loTx += tx;
    } else {
      rxBytes += rx;
      txBytes += tx;
      others++;
    }
  }
  return others > 0 ? { rxBytes, txBytes, loopbackOnly: false } : { rxBytes: loRx, txBytes: loTx, loopbackOnly: true };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
