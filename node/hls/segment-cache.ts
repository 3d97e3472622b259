// The gateway's segment store: published segments by (stream, public number), in memory,
// bounded in bytes, least recently used first out. Viewers, redirects and peers filling holes
// read it; a segment stays here after its worker died, so a listed segment stays fetchable.
// Size it well above streams x window x segment size: an evicted listed segment is a 404.

/** Default bound: 256 MiB, about 128 two-second segments of an 8 Mb/s channel. */
export const defaultCacheBytesMax = 256 * 1024 * 1024;

export interface CachedSegment {
  readonly bytes: Uint8Array;
  readonly durationS: number;
  readonly epoch: number;
  /** The worker's index of the segment in its epoch. */
  readonly k: number;
  readonly workerDiscontinuity: boolean;
  readonly pdtMs: number;
}

export interface SegmentCacheInit {
  /** Default {@link defaultCacheBytesMax}. */
  readonly bytesMax?: number;
  /** One segment larger than this is refused. Default: an eighth of bytesMax. */
  readonly segmentBytesMax?: number;
}

export interface SegmentCacheStats {
  /** Gauges. */
  count: number;
  bytes: number;
  /** Counters. */
  hits: number;
  misses: number;
  evictions: number;
  refusedTooLarge: number;
}

/** Not thread-shared; every method is synchronous. The cache keeps the bytes it is given (the
 *  caller must not change them afterwards). */
export class SegmentCache {
  readonly bytesMax: number;
  readonly segmentBytesMax: number;
  // A Map iterates in insertion order: re-inserting on a hit makes the first entry the least
  // recently used one.
  readonly #entries = new Map<string, CachedSegment>();
  readonly #stats: SegmentCacheStats = { count: 0, bytes: 0, hits: 0, misses: 0, evictions: 0, refusedTooLarge: 0 };

  constructor(init: SegmentCacheInit = {}) {
    this.bytesMax = init.bytesMax ?? defaultCacheBytesMax;
    this.segmentBytesMax = init.segmentBytesMax ?? Math.floor(this.bytesMax / 8);
    if (!(this.bytesMax > 0) || !(this.segmentBytesMax > 0) || this.segmentBytesMax > this.bytesMax) {
      throw new RangeError(`SegmentCache needs 0 < segmentBytesMax <= bytesMax, got ${this.segmentBytesMax} and ${this.bytesMax}`);
    }
  }

  /** Stores a segment, evicting the least recently used ones to stay within bytesMax. Returns
   *  false (and stores nothing) when the segment alone is larger than segmentBytesMax. */
  put(streamId: string, n: number, segment: CachedSegment): boolean {
    if (segment.bytes.byteLength > this.segmentBytesMax) {
      this.#stats.refusedTooLarge++;
      return false;
    }
    this.#remove(key(streamId, n));
    this.#entries.set(key(streamId, n), segment);
    this.#stats.bytes += segment.bytes.byteLength;
    this.#stats.count++;
    while (this.#stats.bytes > this.bytesMax) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#remove(oldest);
      this.#stats.evictions++;
    }
    return true;
  }

  /** The segment, marked as just used; undefined when absent (never stored, or evicted). */
  get(streamId: string, n: number): CachedSegment | undefined {
    const k = key(streamId, n);
    const segment = this.#entries.get(k);
    if (segment === undefined) {
      this.#stats.misses++;
      return undefined;
    }
    this.#entries.delete(k);
    this.#entries.set(k, segment);
    this.#stats.hits++;
    return segment;
  }

  has(streamId: string, n: number): boolean {
    return this.#entries.has(key(streamId, n));
  }

  /** Forgets every segment of a stream (it stopped running). One pass over the cache. */
  dropStream(streamId: string): number {
    const prefix = `${streamId}/`;
    let dropped = 0;
    for (const k of [...this.#entries.keys()]) {
      if (k.startsWith(prefix)) {
        this.#remove(k);
        dropped++;
      }
    }
    return dropped;
  }

  stats(): Readonly<SegmentCacheStats> {
    return { ...this.#stats };
  }

  #remove(k: string): void {
    const old = this.#entries.get(k);
    if (old === undefined) return;
    this.#entries.delete(k);
    this.#stats.bytes -= old.bytes.byteLength;
    this.#stats.count--;
  }
}

/** Stream ids are slugs (no '/'), so `<stream>/<n>` is unambiguous. */
function key(streamId: string, n: number): string {
  return `${streamId}/${n}`;
}
