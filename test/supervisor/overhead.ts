// Measures the supervisor's own cpu per stream: this node process's cpu while it supervises N
// copy streams, minus the same process idle, in % of one core per stream (target: under 0.5).
// ffmpeg's cpu is its own process's and is not counted (it is reported for comparison).
//   node test/supervisor/overhead.ts [--streams 4] [--seconds 20]
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from '../../node/supervisor/supervisor.ts';
import type { StreamSpec } from '../../node/supervisor/types.ts';
import { startUdpSource, tempDir, udpSource, waitFor } from './helpers.ts';

const { values } = parseArgs({ options: { streams: { type: 'string', default: '4' }, seconds: { type: 'string', default: '20' } } });
const streams = Number(values.streams);
const seconds = Number(values.seconds);

/** Cpu of this process over `seconds`, in % of one core. */
async function cpuPctOver(s: number): Promise<number> {
  const start = process.cpuUsage();
  const t0 = performance.now();
  await sleep(s * 1000);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / 1000 / (performance.now() - t0)) * 100;
}

const root = await tempDir('overhead');
const sources = await Promise.all(Array.from({ length: streams }, () => startUdpSource(3 * seconds + 30)));
const supervisor = new Supervisor({}, { streamsRoot: root.path });
try {
  await supervisor.start();
  await sleep(2_000);
  const idlePct = await cpuPctOver(seconds);
  const desired = new Map<string, StreamSpec>(sources.map((s, i) => [`s${i}`, { streamId: `s${i}`, epoch: 1, sources: [udpSource(s.url)], profile: 'copy', segmentS: 2, listSize: 9 }]));
  await supervisor.reconcile(desired);
  await waitFor('all running', () => supervisor.streams().every((f) => f.status === 'running'), 20_000, 200);
  await sleep(2_000);
  const busyPct = await cpuPctOver(seconds);
  const figures = supervisor.streams();
  const ffmpegPct = figures.reduce((sum, f) => sum + (f.cpuPct ?? 0), 0) / figures.length;
  const perStreamPct = (busyPct - idlePct) / streams;
  console.log(JSON.stringify({
    streams, seconds, idle_pct: round(idlePct), busy_pct: round(busyPct), supervisor_pct_per_stream: round(perStreamPct),
    ffmpeg_pct_per_stream: round(ffmpegPct), rss_bytes_per_ffmpeg: Math.round(figures.reduce((s, f) => s + (f.memBytes ?? 0), 0) / figures.length),
  }));
} finally {
  await supervisor.stopAll();
  await Promise.all(sources.map((s) => s.stop()));
  await root.remove();
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
