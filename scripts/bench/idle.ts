// `npm run bench -- idle [--json] [--nodes 3] [--seconds 30] [--settle 10] [--exe PATH]`
// What an idle node costs: a cluster of real node processes (bin/ottmesh, or with --exe the
// single executable, e.g. dist/ottmesh from `npm run build:exe`, as an operator runs them: Raft heartbeats, telemetry gossip every second, the HTTP API, no streams), left alone for
// `settle` seconds after it formed, then each process's CPU (utime + stime from /proc/PID/stat,
// as % of one core) and resident memory (VmRSS, sampled every second) over `seconds`.
// Issue 3's target: under 3 % of a core and under 150 MB per node.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { keepAliveAgent } from './http-client.ts';
import { MeshCluster } from './mesh.ts';
import { cpuTicks, ticksPerS } from './proc.ts';
import { machine, printTable, refuse, round, withCleanup } from './stats.ts';

const settledTimeoutMs = 60_000;
const targetCpuPct = 3;
const targetRssMb = 150;

interface NodeFigures {
  readonly name: string;
  readonly cpuPct: number;
  readonly rssMeanMb: number;
  readonly rssMaxMb: number;
}

function ticksOf(pid: number): number {
  const ticks = cpuTicks(pid);
  if (ticks === null) throw new Error(`node process ${pid} exited while it was measured`);
  return ticks;
}

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(kb?.[1] ?? 0) * 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(pids: readonly number[], seconds: number): Promise<{ cpuPct: number; rss: number[] }[]> {
  const samples = pids.map(() => [] as number[]);
  const ticks0 = pids.map(ticksOf);
  const t0 = performance.now();
  for (let s = 0; s < seconds; s++) {
    await sleep(1000);
    pids.forEach((pid, i) => samples[i]!.push(rssBytes(pid)));
  }
  const elapsedS = (performance.now() - t0) / 1000;
  return pids.map((pid, i) => ({ cpuPct: ((ticksOf(pid) - ticks0[i]!) / ticksPerS / elapsedS) * 100, rss: samples[i]! }));
}

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: { json: { type: 'boolean' }, nodes: { type: 'string', default: '3' }, seconds: { type: 'string', default: '30' }, settle: { type: 'string', default: '10' }, exe: { type: 'string' } },
  });
  const nodes = Number(values.nodes);
  const seconds = Number(values.seconds);
  const settleS = Number(values.settle);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) return refuse('idle', `--nodes ${values.nodes}: give 1 to 9`);
  if (!Number.isInteger(seconds) || seconds < 5 || seconds > 3600) return refuse('idle', `--seconds ${values.seconds}: give 5 to 3600`);
  if (!Number.isFinite(settleS) || settleS < 0 || settleS > 600) return refuse('idle', `--settle ${values.settle}: give 0 to 600`);

  const exe = values.exe === undefined ? null : resolve(values.exe);
  if (exe !== null && !existsSync(exe)) return refuse('idle', `--exe ${values.exe}: no such file (npm run build:exe writes dist/ottmesh)`);

  const agent = keepAliveAgent(4);
  const mesh = await MeshCluster.create(nodes, agent, exe === null ? {} : { bin: exe });
  const figures = await withCleanup(async () => { await mesh.stop(); agent.destroy(); }, async () => {
    await mesh.build();
    await mesh.waitSettled(settledTimeoutMs);
    await sleep(settleS * 1000);
    const pids = mesh.names.map((name) => mesh.processes.nodes.get(name)!.child.pid!);
    const measured = await measure(pids, seconds);
    return measured.map((m, i): NodeFigures => ({
      name: mesh.names[i]!,
      cpuPct: round(m.cpuPct, 2)!,
      rssMeanMb: round(m.rss.reduce((a, b) => a + b, 0) / m.rss.length / 1e6)!,
      rssMaxMb: round(Math.max(...m.rss) / 1e6)!,
    }));
  });

  const cpuMax = Math.max(...figures.map((f) => f.cpuPct));
  const rssMax = Math.max(...figures.map((f) => f.rssMaxMb));
  printTable([
    `idle: ${nodes} node processes (${exe ?? 'bin/ottmesh'}), ${settleS} s after the cluster formed, measured for ${seconds} s; ${machine()}`,
    `target: under ${targetCpuPct} % of a core and under ${targetRssMb} MB per node`,
  ], [
    ['node', 'cpu (% of a core)', 'rss mean (MB)', 'rss max (MB)'],
    ...figures.map((f) => [f.name, f.cpuPct.toFixed(2), f.rssMeanMb.toFixed(1), f.rssMaxMb.toFixed(1)]),
  ]);
  console.log(`  worst node: cpu ${cpuMax.toFixed(2)} % (${cpuMax < targetCpuPct ? 'meets' : 'misses'} the target), rss ${rssMax.toFixed(1)} MB (${rssMax < targetRssMb ? 'meets' : 'misses'} the target)`);
  if (values.json) {
    console.log(JSON.stringify({
      nodes, seconds, settle_s: settleS, runs: exe ?? 'bin/ottmesh', node_cpu_pct_max: cpuMax, node_rss_mb_max: rssMax,
      node_rss_mb_mean: round(figures.reduce((a, f) => a + f.rssMeanMb, 0) / figures.length), per_node: figures,
      node_version: process.version, machine: machine(), date: new Date().toISOString(),
    }));
  }
}
