// `npm run bench -- gateway [--json] [--seconds S] [--clients N]`
// The HLS gateway's public routes against nginx serving the same files on the same machine:
//   - ottmesh: a child process running a fastify server with node/hls's plugin (the same one a
//     node registers), one stream whose public playlist (6 segments) and a cached 1 MB segment
//     are in memory;
//   - nginx: a foreground child (`nginx -c <conf> -p <dir> -g 'daemon off;'`) with
//     worker_processes 1 (one process, like the node server), access_log off, sendfile on,
//     serving the same playlist text and the same 1 MB as files, with the same headers;
// then loads one system at a time with the same client: node:http keep-alive agents, N
// concurrent closed loops (default 64) for S seconds (default 10) per figure, after a 1 s warm-up:
// requests/s for the playlist, bytes/s for the segment. The client runs in this process; each
// server's CPU (% of one core, from /proc) is shown so a client-bound run can be told apart.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';

import { hlsRoutes } from '../../node/hls/routes.ts';
import { SegmentCache } from '../../node/hls/segment-cache.ts';
import { StreamTimeline } from '../../node/hls/timeline.ts';
import { defaultHls } from '../../node/state/index.ts';
import { machine, printTable, refuse, round, withCleanup } from './stats.ts';

const streamId = 'bench';
const segmentBytes = 1024 * 1024;
const warmupMs = 1000;
/** Every request must finish within this, or the run fails (a stuck server is not a figure). */
const requestTimeoutMs = 10_000;
/** Hard cap on requests per run, whatever the duration. */
const requestsMax = 50_000_000;
const startTimeoutMs = 10_000;

interface ServedFiles {
  readonly playlist: string;
  /** The number of the 1 MB segment in the playlist. */
  readonly segmentN: number;
}

/** The gateway's side: a timeline with 6 published segments and the 1 MB bytes in the cache. */
function gatewayContent(): { timeline: StreamTimeline<Buffer>; cache: SegmentCache; segment: Buffer; files: ServedFiles } {
  const segment = Buffer.alloc(segmentBytes, 0x47);
  const timeline = new StreamTimeline<Buffer>({ segmentS: 2, windowSegments: 6 });
  const cache = new SegmentCache();
  const t0 = Date.parse('2026-08-22T10:00:00.000Z');
  timeline.applyAssignment({ epoch: 1, base: 1000, sealed: false, nodeId: 'worker' }, t0);
  for (let k = 0; k < 6; k++) {
    for (const { segment: s, payload } of timeline.addWorkerSegment(1, { k, durationS: 2, discontinuity: false, pdtMs: t0 + k * 2000 }, segment, t0)) {
      cache.put(streamId, s.n, { bytes: payload, durationS: s.durationS, epoch: s.epoch, k: s.k, workerDiscontinuity: false, pdtMs: s.pdtMs });
    }
  }
  return { timeline, cache, segment, files: { playlist: '', segmentN: timeline.lastPublished()! } };
}

/** Child mode: serve the gateway routes, print `{"port":..,"segmentN":..}` on stdout. */
async function serveGateway(): Promise<void> {
  const { timeline, cache, files } = gatewayContent();
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  await app.register(hlsRoutes, {
    source: { stream: () => ({ hls: defaultHls, running: true }), timeline: (id) => (id === streamId ? timeline : null), originUrl: () => null },
    cache, streamsRoot: tmpdir(), internalToken: () => '',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  console.log(JSON.stringify({ port, segmentN: files.segmentN }));
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

function nginxConf(dir: string, port: number): string {
  return `# worker_processes 1: one process, like the node server it is compared with.
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 65s;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    location ~ \\.m3u8$ { add_header Cache-Control "no-cache"; add_header Access-Control-Allow-Origin "*"; }
    location ~ \\.ts$ { add_header Cache-Control "public, max-age=3600, immutable"; add_header Access-Control-Allow-Origin "*"; }
  }
}
`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** One GET, the body read and counted (not kept): resolves with its status and byte count. */
function get(agent: Agent, url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, bytes }); });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`GET ${url}: no answer within ${requestTimeoutMs} ms`)), requestTimeoutMs);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    req.end();
  });
}

interface LoadResult {
  readonly requestsPerS: number;
  readonly bytesPerS: number;
  readonly errors: number;
  readonly serverCpuPct: number | null;
  readonly clientCpuPct: number;
}

