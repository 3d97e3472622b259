// `npm run bench -- worker-failover [--trials 5] [--standby on|off] [--json]`
// Three ottmesh node processes on loopback, a live source made by ffmpeg (test/cluster/
// live-source.ts), one stream (copy, 2 s segments) with a hot standby unless `--standby off`.
// Each trial: wait until the stream runs (with its standby), watch the stable URL on every
// node and play it with an ffmpeg client on a node that is not the worker, kill -9 the worker,
// and time until a new segment is listed at the stable URL on a surviving node. The ffmpeg
// client's longest stall is the longest time its media position stood still (with 2 s segments
// it stands still about 2 s between segments even when all is well: the steady figure before
// the kill is reported beside it). Then the killed node is started again and the next trial
// kills wherever the stream runs then.
import { parseArgs } from 'node:util';

import { LiveSource } from '../../test/cluster/live-source.ts';
import { FfmpegClient, holes, PlaylistWatcher } from '../../test/cluster/players.ts';
import { waitFor } from '../../test/cluster/processes.ts';
import { keepAliveAgent } from './http-client.ts';
import { MeshCluster } from './mesh.ts';
import { machine, ms, printTable, refuse, summarize, withCleanup } from './stats.ts';

const streamId = 'bench';
const runningTimeoutMs = 60_000;
const newSegmentTimeoutMs = 30_000;
/** Steady playback measured before each kill. */
const steadyMs = 6_000;
/** Playback kept after the new segment, to see the client through the switch. */
const afterMs = 8_000;

interface StreamView { status: string; nodeId: string | null; standbyNodeId: string | null }

interface Trial {
  readonly failoverMs: number;
  readonly stallMs: number;
  readonly steadyStallMs: number;
  readonly clientAlive: boolean;
  readonly holes: number;
}

export async function run(args: readonly string[]): Promise<void> {
  let values: { json: boolean; trials: string; standby: string };
  try {
    ({ values } = parseArgs({ args: [...args], options: { json: { type: 'boolean', default: false }, trials: { type: 'string', default: '5' }, standby: { type: 'string', default: 'on' } } }));
  } catch (err) {
    return refuse('worker-failover', `${(err as Error).message}; usage: npm run bench -- worker-failover [--trials 5] [--standby on|off] [--json]`);
  }
  const trials = Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 50) return refuse('worker-failover', `--trials must be 1-50 (got ${values.trials})`);
  if (values.standby !== 'on' && values.standby !== 'off') return refuse('worker-failover', `--standby must be on or off (got ${values.standby})`);
  const standby = values.standby === 'on';
  const agent = keepAliveAgent(8);
  const source = new LiveSource();
  let mesh: MeshCluster | null = null;
  const results: Trial[] = [];
  await withCleanup(async () => {
    await mesh?.stop();
    await source.close();
    agent.destroy();
  }, async () => {
    await source.start();
    mesh = await MeshCluster.create(3, agent);
    await mesh.build();
    const m = mesh;
    const created = await m.call('n1', 'POST', '/api/v1/streams', { id: streamId, name: 'Bench', sources: [{ url: source.url }], policy: { hotStandby: standby } }, 10_000);
    if (created.status !== 201) throw new Error(`creating the stream: HTTP ${created.status} ${created.body}`);
    for (let i = 0; i < trials; i++) results.push(await trial(m, standby));
    report(results, standby, values.json);
  });
}

async function streamOf(mesh: MeshCluster, via: string): Promise<StreamView | null> {
  const res = await mesh.call(via, 'GET', `/api/v1/streams/${streamId}`, undefined, 2_000).catch(() => null);
  return res?.status === 200 ? (JSON.parse(res.body) as StreamView) : null;
}

async function trial(mesh: MeshCluster, standby: boolean): Promise<Trial> {
  const ids = new Map<string, string>();
  for (const name of mesh.names) ids.set((await mesh.health(name))!.nodeId, name);
  const view = await waitFor('the stream running', async () => {
    for (const name of mesh.names) {
      const s = await streamOf(mesh, name);
      if (s?.status === 'running' && (!standby || s.standbyNodeId !== null)) return s;
    }
    return null;
  }, runningTimeoutMs, 250);
  const worker = ids.get(view.nodeId!)!;
  const others = mesh.names.filter((n) => n !== worker);
  const watchers = others.map((n) => new PlaylistWatcher(mesh.url(n), streamId, 100));
  for (const w of watchers) w.start();
  let client: FfmpegClient | null = null;
  try {
    // The client starts once the gateway lists segments (before, it answers 503 "starting").
    await waitFor('segments at the stable URL', () => (watchers.every((w) => w.last >= 2) ? true : null), 30_000, 100);
    client = new FfmpegClient(`${mesh.url(others[0]!)}/live/${streamId}/index.m3u8`);
    const c = client;
    await waitFor('the client playing', () => (c.outTimeUs > 4_000_000 ? true : null), 30_000, 100);
    c.resetStall();
    await new Promise((resolve) => setTimeout(resolve, steadyMs));
    const steadyStallMs = c.stallMsMax();
    const lastBefore = Math.max(...watchers.map((w) => w.last));
    c.resetStall();
    const killedAt = performance.now();
    await mesh.processes.kill(worker);
    await waitFor('a new segment after the kill', () => (watchers.some((w) => w.last > lastBefore) ? true : null), newSegmentTimeoutMs, 20);
    const failoverMs = performance.now() - killedAt;
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    const result = { failoverMs: Math.round(failoverMs), stallMs: c.stallMsMax(), steadyStallMs, clientAlive: !c.exited, holes: watchers.reduce((n, w) => n + holes(w).length, 0) };
    await mesh.restart(worker);
    return result;
  } finally {
    for (const w of watchers) w.stop();
    await client?.stop();
  }
}

function report(results: readonly Trial[], standby: boolean, json: boolean): void {
  const failover = summarize(results.map((r) => r.failoverMs));
  const stall = summarize(results.map((r) => r.stallMs));
  const steady = summarize(results.map((r) => r.steadyStallMs));
  const out = {
    trials: results.length, hot_standby: standby,
    failover_p50_ms: failover.p50, failover_p99_ms: failover.p99, failover_max_ms: failover.max,
    viewer_stall_max_ms: stall.max, viewer_steady_stall_max_ms: steady.max,
    clients_alive: results.filter((r) => r.clientAlive).length, holes: results.reduce((n, r) => n + r.holes, 0),
    node_version: process.version, machine: machine(), date: new Date().toISOString(),
  };
  printTable([
    `worker-failover: kill -9 of the worker of one stream (copy, 2 s segments, hot standby ${standby ? 'on' : 'off'}), ${results.length} trials`,
    `node ${process.version} on ${machine()}`,
  ], [
    ['', 'p50', 'p99', 'max'],
    ['kill -> new segment at the stable URL', ms(failover.p50), ms(failover.p99), ms(failover.max)],
    ['ffmpeg client: longest stall across the kill', ms(stall.p50), ms(stall.p99), ms(stall.max)],
    ['ffmpeg client: longest stall, steady (before)', ms(steady.p50), ms(steady.p99), ms(steady.max)],
    ['clients still playing / holes in numbering', `${out.clients_alive}/${results.length}`, String(out.holes), ''],
  ]);
  if (json) console.log(JSON.stringify(out));
}
