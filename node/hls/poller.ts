// The gateway's adapter: for every stream with an applied assignment it polls the active
// worker's playlist (/internal/v1/hls/<stream>/<epoch>/index.m3u8), copies new segments into
// the cache, and feeds its timeline; it fetches holes from peers' caches
// (/internal/v1/hls/<stream>/public/<n>.ts). The decisions are the timeline's; this file owns the
// timer, the HTTP requests and the cache writes.
//
// Fencing on the gateway side: while isFenced() (no leader contact), nothing new is published,
// because the leader may already have switched the stream at a number this gateway would take.
// The assignment is re-read right before every timeline write, so a seal applied while a
// segment was in flight stops it.
import type { GatewayFigures } from '../gossip/report.ts';
import { maxStreamItems } from '../gossip/report.ts';
import type { HlsSettings } from '../state/index.ts';
import type { GatewayCluster } from './cluster-view.ts';
import { HttpGetter } from './http-fetch.ts';
import { readSegmentHeaders } from './peer-segment.ts';
import type { HlsSource } from './routes.ts';
import type { SegmentCache } from './segment-cache.ts';
import { StreamTimeline } from './timeline.ts';
import type { Published } from './timeline.ts';
import { parseWorkerPlaylist } from './worker-playlist.ts';

export interface PollerComponents {
  readonly cluster: GatewayCluster;
  readonly cache: SegmentCache;
  /** The bearer token for /internal routes, read per request. */
  readonly internalToken: () => string;
  /** True while this node has no leader contact: nothing new is published meanwhile. */
  readonly isFenced: () => boolean;
  /** Wall clock, ms since 1970 (PDT of segments without one). Default Date.now. */
  readonly nowMs?: () => number;
  /** Called once when this gateway has applied the seal of a stream's epoch, so the node can
   *  report it at once (TelemetryGossip.reportNow()). Must not throw. */
  readonly onSealApplied?: (streamId: string, epoch: number) => void;
  /** Default console. */
  readonly logger?: { warn(message: string): void };
}

export interface PollerInit {
  /** Default 250. */
  readonly pollIntervalMs?: number;
  /** Streams polled at the same time (more wait for the next round). Default 32. */
  readonly pollsInFlightMax?: number;
  /** Playlist and peer requests. Default 2,000. */
  readonly requestTimeoutMs?: number;
  /** Segment copies. Default 10,000. */
  readonly segmentTimeoutMs?: number;
  /** Segments copied per stream per poll. Default 16. */
  readonly segmentsPerPollMax?: number;
  /** Holes asked for per stream per poll. Default 8. */
  readonly holeFetchesPerPollMax?: number;
  /** Peers asked for one hole per poll. Default 3. */
  readonly peersPerHoleMax?: number;
  /** Keep-alive connections per node. Default 8. */
  readonly socketsPerHost?: number;
  /** Default 256 KiB. */
  readonly playlistBytesMax?: number;
  /** Streams followed at most (the rest are ignored, with a warning). Default 10,000. */
  readonly streamsMax?: number;
  /** Passed to every timeline (default there: 2 target durations). */
  readonly holeWaitMs?: number;
}

export interface PollerStats {
  streams: number;
  polls: number;
  pollErrors: number;
  segmentsCopied: number;
  bytesCopied: number;
  peerHits: number;
  peerMisses: number;
  /** Rounds in which isFenced() held publishing back. */
  fencedRounds: number;
}

interface Followed {
  readonly timeline: StreamTimeline<Buffer>;
  polling: boolean;
  lastError: string | null;
  peerCursor: number;
}

/** Lifecycle: construct, start(), stop() (final and idempotent: aborts the requests in flight
 *  and waits for their polls to end). The timelines and the cache may be read at any time (the
 *  routes do); round() and gatewayFigures() never throw. */
