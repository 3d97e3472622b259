import assert from 'node:assert/strict';
import { test } from 'node:test';

import { QuorumFence } from '../../node/fence.ts';

function fence() {
  const view = { silentMs: 0, barrier: null as null | PromiseWithResolvers<unknown>, changes: [] as boolean[] };
  const f = new QuorumFence({
    msSinceQuorumContact: () => view.silentMs,
    readBarrier: () => {
      view.barrier = Promise.withResolvers();
      return view.barrier.promise;
    },
    onChange: (fenced) => view.changes.push(fenced),
  }, 3_000);
  return { f, view };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('fenced at the first question once out of touch longer than the fence time', () => {
  const { f, view } = fence();
  assert.equal(f.isFenced(), false);
  view.silentMs = 3_000;
  assert.equal(f.isFenced(), false, 'at the bound: not yet');
  view.silentMs = 3_001;
  assert.equal(f.isFenced(), true);
  assert.deepEqual(view.changes, [true]);
});


test('back in touch, it stays fenced until a read barrier has been applied', async () => {
  const { f, view } = fence();
  view.silentMs = 36_000;
  f.check();
  assert.equal(f.isFenced(), true);
  assert.equal(view.barrier, null, 'no barrier while out of touch');
  view.silentMs = 10;
  assert.equal(f.isFenced(), true, 'in touch is not enough');
  f.check();
  f.check(); // one barrier at a time
  assert.notEqual(view.barrier, null);
  await turn();
  assert.equal(f.isFenced(), true, 'the barrier has not been applied yet');
  view.barrier!.resolve(42);
  await turn();
  assert.equal(f.isFenced(), false);
  assert.deepEqual(view.changes, [true, false]);
});

test('a failed barrier, or contact lost again meanwhile, keeps it fenced; the next check tries again', async () => {
  const { f, view } = fence();
  view.silentMs = 5_000;
  f.check();
  view.silentMs = 0;
  f.check();
  const first = view.barrier!;
  first.reject(new Error('no leader'));
  await turn();
  assert.equal(f.isFenced(), true);
  f.check();
  assert.notEqual(view.barrier, first, 'a new barrier');
  view.silentMs = 4_000;
  view.barrier!.resolve(1);
  await turn();
  assert.equal(f.isFenced(), true, 'out of touch again when the barrier came back');
  assert.deepEqual(view.changes, [true]);
});
