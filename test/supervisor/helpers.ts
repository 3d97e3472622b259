// Test helpers: a live MPEG-TS source made by ffmpeg on loopback, temp dirs, bounded waiting.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { SourceRecord } from '../../node/state/stream-types.ts';

/** A free UDP port on 127.0.0.1 (the kernel's pick; nothing else binds it meanwhile in practice). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export interface LiveSource {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Start sending again on the same port (after stop). */
  restart(): Promise<void>;
}

/**
 * A live source: ffmpeg makes a 320x180, 10 fps test picture with a tone (1 s GOP, as an IPTV
 * head-end would, only smaller), H.264 + AAC in MPEG-TS over UDP to 127.0.0.1:<port>, in real
 * time. About 3-5 % of a core. Stops by itself after `maxS` seconds, whatever happens to the test.
 */
export async function startUdpSource(maxS = 60): Promise<LiveSource> {
  const port = await freeUdpPort();
  const url = `udp://127.0.0.1:${port}`;
  let sub: ReturnType<typeof spawn> | null = null;
  const spawn = () => execa('ffmpeg', [...generatorArgs(maxS), `${url}?pkt_size=1316`], { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' });
  sub = spawn();
  return {
    url, port,
    async stop() {
      sub?.kill('SIGKILL');
      await sub;
      sub = null;
    },
    async restart() {
      if (sub === null) sub = spawn();
    },
  };
}

/** The generator's arguments up to the output (see startUdpSource). */
function generatorArgs(maxS: number): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=22050',
    '-t', String(maxS), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '10', '-b:v', '300k',
    '-c:a', 'aac', '-b:a', '32k', '-f', 'mpegts',
  ];
}

export interface HttpSource {
  readonly url: string;
  /** Headers of each request received, in order. */
  readonly requests: IncomingHttpHeaders[];
  stop(): Promise<void>;
}

/** A live MPEG-TS source over HTTP on 127.0.0.1: each request gets its own generator's output,
 *  streamed until the client goes away (as an IPTV panel serves /live/<user>/<pass>/<id>.ts). */
export async function startHttpSource(maxS = 60): Promise<HttpSource> {
  const requests: IncomingHttpHeaders[] = [];
  const spawnGenerator = () => execa('ffmpeg', [...generatorArgs(maxS), 'pipe:1'], { reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'ignore', buffer: false });
  const generators = new Set<ReturnType<typeof spawnGenerator>>();
  const server = createServer((req, res) => {
    requests.push(req.headers);
    const generator = spawnGenerator();
    generators.add(generator);
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    generator.stdout!.pipe(res);
    res.on('close', () => generator.kill('SIGKILL'));
    void generator.then(() => {
      generators.delete(generator);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/live/news.ts`,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const generator of generators) generator.kill('SIGKILL');
      await Promise.all(generators);
    },
  };
}

export function udpSource(url: string, priority = 0): SourceRecord {
  return { url, priority, userAgent: null, referrer: null };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `ottmesh-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Poll `check` every `intervalMs` until it returns a value other than undefined/false, or fail
 *  after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