export class HlsPoller implements HlsSource {
  readonly #c: PollerComponents;
  readonly #nowMs: () => number;
  readonly #logger: { warn(message: string): void };
  readonly #init: Required<Omit<PollerInit, 'holeWaitMs'>> & Pick<PollerInit, 'holeWaitMs'>;
  readonly #followed = new Map<string, Followed>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stats: PollerStats = { streams: 0, polls: 0, pollErrors: 0, segmentsCopied: 0, bytesCopied: 0, peerHits: 0, peerMisses: 0, fencedRounds: 0 };
  readonly #http: HttpGetter;
  #abort = new AbortController();
  #timer: ReturnType<typeof setInterval> | null = null;
  #warnedTooMany = false;

  constructor(components: PollerComponents, init: PollerInit = {}) {
    this.#c = components;
    this.#nowMs = components.nowMs ?? Date.now;
    this.#logger = components.logger ?? console;
    this.#init = {
      pollIntervalMs: init.pollIntervalMs ?? 250, pollsInFlightMax: init.pollsInFlightMax ?? 32,
      requestTimeoutMs: init.requestTimeoutMs ?? 2_000, segmentTimeoutMs: init.segmentTimeoutMs ?? 10_000,
      segmentsPerPollMax: init.segmentsPerPollMax ?? 16, holeFetchesPerPollMax: init.holeFetchesPerPollMax ?? 8,
      peersPerHoleMax: init.peersPerHoleMax ?? 3, socketsPerHost: init.socketsPerHost ?? 8,
      playlistBytesMax: init.playlistBytesMax ?? 256 * 1024, streamsMax: init.streamsMax ?? 10_000,
      ...(init.holeWaitMs === undefined ? {} : { holeWaitMs: init.holeWaitMs }),
    };
    if (!(this.#init.pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be > 0, got ${this.#init.pollIntervalMs}`);
    this.#http = new HttpGetter(this.#init.socketsPerHost);
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#abort = new AbortController();
    this.#timer = setInterval(() => this.round(), this.#init.pollIntervalMs);
    this.round();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
    this.#http.close();
  }

  /** One round: apply the assignments, then start a poll for every stream not being polled.
   *  Called by the timer; callable after a state change to act at once. */
  round(): void {
    const ids = new Set<string>();
    for (const id of this.#c.cluster.assignedStreamIds()) {
      if (ids.size >= this.#init.streamsMax) {
        if (!this.#warnedTooMany) this.#logger.warn(`hls gateway: more than ${this.#init.streamsMax} streams are assigned; the rest are not served here`);
        this.#warnedTooMany = true;
        break;
      }
      ids.add(id);
    }
    for (const id of this.#followed.keys()) if (!ids.has(id)) this.#sync(id);
    const fenced = this.#c.isFenced();
    if (fenced) this.#stats.fencedRounds++;
    for (const id of ids) {
      const f = this.#sync(id);
      if (f === null || f.polling || fenced || this.#inFlight.size >= this.#init.pollsInFlightMax) continue;
      const poll = this.#poll(id, f).finally(() => this.#inFlight.delete(poll));
      this.#inFlight.add(poll);
    }
    this.#stats.streams = this.#followed.size;
  }

  /** The timeline of a stream this gateway follows. */
  timeline(streamId: string): StreamTimeline<Buffer> | null {
    return this.#followed.get(streamId)?.timeline ?? null;
  }

  /** HlsSource (routes.ts): the stream's settings and whether it has a worker. */
  stream(streamId: string): { readonly hls: HlsSettings; readonly running: boolean } | null {
    const hls = this.#c.cluster.hlsSettings(streamId);
    return hls === null ? null : { hls, running: this.#c.cluster.assignment(streamId) !== null };
  }

  /** HlsSource (routes.ts): the worker running `epoch` now, unless the epoch is sealed (its
   *  worker may be lost: segments then come from the cache). */
  originUrl(streamId: string, epoch: number): string | null {
    const a = this.#c.cluster.assignment(streamId);
    return a === null || a.epoch !== epoch || a.sealed ? null : this.#c.cluster.httpUrl(a.nodeId);
  }

  /** Per stream, the active epoch, the last number published in it and whether its seal is
   *  applied (TelemetryReport.gateway.items), sealed ones first, at most maxStreamItems. */
  gatewayFigures(): GatewayFigures[] {
    const items: GatewayFigures[] = [];
    for (const id of [...this.#followed.keys()]) {
      const a = this.#sync(id)?.timeline.active;
      if (a === undefined || a === null) continue;
      const last = this.#followed.get(id)!.timeline.lastPublished(a.epoch);
      items.push({ id, epoch: a.epoch, ...(last === null ? {} : { lastPublished: last }), ...(a.sealed ? { sealed: true } : {}) });
    }
    return items.sort((x, y) => Number(y.sealed === true) - Number(x.sealed === true)).slice(0, maxStreamItems);
  }

  /** Per stream, the last poll error (null: fine). */
  errors(): Map<string, string | null> {
    return new Map([...this.#followed].map(([id, f]) => [id, f.lastError]));
  }

  stats(): Readonly<PollerStats> {
    return { ...this.#stats };
  }

  /** Applies the stream's current assignment to its timeline (creating or dropping it); the
   *  followed entry, or null when the stream has no assignment (its segments are dropped). */
  #sync(id: string): Followed | null {
    const a = this.#c.cluster.assignment(id);
    const settings = a === null ? null : this.#c.cluster.hlsSettings(id);
    let f = this.#followed.get(id);
    if (a === null || settings === null) {
      if (f !== undefined) {
        this.#followed.delete(id);
        this.#c.cache.dropStream(id);
      }
      return null;
    }
    if (f === undefined) {
      f = { timeline: this.#newTimeline(settings), polling: false, lastError: null, peerCursor: 0 };
      this.#followed.set(id, f);
    } else {
      f.timeline.setWindowSegments(settings.windowSegments);
    }
    const change = f.timeline.applyAssignment(a, this.#nowMs());
    if (change === 'sealed') this.#c.onSealApplied?.(id, a.epoch);
    return f;
  }

  #newTimeline(settings: HlsSettings): StreamTimeline<Buffer> {
    return new StreamTimeline<Buffer>({
      segmentS: settings.segmentS, windowSegments: settings.windowSegments,
      ...(this.#init.holeWaitMs === undefined ? {} : { holeWaitMs: this.#init.holeWaitMs }),
    });
  }

  /** Re-reads the assignment right before a timeline write; false when the stream is gone or
   *  the node is fenced (then nothing is written). */
  #stillPublishing(id: string, f: Followed): boolean {
    return this.#sync(id) === f && !this.#c.isFenced();
  }

  async #poll(id: string, f: Followed): Promise<void> {
    f.polling = true;
    this.#stats.polls++;
    try {
      await this.#copyFromWorker(id, f);
      await this.#fillHoles(id, f);
      if (this.#stillPublishing(id, f)) this.#store(id, f.timeline.tick(this.#nowMs()));
      f.lastError = null;
    } catch (err) {
      this.#stats.pollErrors++;
      const message = err instanceof Error ? err.message : String(err);
      if (message !== f.lastError && !this.#abort.signal.aborted) this.#logger.warn(`hls gateway: stream ${id}: ${message}`);
      f.lastError = message;
    } finally {
      f.polling = false;
    }
  }

  async #copyFromWorker(id: string, f: Followed): Promise<void> {
    const a = f.timeline.active;
    if (a === null || a.sealed) return;
    const workerUrl = this.#c.cluster.httpUrl(a.nodeId);
    if (workerUrl === null) throw new Error(`its worker ${a.nodeId} has no HTTP address in the state`);
    const dir = `${workerUrl}/internal/v1/hls/${id}/${a.epoch}/`;
    const res = await this.#get(`${dir}index.m3u8`, this.#init.requestTimeoutMs, this.#init.playlistBytesMax);
    if (res.status === 404) return; // ffmpeg has not written its first segment yet
    if (res.status !== 200) throw new Error(`worker ${a.nodeId} answered ${res.status} for its playlist of epoch ${a.epoch}`);
    const playlist = parseWorkerPlaylist(res.body.toString('utf8'));
    // A timeline that has published nothing yet lists its first window all at once: shown one
    // segment at a time, a restarted gateway's playlist would end below where it ended before.
    const first: { segment: (typeof playlist.segments)[number]; body: Buffer }[] | null = f.timeline.lastPublished() === null ? [] : null;
    let copied = 0;
    for (const segment of f.timeline.toCopy(a.epoch, playlist.segments)) {
      if (copied >= this.#init.segmentsPerPollMax) break;
      if (f.timeline.wants(a.epoch, segment.k) === null) continue; // taken meanwhile
      // Named from k, never from the playlist's text: the URL cannot be steered elsewhere.
      const seg = await this.#get(`${dir}seg-${segment.k}.ts`, this.#init.segmentTimeoutMs, this.#c.cache.segmentBytesMax);
      copied++;
      if (seg.status === 404) continue; // rolled off the worker's list meanwhile
      if (seg.status !== 200) throw new Error(`worker ${a.nodeId} answered ${seg.status} for segment ${segment.k} of epoch ${a.epoch}`);
      this.#stats.segmentsCopied++;
      this.#stats.bytesCopied += seg.body.length;
      if (first !== null) first.push({ segment, body: seg.body });
      else if (!this.#stillPublishing(id, f)) return;
      else this.#store(id, f.timeline.addWorkerSegment(a.epoch, segment, seg.body, this.#nowMs()));
    }
    if (first === null || !this.#stillPublishing(id, f)) return;
    for (const { segment, body } of first) this.#store(id, f.timeline.addWorkerSegment(a.epoch, segment, body, this.#nowMs()));
  }

  async #fillHoles(id: string, f: Followed): Promise<void> {
    const holes = f.timeline.missing().slice(0, this.#init.holeFetchesPerPollMax);
    if (holes.length === 0 || this.#c.isFenced()) return;
    const peers = this.#c.cluster.peerIds();
    if (peers.length === 0) return;
    for (const n of holes) {
      let found = false;
      for (let i = 0; i < Math.min(peers.length, this.#init.peersPerHoleMax) && !found; i++) {
        const peer = peers[(f.peerCursor + i) % peers.length]!;
        const url = this.#c.cluster.httpUrl(peer);
        if (url === null) continue;
        const res = await this.#get(`${url}/internal/v1/hls/${id}/public/${n}.ts`, this.#init.requestTimeoutMs, this.#c.cache.segmentBytesMax).catch(() => null);
        const facts = res?.status === 200 ? readSegmentHeaders(res.headers) : null;
        if (res === null || facts === null) continue;
        found = true;
        if (!this.#stillPublishing(id, f)) return;
        this.#store(id, f.timeline.addPeerSegment(n, facts, res.body, this.#nowMs()));
      }
      if (found) this.#stats.peerHits++;
      else {
        this.#stats.peerMisses++;
        f.peerCursor = (f.peerCursor + 1) % peers.length; // the next poll starts with another peer
        return; // later holes cannot be listed before this one anyway
      }
    }
  }

  /** Published segments go into the cache in the same tick, before any request can list them. */
  #store(id: string, published: readonly Published<Buffer>[]): void {
    for (const { segment: s, payload } of published) {
      this.#c.cache.put(id, s.n, { bytes: payload, durationS: s.durationS, epoch: s.epoch, k: s.k, workerDiscontinuity: s.workerDiscontinuity, pdtMs: s.pdtMs });
    }
  }

  #get(url: string, timeoutMs: number, bytesMax: number): ReturnType<HttpGetter['get']> {
    return this.#http.get(url, { headers: { authorization: `Bearer ${this.#c.internalToken()}` }, timeoutMs, bytesMax, signal: this.#abort.signal });
  }
}
