import assert from 'node:assert/strict';
import { test } from 'node:test';

import { historySamplesMax, LoadHistory } from '../../node/gossip/history.ts';
import type { HostFigures } from '../../node/gossip/report.ts';

const host = (cpuPct: number): HostFigures => ({ cpuPct, load1: 0, load5: 0, load15: 0, memUsedBytes: 0, memTotalBytes: 1, memPct: 50, netRxBytesPerS: 1, netTxBytesPerS: 2, diskFreeBytes: 0, rssBytes: 0 });

test('load history keeps an hour per member, skips members not heard from, forgets removed ones', () => {
  const h = new LoadHistory();
  for (let i = 0; i < historySamplesMax + 5; i++) h.sample(i * 10_000, new Map([['a', { host: host(i), streams: 1 }], ['b', { host: null, streams: 0 }]]));
  assert.equal(h.of('a').length, historySamplesMax);
  assert.equal(h.of('a')[0]?.cpuPct, 5, 'the oldest samples went first');
  assert.deepEqual(h.of('b'), []);
  h.sample(0, new Map());
  assert.deepEqual(h.of('a'), []);
});
