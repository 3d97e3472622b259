// Fetches the services' XMLTV guides (docs/iptv.md "EPG"). Every node fetches for itself: a
// guide is tens of MB, far too large for the replicated state, and a node that cannot reach a
// source keeps serving its last good copy. Each URL is fetched at start, every refreshIntervalMs
// (6 h), and soon after its set of streams changes (new streams may match); a failure is retried
// with backoff, keeps the last good copy, is logged once per streak and shown by sources().
// The download is bounded (time, bytes read, bytes after gunzip) and parsed as it arrives.
//
// The I/O side of the guide, kept out of the pure node/iptv (parsing, matching, writing): it gets
// fetch and the clock as components (the composition root passes globalThis.fetch and the real
// clock); a download's time bound is a real AbortSignal timeout.
import { redactedUrl } from '../auth/redact.ts';
import type { GossipClock } from '../gossip/clock.ts';
import type { ClusterState } from '../state/index.ts';
import { Guide, guideWants, mergeGuide } from '../iptv/epg.ts';
import type { GuideWants } from '../iptv/epg.ts';
import { GuideCollector, StreamMatcher } from '../iptv/xmltv.ts';
import type { CollectorLimits, GuideSnapshot } from '../iptv/xmltv.ts';
import { XmltvParser } from '../iptv/xmltv-parser.ts';

/** The part of the WHATWG fetch the refresher uses (globalThis.fetch fits). */
export type GuideFetch = (url: string, init: { signal: AbortSignal; headers: Record<string, string>; redirect: 'follow' }) => Promise<{
  readonly ok: boolean;
  readonly status: number;
  readonly body: ReadableStream<Uint8Array> | null;
}>;

export interface EpgRefresherComponents {
  readonly state: () => ClusterState;
  readonly fetch: GuideFetch;
  readonly clock: GossipClock;
  readonly log: (line: string) => void;
}

export interface EpgRefresherInit {
  /** Default 6 h. */
  readonly refreshIntervalMs?: number;
  /** First retry after a failure; doubles up to retryMaxMs. Defaults 5 min and 1 h. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** After a service's streams change, wait this long for more changes (an import) before
   *  fetching again; and never refetch one URL for a change more often than every
   *  changeMinIntervalMs. Defaults 10 s and 60 s. */
  readonly changeSettleMs?: number;
  readonly changeMinIntervalMs?: number;
  /** How often due fetches are looked for. Default 5,000. */
  readonly checkIntervalMs?: number;
  /** One whole fetch (connect, download, parse). Default 120,000. */
  readonly timeoutMs?: number;
  /** Bytes read from the response body (after HTTP content-encoding). Default 50 MiB. */
  readonly downloadBytesMax?: number;
  /** Bytes of XML after gunzipping a .gz guide. Default 256 MiB. */
  readonly xmlBytesMax?: number;
  /** Guides fetched at the same time. Default 2. */
  readonly fetchesInFlightMax?: number;
  readonly limits?: CollectorLimits;
}

export interface EpgSourceStatus {
  readonly url: string;
  /** Streams the URL serves (in the services that list it). */
  readonly streams: number;
  /** Of those, how many the last good copy has a channel or programmes for. */
  readonly matched: number;
  readonly programmes: number;
  readonly lastSuccessAtMs: number | null;
  readonly lastAttemptAtMs: number | null;
  /** The last attempt's failure; null after a success. */
  readonly lastError: string | null;
  readonly fetching: boolean;
}

/** A guide could not be used; the message says why (shown in sources() and the log). */
export class EpgFetchError extends Error {
  override readonly name = 'EpgFetchError';
}

interface Source {
  readonly url: string;
  wants: GuideWants;
  snapshot: GuideSnapshot | null;
  /** The wants signature of the last good copy. */
  fetchedSignature: string | null;
  nextDueMonoMs: number;
  lastAttemptMonoMs: number | null;
  lastAttemptAtMs: number | null;
  lastSuccessAtMs: number | null;
  lastError: string | null;
  failures: number;
  fetching: boolean;
}

/** Lifecycle: construct, start(), stop() (aborts fetches in flight, waits for them). guide() and
 *  sources() may be called at any time and never throw. */
export class EpgRefresher {
  readonly #c: EpgRefresherComponents;
  readonly #init: Required<Omit<EpgRefresherInit, 'limits'>> & { limits: CollectorLimits };
  readonly #sources = new Map<string, Source>();
  readonly #inFlight = new Set<Promise<void>>();
  #abort = new AbortController();
  #timer: { cancel(): void } | null = null;
  #running = false;
  /** Bumped when a snapshot is replaced or dropped. */
  #snapshotsVersion = 0;
  #wantsOf: { services: unknown; streams: unknown; wants: Map<string, GuideWants> } | null = null;
  #guide: { snapshotsVersion: number; services: unknown; streams: unknown; guide: Guide } | null = null;

