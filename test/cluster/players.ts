// Real clients of a stable HLS URL, for the multi-process tests and the worker-failover bench:
// - PlaylistWatcher polls one node's public playlist, records every public number it lists with
//   the segment's bytes digest, and finds holes, reversals and numbers whose segment changed;
// - FfmpegClient plays the URL with `ffmpeg -c copy -f null -` and says whether it kept running;
// - BrowserPlayer plays it with hls.js in Debian's Chromium (through playwright-core), served
//   from another origin, and samples video.currentTime and hls.js errors.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One listing of a public playlist, parsed just enough for the checks. */
export interface Listing {
  readonly atMs: number;
  readonly mediaSequence: number;
  readonly discontinuitySequence: number;
  readonly targetDuration: number;
  /** Public numbers listed, in order, with their URIs, whether a DISCONTINUITY precedes, and
   *  their EXTINF duration (NaN when the playlist gives none). */
  readonly segments: readonly { readonly n: number; readonly uri: string; readonly discontinuity: boolean; readonly durationS: number }[];
}

export function parseListing(text: string, atMs: number): Listing {
  const lines = text.split('\n').map((l) => l.trim());
  const num = (tag: string) => Number(lines.find((l) => l.startsWith(tag))?.slice(tag.length) ?? NaN);
  const mediaSequence = num('#EXT-X-MEDIA-SEQUENCE:');
  const segments: { n: number; uri: string; discontinuity: boolean; durationS: number }[] = [];
  let discontinuity = false;
  let durationS = NaN;
  for (const line of lines) {
    if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line.startsWith('#EXTINF:')) durationS = parseFloat(line.slice('#EXTINF:'.length));
    else if (line !== '' && !line.startsWith('#')) {
      segments.push({ n: mediaSequence + segments.length, uri: line, discontinuity, durationS });
      discontinuity = false;
      durationS = NaN;
    }
  }
  return { atMs, mediaSequence, discontinuitySequence: num('#EXT-X-DISCONTINUITY-SEQUENCE:') || 0, targetDuration: num('#EXT-X-TARGETDURATION:'), segments };
}

/** Bound on how long one poll may take. */
const pollTimeoutMs = 2_000;

/** Optional observers of a PlaylistWatcher (the chaos checks record through them); without
 *  them a watcher behaves as it always did. */
export interface WatcherHooks {
  /** Every listing, as soon as it is parsed (before its new segments are fetched). */
  readonly onListing?: (listing: Listing) => void;
  /** Each public number once, when its bytes were first fetched: their sha256 and duration. */
  readonly onSegment?: (segment: { readonly n: number; readonly digest: string; readonly durationS: number; readonly atMs: number }) => void;
  /** false: do not keep every listing in `listings` (a long run bounds its memory). Default true. */
  readonly keepListings?: boolean;
}

export class PlaylistWatcher {
  readonly baseUrl: string;
  /** Public number -> digest of its bytes (the first time this watcher fetched it). */
  readonly digests = new Map<number, string>();
  readonly problems: string[] = [];
  readonly listings: Listing[] = [];
  #lastLast = -1;
  #lastSequence = -1;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  /** `baseUrl`: the node's HTTP URL; the stream `id`. */
  readonly id: string;
  readonly everyMs: number;

  readonly #hooks: WatcherHooks;
  /** Listings fetched (also when `keepListings` is false). */
  listingsSeen = 0;

  constructor(baseUrl: string, id: string, everyMs = 200, hooks: WatcherHooks = {}) {
    this.baseUrl = baseUrl;
    this.id = id;
    this.everyMs = everyMs;
    this.#hooks = hooks;
  }

