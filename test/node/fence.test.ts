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

test('renews every 500 ms, even while earlier barriers are still on their way (at most 4)', async () => {
  const { f, view } = fence();
  f.check();
  view.barriers[0]!.resolve(1);
  await turn();
  view.nowMs = 100;
  f.check();
  assert.equal(view.barriers.length, 1, 'the lease is fresh');
  for (const at of [600, 1100, 1600, 2100, 2600]) {
    view.nowMs = at;
    f.check();
    f.check();
  }
  assert.equal(view.barriers.length, 5, 'one per 500 ms, and 4 on their way at most');
  view.barriers[2]!.resolve(2); // the one started at 1,100 ms comes back first
  await turn();
  view.nowMs = 4_000;
  assert.equal(f.isFenced(), false, 'renewed from 1,100 ms');
  view.barriers[1]!.resolve(3); // an older one, late: the lease does not go back
  await turn();
  view.nowMs = 4_101;
  assert.equal(f.isFenced(), true);
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
  view.nowMs = 500;
  f.check();
  assert.equal(view.barriers.length, 2);
  assert.deepEqual(view.changes, []);
});