  constructor(components: EpgRefresherComponents, init: EpgRefresherInit = {}) {
    this.#c = components;
    this.#init = {
      refreshIntervalMs: init.refreshIntervalMs ?? 6 * 3_600_000, retryMinMs: init.retryMinMs ?? 300_000, retryMaxMs: init.retryMaxMs ?? 3_600_000,
      changeSettleMs: init.changeSettleMs ?? 10_000, changeMinIntervalMs: init.changeMinIntervalMs ?? 60_000, checkIntervalMs: init.checkIntervalMs ?? 5_000,
      timeoutMs: init.timeoutMs ?? 120_000, downloadBytesMax: init.downloadBytesMax ?? 50 * 1024 * 1024, xmlBytesMax: init.xmlBytesMax ?? 256 * 1024 * 1024,
      fetchesInFlightMax: init.fetchesInFlightMax ?? 2, limits: init.limits ?? {},
    };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.check();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Looks for due fetches now (the timer calls it; call it after a change to act at once). */
  check(): void {
    if (!this.#running) return;
    this.#timer?.cancel();
    this.#timer = this.#c.clock.schedule(this.#init.checkIntervalMs, () => this.check());
    const nowMono = this.#c.clock.monotonicMs();
    const wants = this.#wants();
    for (const url of [...this.#sources.keys()]) {
      if (wants.has(url)) continue;
      this.#sources.delete(url); // no service lists it any more
      this.#snapshotsVersion++;
    }
    for (const [url, want] of wants) {
      let source = this.#sources.get(url);
      if (source === undefined) {
        source = {
          url, wants: want, snapshot: null, fetchedSignature: null, nextDueMonoMs: nowMono, lastAttemptMonoMs: null, lastAttemptAtMs: null,
          lastSuccessAtMs: null, lastError: null, failures: 0, fetching: false,
        };
        this.#sources.set(url, source);
      }
      if (source.wants.signature !== want.signature) {
        source.wants = want;
        if (source.fetchedSignature !== null && source.fetchedSignature !== want.signature) {
          const earliest = Math.max(nowMono + this.#init.changeSettleMs, (source.lastAttemptMonoMs ?? -Infinity) + this.#init.changeMinIntervalMs);
          source.nextDueMonoMs = source.failures > 0 ? Math.max(source.nextDueMonoMs, earliest) : Math.min(source.nextDueMonoMs, earliest);
        }
      }
    }
    for (const source of this.#sources.values()) {
      if (this.#inFlight.size >= this.#init.fetchesInFlightMax) break;
      if (source.fetching || source.nextDueMonoMs > nowMono) continue;
      const run = this.#refresh(source).finally(() => this.#inFlight.delete(run));
      this.#inFlight.add(run);
    }
  }

  /** The merged guide for the applied state (rebuilt when a copy or the catalog changed). */
  guide(): Guide {
    const state = this.#c.state();
    const g = this.#guide;
    if (g !== null && g.snapshotsVersion === this.#snapshotsVersion && g.services === state.services && g.streams === state.streams) return g.guide;
    const snapshots = new Map<string, GuideSnapshot>();
    for (const [url, source] of this.#sources) if (source.snapshot !== null) snapshots.set(url, source.snapshot);
    const guide = mergeGuide((g?.guide.version ?? 0) + 1, state, snapshots);
    this.#guide = { snapshotsVersion: this.#snapshotsVersion, services: state.services, streams: state.streams, guide };
    return guide;
  }

  sources(): EpgSourceStatus[] {
    return [...this.#sources.values()].map((s) => ({
      url: s.url, streams: s.wants.streamIds.length,
      matched: s.snapshot === null ? 0 : new Set([...s.snapshot.channels.keys(), ...s.snapshot.programmes.keys()]).size,
      programmes: s.snapshot?.programmeCount ?? 0, lastSuccessAtMs: s.lastSuccessAtMs, lastAttemptAtMs: s.lastAttemptAtMs,
      lastError: s.lastError, fetching: s.fetching,
    })).sort((a, b) => a.url.localeCompare(b.url));
  }

  #wants(): Map<string, GuideWants> {
    const state = this.#c.state();
    const w = this.#wantsOf;
    if (w !== null && w.services === state.services && w.streams === state.streams) return w.wants;
    const wants = guideWants(state);
    this.#wantsOf = { services: state.services, streams: state.streams, wants };
    return wants;
  }

  async #refresh(source: Source): Promise<void> {
    source.fetching = true;
    source.lastAttemptMonoMs = this.#c.clock.monotonicMs();
    source.lastAttemptAtMs = this.#c.clock.wallMs();
    const want = source.wants;
    try {
      const snapshot = await this.#download(source.url, new StreamMatcher(want.streamIds));
      if (!this.#running || this.#sources.get(source.url) !== source) return;
      source.snapshot = snapshot;
      source.fetchedSignature = want.signature;
      source.lastSuccessAtMs = this.#c.clock.wallMs();
      if (source.lastError !== null) this.#c.log(`epg: ${redactedUrl(source.url)} works again`);
      source.lastError = null;
      source.failures = 0;
      source.nextDueMonoMs = source.lastAttemptMonoMs + this.#init.refreshIntervalMs;
      this.#snapshotsVersion++;
    } catch (err) {
      if (!this.#running) return;
      const message = err instanceof Error ? err.message : String(err);
      source.failures++;
      const retryMs = Math.min(this.#init.retryMaxMs, this.#init.retryMinMs * 2 ** Math.min(source.failures - 1, 20));
      source.nextDueMonoMs = this.#c.clock.monotonicMs() + retryMs;
      if (message !== source.lastError) {
        const kept = source.snapshot === null ? 'no copy yet' : 'keeping the last good copy';
        this.#c.log(`epg: ${redactedUrl(source.url)}: ${message} (${kept}; retrying in ${Math.round(retryMs / 1000)} s)`);
      }
      source.lastError = message;
    } finally {
      source.fetching = false;
    }
  }

  /** Fetches and parses one guide; throws EpgFetchError (or the parser's XmltvSyntaxError). */
  async #download(url: string, matcher: StreamMatcher): Promise<GuideSnapshot> {
    const { timeoutMs, downloadBytesMax, xmlBytesMax } = this.#init;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]);
    let response;
    try {
      response = await this.#c.fetch(url, { signal, redirect: 'follow', headers: { 'accept': 'application/xml, text/xml, application/gzip, */*', 'user-agent': 'ottmesh-epg/1' } });
    } catch (err) {
      throw new EpgFetchError(signal.aborted ? `no answer within ${timeoutMs / 1000} s` : `cannot fetch: ${causeOf(err)}`);
    }
    if (!response.ok || response.body === null) throw new EpgFetchError(`answered HTTP ${response.status}`);
    const collector = new GuideCollector(matcher, this.#c.clock.wallMs(), this.#init.limits);
    const parser = new XmltvParser(collector);
    try {
      let body: AsyncIterable<Uint8Array> = bounded(response.body, downloadBytesMax, `the guide is larger than ${downloadBytesMax} bytes`);
      const first = await firstChunk(body);
      if (first.chunk !== null && first.chunk[0] === 0x1f && first.chunk[1] === 0x8b) {
        body = bounded(ReadableStream.from(first.rest).pipeThrough(new DecompressionStream('gzip')), xmlBytesMax, `the gunzipped guide is larger than ${xmlBytesMax} bytes`);
      } else body = first.rest;
      let decoder: InstanceType<typeof TextDecoder> | null = null;
      for await (const chunk of body) {
        decoder ??= new TextDecoder(encodingOf(chunk));
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
      parser.feed(decoder?.decode() ?? '');
      parser.end();
    } catch (err) {
      if (signal.aborted) throw new EpgFetchError(`not done within ${timeoutMs / 1000} s`);
      if (err instanceof TypeError) throw new EpgFetchError(`the download failed: ${causeOf(err)}`);
      throw err;
    }
    return collector.finish();
  }
}

/** The chunks of `body`, failing once more than `bytesMax` came. */
async function* bounded(body: AsyncIterable<Uint8Array>, bytesMax: number, message: string): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > bytesMax) throw new EpgFetchError(message);
    yield chunk;
  }
}

/** The first chunk (to sniff gzip), and all chunks again from the start. */
async function firstChunk(body: AsyncIterable<Uint8Array>): Promise<{ chunk: Uint8Array | null; rest: AsyncIterable<Uint8Array> }> {
  const iterator = body[Symbol.asyncIterator]();
  const first = await iterator.next();
  const chunk = first.done === true ? null : first.value;
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (chunk === null) return;
      yield chunk;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
    } finally {
      // Stopped early (a parse error, a bound): release the response now, not at its timeout.
      await iterator.return?.();
    }
  }
  return { chunk, rest: rest() };
}

/** The text encoding: a BOM, else the XML declaration's encoding, else UTF-8. */
export function encodingOf(head: Uint8Array): string {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  let ascii = '';
  for (let i = 0; i < Math.min(head.length, 256); i++) ascii += String.fromCharCode(head[i]!);
  const declared = /^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']/.exec(ascii)?.[1];
  if (declared === undefined) return 'utf-8';
  try {
    return new TextDecoder(declared).encoding;
  } catch (err) {
    if (err instanceof RangeError) return 'utf-8'; // an encoding TextDecoder does not know
    throw err;
  }
}

function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}
