// The segment cache: bounded bytes, least recently used out, per-stream drop, gauges.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SegmentCache } from '../../node/hls/segment-cache.ts';
import type { CachedSegment } from '../../node/hls/segment-cache.ts';

function seg(bytes: number, k = 0): CachedSegment {
  return { bytes: new Uint8Array(bytes), durationS: 2, epoch: 1, k, workerDiscontinuity: false, pdtMs: 0 };
}

test('least recently used segments go first when the bytes bound is passed', () => {
  const cache = new SegmentCache({ bytesMax: 1000, segmentBytesMax: 500 });
  cache.put('a', 1, seg(300));
  cache.put('a', 2, seg(300));
  cache.put('a', 3, seg(300));
  assert.ok(cache.get('a', 1) !== undefined); // 1 is now the most recently used
  cache.put('a', 4, seg(300));
  assert.equal(cache.has('a', 2), false);
  assert.deepEqual([1, 3, 4].map((n) => cache.has('a', n)), [true, true, true]);
  assert.deepEqual(cache.stats(), { count: 3, bytes: 900, hits: 1, misses: 0, evictions: 1, refusedTooLarge: 0 });
  assert.equal(cache.get('a', 2), undefined);
  assert.equal(cache.stats().misses, 1);
});

test('a segment larger than segmentBytesMax is refused; replacing a number does not double count', () => {
  const cache = new SegmentCache({ bytesMax: 1000, segmentBytesMax: 500 });
  assert.equal(cache.put('a', 1, seg(501)), false);
  assert.equal(cache.stats().refusedTooLarge, 1);
  cache.put('a', 1, seg(100, 1));
  cache.put('a', 1, seg(200, 2));
  assert.deepEqual([cache.stats().count, cache.stats().bytes, cache.get('a', 1)?.k], [1, 200, 2]);
});

test('dropStream forgets one stream only (ids are slugs: "a" is not a prefix of "ab")', () => {
  const cache = new SegmentCache();
  cache.put('a', 1, seg(10));
  cache.put('a', 2, seg(10));
  cache.put('ab', 1, seg(10));
  assert.equal(cache.dropStream('a'), 2);
  assert.deepEqual([cache.has('a', 1), cache.has('ab', 1), cache.stats().bytes], [false, true, 10]);
  assert.throws(() => new SegmentCache({ bytesMax: 10, segmentBytesMax: 20 }), RangeError);
});
