import assert from 'node:assert/strict';
import { test } from 'node:test';

import { QuorumFence } from '../../node/fence.ts';

function fence() {
  const view = { nowMs: 0, barriers: [] as PromiseWithResolvers<unknown>[], changes: [] as boolean[] };
  const f = new QuorumFence({
    readBarrier: () => {
      const b = Promise.withResolvers();
      view.barriers.push(b);
      return b.promise;
    },
    nowMs: () => view.nowMs,
    onChange: (fenced) => view.changes.push(fenced),
  }, 3_000);
  return { f, view };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('fenced from the start until a read barrier succeeds; free for the fence time from its start', async () => {
  const { f, view } = fence();
  assert.equal(f.isFenced(), true);
  f.check();
  assert.equal(view.barriers.length, 1);
  view.nowMs = 400; // the barrier took 400 ms
  view.barriers[0]!.resolve(7);
  await turn();
  assert.equal(f.isFenced(), false);
  view.nowMs = 3_000;
  assert.equal(f.isFenced(), false, 'at the bound, counted from the start of the barrier');
  view.nowMs = 3_001;
  assert.equal(f.isFenced(), true, 'no renewal: fenced at the first question past the bound, no timer needed');
  assert.deepEqual(view.changes, [false, true]);
});

test('renews while free, one barrier at a time, and not more often than every 500 ms', async () => {
  const { f, view } = fence();
  f.check();
  view.barriers[0]!.resolve(1);
  await turn();
  view.nowMs = 100;
  f.check();
  assert.equal(view.barriers.length, 1, 'the lease is fresh');
  view.nowMs = 600;
  f.check();
  f.check();
  assert.equal(view.barriers.length, 2);
  view.barriers[1]!.resolve(2);
  await turn();
  view.nowMs = 3_500;
  assert.equal(f.isFenced(), false, 'renewed from 600 ms');
});

test('a pause: woken past the bound it is fenced before any barrier, and free again after one', async () => {
  const { f, view } = fence();
  f.check();
  view.barriers[0]!.resolve(1);
  await turn();
  view.nowMs = 36_000; // SIGSTOP for 36 s
  assert.equal(f.isFenced(), true);
  f.check();
  assert.equal(view.barriers.length, 2);
  assert.equal(f.isFenced(), true, 'in touch is not enough: the barrier must come back');
  view.barriers[1]!.resolve(2);
  await turn();
  assert.equal(f.isFenced(), false);
  assert.deepEqual(view.changes, [false, true, false]);
});

test('a failed barrier renews nothing; the next check tries again', async () => {
  const { f, view } = fence();
  f.check();
  view.barriers[0]!.reject(new Error('no leader'));
  await turn();
  assert.equal(f.isFenced(), true);
  f.check();
  assert.equal(view.barriers.length, 2);
  assert.deepEqual(view.changes, []);
});
