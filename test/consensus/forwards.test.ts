// PendingForwards: how a follower settles the proposals it forwarded to the leader.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ForwardUnconfirmedError, ProposalLostError, ProposalOutcomeUnknownError } from '../../consensus/driver-errors.ts';
import { PendingForwards } from '../../consensus/forwards.ts';

const noTerm = () => null;

test('placed, then applied with the same term: resolved; with another term: lost', async () => {
  const f = new PendingForwards(10);
  const a = f.add('a', 0, 'L');
  const b = f.add('b', 0, 'L');
  f.placed('a', { index: 5, term: 2 }, 3, noTerm);
  f.placed('b', { index: 6, term: 2 }, 3, noTerm);
  assert.equal(f.size, 2);
  f.applied(5, 2);
  f.applied(6, 3);
  assert.deepEqual(await a, { index: 5, term: 2 });
  await assert.rejects(b, ProposalLostError);
  assert.equal(f.size, 0);
});

test('an answer for an index applied already is checked against the term there', async () => {
  const f = new PendingForwards(10);
  const same = f.add('same', 0, 'L');
  const other = f.add('other', 0, 'L');
  const gone = f.add('gone', 0, 'L');
  const terms = new Map([[4, 2], [5, 3]]);
  const termAt = (i: number) => terms.get(i) ?? null;
  f.placed('same', { index: 4, term: 2 }, 5, termAt);
  f.placed('other', { index: 5, term: 2 }, 5, termAt);
  f.placed('gone', { index: 1, term: 1 }, 5, termAt);
  assert.deepEqual(await same, { index: 4, term: 2 });
  await assert.rejects(other, ProposalLostError);
  await assert.rejects(gone, ProposalOutcomeUnknownError);
});

test('unanswered proposals expire after the timeout and are given up on when the leader changes', async () => {
  const f = new PendingForwards(10);
  const old = f.add('old', 0, 'L');
  const young = f.add('young', 5, 'L');
  f.expire(10);
  await assert.rejects(old, ForwardUnconfirmedError);
  assert.equal(f.size, 1);
  const toNew = f.add('to-new', 6, 'M');
  f.leaderChanged('M');
  await assert.rejects(young, ForwardUnconfirmedError);
  assert.equal(f.size, 1, 'what went to the new leader itself still waits for its answer');
  f.placed('to-new', { index: 10, term: 3 }, 0, noTerm);
  f.applied(10, 3);
  assert.deepEqual(await toNew, { index: 10, term: 3 });
  f.placed('young', { index: 9, term: 9 }, 0, noTerm); // a late answer changes nothing
  assert.equal(f.size, 0);
});

test('a snapshot over placed proposals: exactly at its index and term resolves, newer terms are lost, the rest unknown', async () => {
  const f = new PendingForwards(10);
  const at = f.add('at', 0, 'L');
  const newer = f.add('newer', 0, 'L');
  const below = f.add('below', 0, 'L');
  const after = f.add('after', 0, 'L');
  f.placed('at', { index: 8, term: 3 }, 0, noTerm);
  f.placed('newer', { index: 7, term: 4 }, 0, noTerm);
  f.placed('below', { index: 6, term: 2 }, 0, noTerm);
  f.placed('after', { index: 9, term: 3 }, 0, noTerm);
  f.snapshotApplied({ index: 8, term: 3, conf: { voters: [], learners: [] } });
  assert.deepEqual(await at, { index: 8, term: 3 });
  await assert.rejects(newer, ProposalLostError);
  await assert.rejects(below, ProposalOutcomeUnknownError);
  assert.equal(f.size, 1, 'the proposal past the snapshot still waits');
  f.applied(9, 3);
  assert.deepEqual(await after, { index: 9, term: 3 });
});

test('a refusal from the leader rejects with its error', async () => {
  const f = new PendingForwards(10);
  const p = f.add('p', 0, 'L');
  f.refused('p', new Error('not the leader'));
  await assert.rejects(p, /not the leader/);
});

test('a batch: the entries follow the first, each settled on its own', async () => {
  const f = new PendingForwards(10);
  const [a, b, c] = f.addBatch('batch', 3, 0, 'L');
  assert.equal(f.size, 3);
  f.placed('batch', { index: 10, term: 4 }, 0, noTerm);
  f.applied(10, 4);
  f.applied(11, 5); // another leader's entry took index 11
  f.applied(12, 4);
  assert.deepEqual(await a, { index: 10, term: 4 });
  await assert.rejects(b!, ProposalLostError);
  assert.deepEqual(await c, { index: 12, term: 4 });
  assert.equal(f.size, 0);
  const [d, e] = f.addBatch('unanswered', 2, 1, 'L');
  f.expire(11);
  await assert.rejects(d!, ForwardUnconfirmedError);
  await assert.rejects(e!, ForwardUnconfirmedError);
  assert.equal(f.size, 0);
});