/** CPU time (ms) a process has used so far, from /proc (Linux); null elsewhere. */
async function cpuMs(pid: number): Promise<number | null> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** `clients` closed loops GETting `url` for `durationMs`; every answer must be 200 with `expectBytes`. */
async function load(url: string, clients: number, durationMs: number, expectBytes: number, serverPid: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  let requests = 0;
  let bytes = 0;
  let errors = 0;
  let lastError = '';
  const cpuBefore = await cpuMs(serverPid);
  const clientBefore = process.cpuUsage();
  const startMs = performance.now();
  const deadline = startMs + durationMs;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline && requests < requestsMax) {
      try {
        const answer = await get(agent, url);
        if (answer.status !== 200 || answer.bytes !== expectBytes) throw new Error(`status ${answer.status}, ${answer.bytes} bytes`);
        requests++;
        bytes += answer.bytes;
      } catch (err) {
        errors++;
        lastError = err instanceof Error ? err.message : String(err);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsedMs = performance.now() - startMs;
  const cpuAfter = await cpuMs(serverPid);
  const client = process.cpuUsage(clientBefore);
  agent.destroy();
  if (errors > requests / 100) throw new Error(`gateway bench: ${errors} failed requests to ${url} (last: ${lastError})`);
  return {
    requestsPerS: (requests / elapsedMs) * 1000,
    bytesPerS: (bytes / elapsedMs) * 1000,
    errors,
    serverCpuPct: cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) / elapsedMs) * 100,
    clientCpuPct: ((client.user + client.system) / 1000 / elapsedMs) * 100,
  };
}

/** Seconds of server CPU per unit (request, GiB) at the measured rate; NaN without /proc. */
function cpuPer(r: LoadResult, unitsPerS: number): number {
  return r.serverCpuPct === null ? NaN : r.serverCpuPct / 100 / unitsPerS;
}

/** Spawns a server child and waits for `ready` to resolve from its output. */
function startChild(command: string, args: readonly string[], what: string): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => process.stderr.write(`${what}: ${text}`));
  return child;
}

