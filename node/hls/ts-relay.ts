// The Xtream `.ts` relay (docs/iptv.md): a viewer's /live/<user>/<pass>/<id>.ts is one endless
// MPEG-TS response, made of the same public segments the gateway lists at the stream's stable
// playlist, in number order, each once. One timer serves every relay: per stream it reads the
// timeline's window once, and hands each relay the segments after the last one it took. A relay
// whose timeline jumped (or that lost a segment to cache eviction) goes on at the next one it can
// get, marked as a discontinuity; the restamper (node/iptv/mpegts.ts) then joins the timestamps.
//
// Bounds: a relay holds at most queueSegmentsMax segments the client has not taken yet; beyond
// that the client is too slow for the stream and is cut off (its connection is destroyed, so the
// player reconnects at the live edge) instead of the node buffering without bound. Besides those,
// one segment sits in the response stream and the socket's buffers.
import { Readable } from 'node:stream';

import { TsRestamper } from '../iptv/mpegts.ts';
import type { RelaySegment } from '../iptv/mpegts.ts';
import type { HlsSource, TimelineReader } from './routes.ts';
import type { SegmentCache } from './segment-cache.ts';
import type { TimelineView } from './timeline.ts';

/** What the relay reads of this node's gateway (Channels.routes has both). */
export interface RelayGateway {
  readonly source: Pick<HlsSource, 'stream' | 'timeline'>;
  readonly cache: Pick<SegmentCache, 'get'>;
}

export interface TsRelayComponents {
  /** This node's gateway; null while it is not running yet (relays wait, then stall out). */
  readonly gateway: () => RelayGateway | null;
  /** Wall clock. Default Date.now. */
  readonly nowMs?: () => number;
}

export interface TsRelayInit {
  /** How often relays look for new segments. Default 100 (the gateway polls every 250). */
  readonly tickIntervalMs?: number;
  /** A new relay starts this many segments behind the live edge (what players buffer at once).
   *  Default 3 (RFC 8216 §6.3.3: players start 3 target durations from the end). */
  readonly startSegments?: number;
  /** Segments a relay may hold that its client has not taken; more cuts the client off.
   *  Default 8 (about 8 segment durations behind). */
  readonly queueSegmentsMax?: number;
  /** No new segment for this long ends the relay (the stream died; players reconnect). Default
   *  30,000, and at least 4 target durations. */
  readonly stallTimeoutMs?: number;
  /** A stream without a worker (disabled, nowhere to run) ends its relays after this. Default 5,000. */
  readonly stoppedGraceMs?: number;
  /** Relays open at once on this node; more are refused. Default 5,000. */
  readonly relaysMax?: number;
  /** How often each relay's viewer is asked whether it may still watch. Default 1,000. */
  readonly recheckIntervalMs?: number;
}

/** Why a relay ended: `ended` (line no longer allowed), `stalled` (no segment for too long),
 *  `stream-gone` (deleted or stopped), `slow-client` (cut off), `client-closed`, `shutdown`. */
export type RelayEndReason = 'not-allowed' | 'stalled' | 'stream-gone' | 'slow-client' | 'client-closed' | 'shutdown';

export interface RelayViewer {
  /** Asked every recheckIntervalMs: false ends the relay (the line expired, was disabled, its
   *  password changed). Must be cheap and must not throw. */
  allowed(): boolean;
  /** Called exactly once, when the relay ends for any reason. Must not throw. */
  onEnd(reason: RelayEndReason): void;
}

export interface TsRelayStats {
  /** Gauge. */
  open: number;
  /** Counters. */
  opened: number;
  segmentsSent: number;
  bytesSent: number;
  /** Relays that went on after a gap (timeline jump, evicted segment). */
  gaps: number;
  ended: Record<RelayEndReason, number>;
}

export type RelayOpen = { readonly ok: true; readonly stream: Readable } | { readonly ok: false; readonly reason: 'too-many-relays' | 'no-stream' };