  get playlistUrl(): string {
    return `${this.baseUrl}/live/${this.id}/index.m3u8`;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#poll(), this.everyMs);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The newest public number seen (-1: none). */
  get last(): number {
    return this.#lastLast;
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const res = await fetch(this.playlistUrl, { signal: AbortSignal.timeout(pollTimeoutMs) });
      if (res.status !== 200) return; // a node that is down, or a stream not started yet
      const listing = parseListing(await res.text(), Date.now());
      this.listingsSeen++;
      if (this.#hooks.keepListings !== false) this.listings.push(listing);
      this.#hooks.onListing?.(listing);
      if (listing.mediaSequence < this.#lastSequence) this.problems.push(`media sequence went back from ${this.#lastSequence} to ${listing.mediaSequence}`);
      this.#lastSequence = listing.mediaSequence;
      for (const s of listing.segments) {
        if (this.digests.has(s.n)) continue;
        if (this.#lastLast >= 0 && s.n > this.#lastLast + 1 && !this.digests.has(s.n - 1)) this.problems.push(`hole: ${this.#lastLast} then ${s.n}`);
        const seg = await fetch(new URL(s.uri, this.playlistUrl), { signal: AbortSignal.timeout(pollTimeoutMs) });
        if (seg.status !== 200) {
          this.problems.push(`segment ${s.n} listed but answered ${seg.status}`);
          continue;
        }
        const digest = createHash('sha256').update(new Uint8Array(await seg.arrayBuffer())).digest('hex');
        this.digests.set(s.n, digest);
        this.#hooks.onSegment?.({ n: s.n, digest, durationS: s.durationS, atMs: Date.now() });
      }
      const last = listing.segments.at(-1)?.n ?? -1;
      if (last < this.#lastLast) this.problems.push(`last number went back from ${this.#lastLast} to ${last}`);
      this.#lastLast = Math.max(this.#lastLast, last);
    } catch {
      // A node being killed; the next poll tries again.
    } finally {
      this.#busy = false;
    }
  }
}

/** Checks across watchers: every number every watcher saw maps to the same bytes. */
export function disagreements(watchers: readonly PlaylistWatcher[]): string[] {
  const out: string[] = [];
  const byNumber = new Map<number, string>();
  for (const w of watchers) {
    for (const [n, digest] of w.digests) {
      const seen = byNumber.get(n);
      if (seen === undefined) byNumber.set(n, digest);
      else if (seen !== digest) out.push(`number ${n} names different bytes at ${w.baseUrl}`);
    }
  }
  return out;
}

/** Numbers missing between the lowest and highest a watcher saw. */
export function holes(w: PlaylistWatcher): number[] {
  const ns = [...w.digests.keys()].sort((a, b) => a - b);
  const missing: number[] = [];
  for (let i = 1; i < ns.length; i++) for (let n = ns[i - 1]! + 1; n < ns[i]!; n++) missing.push(n);
  return missing;
}

export class FfmpegClient {
  readonly #child: ChildProcess;
  stderr = '';
  exitCode: number | null = null;
  exited = false;
  /** Media time the client has read (ffmpeg's -progress out_time), and when it last advanced. */
  outTimeUs = 0;
  #advancedAtMs = Date.now();
  #stallMsMax = 0;

  constructor(url: string) {
    this.#child = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'warning', '-nostdin', '-progress', 'pipe:1', '-stats_period', '0.1', '-i', url, '-c', 'copy', '-f', 'null', '-',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8_000);
    });
    this.#child.stdout!.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString().matchAll(/^out_time_us=(\d+)$/gm)) {
        const us = Number(m[1]);
        if (us > this.outTimeUs) {
          const nowMs = Date.now();
          this.#stallMsMax = Math.max(this.#stallMsMax, nowMs - this.#advancedAtMs);
          this.#advancedAtMs = nowMs;
          this.outTimeUs = us;
        }
      }
    });
    this.#child.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
    });
  }

  /** The longest wall-clock time the client's media time stood still since `resetStall()`
   *  (counting a stall still going on). */
  stallMsMax(): number {
    return Math.max(this.#stallMsMax, Date.now() - this.#advancedAtMs);
  }

  resetStall(): void {
    this.#stallMsMax = 0;
    this.#advancedAtMs = Date.now();
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await gone;
  }
}

export interface PlaybackSample {
  readonly atMs: number;
  readonly currentTime: number;
  readonly fatal: string | null;
  readonly errors: readonly string[];
}

/** hls.js in Chromium, playing `url` from a page on another origin (so CORS is exercised). */
export class BrowserPlayer {
  #browser: { close(): Promise<void> } | null = null;
  #page: { evaluate<T>(expression: string): Promise<T> } | null = null;
  #server: Server | null = null;
  #profile = '';

  static installed(): boolean {
    try {
      createRequire(import.meta.url).resolve('playwright-core');
      return true;
    } catch {
      return false;
    }
  }

  async start(url: string): Promise<void> {
    const require = createRequire(import.meta.url);
    const hlsJs = await readFile(require.resolve('hls.js/dist/hls.min.js'), 'utf8');
    const page = `<!doctype html><video id="v" muted autoplay playsinline></video><script>${hlsJs}</script><script>
      window.errors = []; window.fatal = null;
      const video = document.getElementById('v');
      const hls = new Hls({ liveSyncDurationCount: 3 });
      hls.on(Hls.Events.ERROR, (_e, d) => { window.errors.push(d.details); if (d.fatal) window.fatal = d.details; });
      hls.loadSource(${JSON.stringify(url)}); hls.attachMedia(video); video.play().catch(() => {});
    </script>`;
    this.#server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const { chromium } = await import('playwright-core');
    this.#profile = await mkdtemp(join(tmpdir(), 'ottmesh-chromium-'));
    const context = await chromium.launchPersistentContext(this.#profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    });
    this.#browser = context;
    const tab = await context.newPage();
    await tab.goto(`http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`);
    this.#page = tab as unknown as { evaluate<T>(expression: string): Promise<T> };
  }

  async sample(): Promise<PlaybackSample> {
    const page = this.#page!;
    // A string, so this file needs no DOM types: it runs in the page.
    const s = await page.evaluate<{ currentTime: number; fatal: string | null; errors: string[] }>(
      '({ currentTime: document.getElementById("v").currentTime, fatal: window.fatal, errors: window.errors.slice() })');
    return { atMs: Date.now(), ...s };
  }

  async stop(): Promise<void> {
    await this.#browser?.close().catch(() => undefined);
    this.#browser = null;
    const server = this.#server;
    this.#server = null;
    if (server !== null) await new Promise((resolve) => server.close(resolve));
    if (this.#profile !== '') await rm(this.#profile, { recursive: true, force: true });
  }
}