async function waitUntilServing(url: string): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const answer = await get(agent, url).catch(() => null);
    if (answer?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`gateway bench: ${url} did not answer 200 within ${startTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({ args: [...args], options: {
    json: { type: 'boolean', default: false }, seconds: { type: 'string', default: '10' }, clients: { type: 'string', default: '64' },
  } });
  const [seconds, clients] = [Number(values.seconds), Number(values.clients)];
  if (!(seconds > 0 && seconds <= 300) || !Number.isInteger(clients) || clients < 1 || clients > 1024) {
    refuse('gateway', '--seconds must be from 0 to 300, --clients a whole number from 1 to 1024');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ottmesh-bench-gateway-'));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  await withCleanup(stop, async () => {
    // ottmesh first: its playlist text is what nginx serves too.
    const gateway = startChild(process.execPath, [fileURLToPath(import.meta.url), '--serve-gateway'], 'gateway');
    children.push(gateway);
    const announced = await new Promise<{ port: number; segmentN: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('gateway bench: the gateway child did not start')), startTimeoutMs);
      gateway.stdout!.setEncoding('utf8').once('data', (line: string) => { clearTimeout(timer); resolve(JSON.parse(line) as { port: number; segmentN: number }); });
      gateway.once('exit', (code) => reject(new Error(`gateway bench: the gateway child exited (${code})`)));
    });
    const gatewayBase = `http://127.0.0.1:${announced.port}/live/${streamId}`;
    const playlistText = await (await fetch(`${gatewayBase}/index.m3u8`)).text();

    const www = join(dir, 'www', 'live', streamId);
    await mkdir(www, { recursive: true });
    await writeFile(join(www, 'index.m3u8'), playlistText);
    await writeFile(join(www, `${announced.segmentN}.ts`), Buffer.alloc(segmentBytes, 0x47));
    // nginx's worker runs as "nobody" when started by root: it must be able to read the files.
    for (const d of [dir, join(dir, 'www'), join(dir, 'www', 'live'), www]) await chmod(d, 0o755);
    const nginxPort = await freePort();
    await writeFile(join(dir, 'nginx.conf'), nginxConf(dir, nginxPort));
    const nginx = startChild('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], 'nginx');
    children.push(nginx);
    const nginxBase = `http://127.0.0.1:${nginxPort}/live/${streamId}`;
    await waitUntilServing(`${nginxBase}/index.m3u8`);
    const nginxPlaylist = await (await fetch(`${nginxBase}/index.m3u8`)).text();
    if (nginxPlaylist !== playlistText) throw new Error('gateway bench: nginx does not serve the same playlist');
    // The worker process does the serving (the master only accepts signals).
    const nginxWorker = Number((await readFile(`/proc/${nginx.pid}/task/${nginx.pid}/children`, 'utf8').catch(() => '')).trim().split(/\s+/)[0]) || nginx.pid!;

    const systems = [
      { name: 'ottmesh gateway', base: gatewayBase, pid: gateway.pid! },
      { name: 'nginx (1 worker)', base: nginxBase, pid: nginxWorker },
    ];
    const figures = new Map<string, { playlist: LoadResult; segment: LoadResult }>();
    for (const system of systems) {
      const playlistUrl = `${system.base}/index.m3u8`;
      const segmentUrl = `${system.base}/${announced.segmentN}.ts`;
      const playlistBytes = Buffer.byteLength(playlistText);
      await load(playlistUrl, clients, warmupMs, playlistBytes, system.pid);
      const playlist = await load(playlistUrl, clients, seconds * 1000, playlistBytes, system.pid);
      await load(segmentUrl, clients, warmupMs, segmentBytes, system.pid);
      const segment = await load(segmentUrl, clients, seconds * 1000, segmentBytes, system.pid);
      figures.set(system.name, { playlist, segment });
    }
    const ours = figures.get(systems[0]!.name)!;
    const theirs = figures.get(systems[1]!.name)!;
    const result = {
      seconds, clients, nginx_worker_processes: 1, playlist_bytes: Buffer.byteLength(playlistText), segment_bytes: segmentBytes,
      playlist_rps: round(ours.playlist.requestsPerS, 0), playlist_rps_nginx: round(theirs.playlist.requestsPerS, 0),
      segment_bytes_per_s: round(ours.segment.bytesPerS, 0), segment_bytes_per_s_nginx: round(theirs.segment.bytesPerS, 0),
      playlist_ratio_vs_nginx: round(ours.playlist.requestsPerS / theirs.playlist.requestsPerS, 2),
      segment_ratio_vs_nginx: round(ours.segment.bytesPerS / theirs.segment.bytesPerS, 2),
      server_cpu_pct: { ottmesh: { playlist: round(ours.playlist.serverCpuPct ?? NaN, 0), segment: round(ours.segment.serverCpuPct ?? NaN, 0) }, nginx: { playlist: round(theirs.playlist.serverCpuPct ?? NaN, 0), segment: round(theirs.segment.serverCpuPct ?? NaN, 0) } },
      // Server CPU per unit of work: what each system would need if the client were not the limit.
      server_cpu_us_per_playlist: { ottmesh: round(cpuPer(ours.playlist, ours.playlist.requestsPerS) * 1e6, 1), nginx: round(cpuPer(theirs.playlist, theirs.playlist.requestsPerS) * 1e6, 1) },
      server_cpu_ms_per_gib: { ottmesh: round(cpuPer(ours.segment, ours.segment.bytesPerS / 2 ** 30) * 1e3, 1), nginx: round(cpuPer(theirs.segment, theirs.segment.bytesPerS / 2 ** 30) * 1e3, 1) },
      client_cpu_pct: { ottmesh: { playlist: round(ours.playlist.clientCpuPct, 0), segment: round(ours.segment.clientCpuPct, 0) }, nginx: { playlist: round(theirs.playlist.clientCpuPct, 0), segment: round(theirs.segment.clientCpuPct, 0) } },
    };
    const mbps = (x: number): string => `${round(x / 2 ** 20, 0)} MiB/s`;
    const cpu = (r: LoadResult): string => `server ${round(r.serverCpuPct ?? NaN, 0) ?? 'n/a'} %, client ${round(r.clientCpuPct, 0)} %`;
    printTable([
      `gateway: ${clients} keep-alive clients (node:http, in this process), ${seconds} s per figure, one system at a time; ${machine()}`,
      `playlist ${result.playlist_bytes} bytes (6 segments), segment ${segmentBytes} bytes; nginx with worker_processes 1, access_log off, sendfile on`,
    ], [
      ['system', 'playlist requests/s', 'cpu (of one core)', 'segment bytes/s', 'cpu (of one core)'],
      ...systems.map((s) => {
        const f = figures.get(s.name)!;
        return [s.name, String(round(f.playlist.requestsPerS, 0)), cpu(f.playlist), mbps(f.segment.bytesPerS), cpu(f.segment)];
      }),
      ['ratio ottmesh / nginx', String(result.playlist_ratio_vs_nginx), '', String(result.segment_ratio_vs_nginx), ''],
      ['server cpu per unit', `ottmesh ${result.server_cpu_us_per_playlist.ottmesh} us/request`, `nginx ${result.server_cpu_us_per_playlist.nginx} us/request`,
        `ottmesh ${result.server_cpu_ms_per_gib.ottmesh} ms/GiB`, `nginx ${result.server_cpu_ms_per_gib.nginx} ms/GiB`],
    ]);
    const clientBound = [...figures.values()].some((f) => f.playlist.clientCpuPct > 90 || f.segment.clientCpuPct > 90);
    if (clientBound) console.log('  note: the client used a whole core in some runs: there the ratio is bounded by the client, see the cpu per unit.');
    if (values.json) console.log(JSON.stringify(result));
  });
}

// Runnable alone too: `node scripts/bench/gateway.ts [--json]`; `--serve-gateway` is the child.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--serve-gateway')) await serveGateway();
  else await run(process.argv.slice(2));
}