interface Relay {
  readonly streamId: string;
  readonly viewer: RelayViewer;
  readonly body: RelayBody;
  readonly restamper: TsRestamper;
  readonly queue: RelaySegment[];
  /** The timeline the numbers below belong to (a stream that restarted gets a new one). */
  timeline: TimelineReader | null;
  /** The next public number to send; null before the first. */
  next: number | null;
  /** The next segment sent is marked as a discontinuity (a jump or a lost segment). */
  gap: boolean;
  /** The client asked for more (the stream's _read) and nothing was pushed since. */
  wanted: boolean;
  lastSegmentAtMs: number;
  notRunningSinceMs: number | null;
  ended: boolean;
}

/** Lifecycle: construct; open() relays (the timer runs while any is open); stop() ends all.
 *  Nothing here throws at a caller except a bad init (RangeError). */
export class TsRelayHub {
  readonly #c: TsRelayComponents;
  readonly #nowMs: () => number;
  readonly #init: Required<TsRelayInit>;
  readonly #relays = new Set<Relay>();
  readonly #stats: TsRelayStats = {
    open: 0, opened: 0, segmentsSent: 0, bytesSent: 0, gaps: 0,
    ended: { 'not-allowed': 0, 'stalled': 0, 'stream-gone': 0, 'slow-client': 0, 'client-closed': 0, 'shutdown': 0 },
  };
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastRecheckMs = 0;

  constructor(components: TsRelayComponents, init: TsRelayInit = {}) {
    this.#c = components;
    this.#nowMs = components.nowMs ?? Date.now;
    this.#init = {
      tickIntervalMs: init.tickIntervalMs ?? 100, startSegments: init.startSegments ?? 3, queueSegmentsMax: init.queueSegmentsMax ?? 8,
      stallTimeoutMs: init.stallTimeoutMs ?? 30_000, stoppedGraceMs: init.stoppedGraceMs ?? 5_000, relaysMax: init.relaysMax ?? 5_000,
      recheckIntervalMs: init.recheckIntervalMs ?? 1_000,
    };
    for (const [name, value] of Object.entries(this.#init)) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`TsRelayHub: ${name} must be > 0, got ${value}`);
    }
  }

  stats(): Readonly<TsRelayStats> {
    return { ...this.#stats, open: this.#relays.size, ended: { ...this.#stats.ended } };
  }

  /** Starts relaying `streamId` to a new response body (send it with reply.send()). Refused when
   *  relaysMax are open or the gateway does not know the stream. */
  open(streamId: string, viewer: RelayViewer): RelayOpen {
    if (this.#relays.size >= this.#init.relaysMax) return { ok: false, reason: 'too-many-relays' };
    if (this.#c.gateway()?.source.stream(streamId) === null) return { ok: false, reason: 'no-stream' };
    const relay: Relay = {
      streamId, viewer, body: new RelayBody(), restamper: new TsRestamper(), queue: [], timeline: null, next: null,
      gap: false, wanted: true, lastSegmentAtMs: this.#nowMs(), notRunningSinceMs: null, ended: false,
    };
    relay.body.onRead = () => {
      relay.wanted = true;
      this.#deliver(relay);
    };
    relay.body.onDestroy = () => this.#end(relay, 'client-closed');
    this.#relays.add(relay);
    this.#stats.opened++;
    this.#serve(relay.streamId, [relay], this.#nowMs());
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.tick(), this.#init.tickIntervalMs);
      this.#timer.unref(); // open responses keep the process alive, not this timer
    }
    return { ok: true, stream: relay.body };
  }

  /** One round over every relay (the timer calls it; tests may too). Never throws. */
  tick(): void {
    const nowMs = this.#nowMs();
    const byStream = new Map<string, Relay[]>();
    for (const relay of this.#relays) {
      const list = byStream.get(relay.streamId);
      if (list === undefined) byStream.set(relay.streamId, [relay]);
      else list.push(relay);
    }
    const recheck = nowMs - this.#lastRecheckMs >= this.#init.recheckIntervalMs;
    if (recheck) this.#lastRecheckMs = nowMs;
    for (const [streamId, relays] of byStream) {
      if (recheck) for (const relay of relays) if (!relay.viewer.allowed()) this.#end(relay, 'not-allowed');
      this.#serve(streamId, relays.filter((r) => !r.ended), nowMs);
    }
  }

  /** Ends every relay (their responses end) and the timer. */
  stop(): void {
    for (const relay of [...this.#relays]) this.#end(relay, 'shutdown');
    this.#stopTimer();
  }

  #serve(streamId: string, relays: readonly Relay[], nowMs: number): void {
    if (relays.length === 0) return;
    const gateway = this.#c.gateway();
    const stream = gateway?.source.stream(streamId);
    if (gateway !== null && stream === null) {
      for (const relay of relays) this.#end(relay, 'stream-gone');
      return;
    }
    const timeline = gateway?.source.timeline(streamId) ?? null;
    const view = timeline === null ? null : timeline.view();
    for (const relay of relays) {
      if (stream?.running === false) relay.notRunningSinceMs ??= nowMs;
      else relay.notRunningSinceMs = null;
      if (relay.notRunningSinceMs !== null && nowMs - relay.notRunningSinceMs >= this.#init.stoppedGraceMs) {
        this.#end(relay, 'stream-gone');
        continue;
      }
      if (gateway !== null && timeline !== null && view !== null) this.#take(relay, gateway, streamId, timeline, view, nowMs);
      const stallMs = Math.max(this.#init.stallTimeoutMs, 4000 * (view?.targetDurationS ?? 0));
      if (relay.ended) continue;
      if (relay.queue.length > this.#init.queueSegmentsMax) this.#end(relay, 'slow-client');
      else if (nowMs - relay.lastSegmentAtMs >= stallMs) this.#end(relay, 'stalled');
      else this.#deliver(relay);
    }
  }

  /** Queues the segments of `view` after the relay's last one. */
  #take(relay: Relay, gateway: RelayGateway, streamId: string, timeline: TimelineReader, view: TimelineView, nowMs: number): void {
    const segments = view.segments;
    if (segments.length === 0) return;
    if (relay.timeline !== timeline) {
      // A stream that stopped and started again has a new numbering: start at its live edge.
      if (relay.timeline !== null) relay.gap = true;
      relay.timeline = timeline;
      relay.next = null;
    }
    const first = segments[0]!.n;
    const last = segments[segments.length - 1]!.n;
    if (relay.next === null) relay.next = segments[Math.max(0, segments.length - this.#init.startSegments)]!.n;
    if (relay.next < first) {
      // The window restarted past numbers this relay never saw (the timeline jumped).
      relay.gap = true;
      relay.next = first;
    }
    for (; relay.next <= last; relay.next++) {
      const segment = segments[relay.next - first]!;
      const cached = gateway.cache.get(streamId, segment.n);
      if (cached === undefined) {
        relay.gap = true; // evicted already: go on with the next one
        continue;
      }
      if (relay.gap) this.#stats.gaps++;
      relay.queue.push({ bytes: cached.bytes, durationS: segment.durationS, discontinuity: segment.discontinuity || relay.gap });
      relay.gap = false;
      relay.lastSegmentAtMs = nowMs;
    }
  }

  /** Pushes queued segments while the client takes them. */
  #deliver(relay: Relay): void {
    while (!relay.ended && relay.wanted && relay.queue.length > 0) {
      const bytes = relay.restamper.next(relay.queue.shift()!);
      this.#stats.segmentsSent++;
      this.#stats.bytesSent += bytes.byteLength;
      relay.wanted = relay.body.push(bytes);
    }
  }

  #end(relay: Relay, reason: RelayEndReason): void {
    if (relay.ended) return;
    relay.ended = true;
    relay.queue.length = 0;
    this.#relays.delete(relay);
    this.#stats.ended[reason]++;
    if (reason === 'slow-client') relay.body.destroy();
    else if (reason !== 'client-closed') relay.body.push(null);
    if (this.#relays.size === 0) this.#stopTimer();
    relay.viewer.onEnd(reason);
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** The response body: pulled by the HTTP response (backpressure), fed by the hub. */
class RelayBody extends Readable {
  onRead: () => void = () => undefined;
  onDestroy: () => void = () => undefined;

  constructor() {
    // One segment at a time is enough to keep the socket busy.
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.onRead();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.onDestroy();
    callback(error);
  }
}
