// Table tests of the supervisor's diff (reconcile.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconcile, specsEqual } from '../../node/supervisor/reconcile.ts';
import type { StreamSpec } from '../../node/supervisor/types.ts';
import { workerListSize } from '../../node/supervisor/types.ts';

const base = (id: string, epoch = 1): StreamSpec => ({
  streamId: id, epoch, profile: 'copy', segmentS: 2, listSize: 9,
  sources: [{ url: `udp://239.0.0.1:${1000 + id.length}`, priority: 0, userAgent: null, referrer: null }],
});
const map = (...specs: StreamSpec[]) => new Map(specs.map((s) => [s.streamId, s]));

test('starts, stops and restarts, each sorted by stream id', () => {
  const a = base('a');
  const b = base('b');
  const c = base('c');
  const two = { ...a, sources: [...a.sources, { url: 'udp://239.0.0.2:1000', priority: 0, userAgent: null, referrer: null }] };
  const table: [name: string, desired: Map<string, StreamSpec>, running: Map<string, StreamSpec>, starts: string[], stops: string[], restarts: string[]][] = [
    ['nothing to do', map(), map(), [], [], []],
    ['same specs: no churn', map(a, b), map(b, a), [], [], []],
    ['new streams start', map(c, a, b), map(b), ['a', 'c'], [], []],
    ['removed streams stop', map(b), map(c, a, b), [], ['a', 'c'], []],
    ['a new epoch restarts', map({ ...a, epoch: 2 }), map(a), [], [], ['a']],
    ['a changed source list restarts', map({ ...a, sources: [...a.sources, { url: 'http://x/a.ts', priority: -1, userAgent: null, referrer: null }] }), map(a), [], [], ['a']],
    ['a changed source order restarts (figures name sources by index)', map({ ...two, sources: [...two.sources].reverse() }), map(two), [], [], ['a']],
    ['a changed user agent restarts', map({ ...a, sources: [{ ...a.sources[0]!, userAgent: 'VLC' }] }), map(a), [], [], ['a']],
    ['a changed profile restarts', map({ ...a, profile: { height: 720, videoKbps: 2500, audioKbps: 128 } }), map(a), [], [], ['a']],
    ['changed segmenting restarts', map({ ...a, segmentS: 4 }, { ...b, listSize: 12 }), map(a, b), [], [], ['a', 'b']],
    ['all three at once', map({ ...a, epoch: 5 }, c), map(a, b), ['c'], ['b'], ['a']],
  ];
  for (const [name, desired, running, starts, stops, restarts] of table) {
    const plan = reconcile(desired, running);
    assert.deepEqual(plan.starts.map((s) => s.streamId), starts, name);
    assert.deepEqual(plan.stops, stops, name);
    assert.deepEqual(plan.restarts.map((s) => s.streamId), restarts, name);
    // Restarts carry the desired spec.
    for (const spec of [...plan.starts, ...plan.restarts]) assert.equal(spec, desired.get(spec.streamId), name);
  }
});

test('transcode profiles compare by value; a spec under the wrong key is a bug', () => {
  const t1 = { ...base('a'), profile: { height: 720, videoKbps: 2500, audioKbps: 128 } } as const;
  const t2 = { ...base('a'), profile: { height: 720, videoKbps: 2500, audioKbps: 128 } } as const;
  assert.ok(specsEqual(t1, t2));
  assert.ok(!specsEqual(t1, { ...t2, profile: { ...t2.profile, audioKbps: 96 } }));
  assert.throws(() => reconcile(new Map([['x', base('a')]]), map()), RangeError);
});

test('worker list size covers the public window plus catch-up room', () => {
  assert.deepEqual([1, 3, 6, 30].map(workerListSize), [6, 6, 9, 33]);
});
