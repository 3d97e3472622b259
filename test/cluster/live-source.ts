// A live channel for tests: one ffmpeg encodes a test pattern with a tone in real time (small and
// cheap: 320x180, 25 fps, H.264 ultrafast + AAC) to MPEG-TS on its stdout, and an HTTP server on
// 127.0.0.1 (or the address given) sends those bytes to every client that connects (workers,
// standbys), like an IPTV head-end, whatever path it asks for: one encoder can feed many
// channels' URLs. `stop()` ends the stream (a source that goes away); `start()` again brings
// it back.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Bound on bytes queued for one slow client before it is dropped. */
const clientBacklogBytesMax = 8 * 1024 * 1024;

export interface LiveSourceOptions {
  /** The address the HTTP server listens on (default 127.0.0.1). */
  readonly host?: string;
  /** Its port (default: any free one). */
  readonly port?: number;
}

export class LiveSource {
  readonly #clients = new Set<ServerResponse>();
  readonly #host: string;
  readonly #port: number;
  #server: Server | null = null;
  #ffmpeg: ChildProcess | null = null;
  url = '';

  constructor(options: LiveSourceOptions = {}) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
  }

  /** Starts the HTTP server (once) and the encoder. */
  async start(): Promise<void> {
    if (this.#server === null) {
      const server = createServer((req, res) => {
        if (this.#ffmpeg === null) {
          res.writeHead(503).end('source is off');
          return;
        }
        res.writeHead(200, { 'content-type': 'video/mp2t', 'cache-control': 'no-cache' });
        this.#clients.add(res);
        req.on('close', () => this.#clients.delete(res));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#port, this.#host, () => resolve());
      });
      this.#server = server;
      this.url = `http://${this.#host}:${(server.address() as AddressInfo).port}/live.ts`;
    }
    if (this.#ffmpeg !== null) return;
    const ffmpeg = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', 'pipe:1',
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    ffmpeg.stdout!.on('data', (chunk: Buffer) => {
      for (const client of this.#clients) {
        if (client.writableLength > clientBacklogBytesMax) client.destroy();
        else client.write(chunk);
      }
    });
    this.#ffmpeg = ffmpeg;
  }

  /** Ends the stream: the encoder stops and every client's response ends. */
  async stop(): Promise<void> {
    const ffmpeg = this.#ffmpeg;
    this.#ffmpeg = null;
    if (ffmpeg !== null && ffmpeg.exitCode === null) {
      const exited = new Promise((resolve) => ffmpeg.once('exit', resolve));
      ffmpeg.kill('SIGKILL');
      await exited;
    }
    for (const client of this.#clients) client.destroy();
    this.#clients.clear();
  }

  async close(): Promise<void> {
    await this.stop();
    const server = this.#server;
    this.#server = null;
    if (server !== null) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
}
