// Table tests of the core's small pure pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from '../../consensus/core/conf-change.ts';
import { CompactedError, InvariantError, UnavailableError } from '../../consensus/core/errors.ts';
import { RaftLog } from '../../consensus/core/log.ts';
import { Inflights, Progress } from '../../consensus/core/progress.ts';
import { MemoryStorage } from '../../consensus/core/storage.ts';
import { quorumIndex, voteResult } from '../../consensus/core/tracker.ts';
import type { Entry } from '../../consensus/core/types.ts';

const ent = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array() });

test('quorumIndex is the index a majority holds', () => {
  const cases: [number[], number][] = [[[], 0], [[5], 5], [[5, 3], 3], [[1, 5, 3], 3], [[9, 1, 1, 9], 1], [[9, 8, 1, 7], 7], [[5, 4, 3, 2, 1], 3]];
  for (const [matches, want] of cases) assert.equal(quorumIndex(matches), want, `matches ${matches}`);
});

test('voteResult needs a majority of voters, counting only voters', () => {
  const v = (entries: [string, boolean][]) => new Map(entries);
  assert.equal(voteResult(['1'], v([['1', true]])), 'won');
  assert.equal(voteResult(['1', '2', '3'], v([['1', true]])), 'pending');
  assert.equal(voteResult(['1', '2', '3'], v([['1', true], ['2', true]])), 'won');
  assert.equal(voteResult(['1', '2', '3'], v([['1', true], ['2', false], ['3', false]])), 'lost');
  assert.equal(voteResult(['1', '2', '3', '4'], v([['1', true], ['2', true]])), 'pending');
  assert.equal(voteResult(['1', '2', '3', '4'], v([['1', true], ['2', false], ['3', false]])), 'lost');
  assert.equal(voteResult(['1', '2', '3'], v([['1', true], ['9', true]])), 'pending', 'a non-voter\'s vote does not count');
});

test('inflights is a bounded ring freed by acknowledged index', () => {
  const inf = new Inflights(3);
  inf.add(5); inf.add(7); inf.add(9);
  assert.ok(inf.full());
  assert.throws(() => inf.add(10), InvariantError);
  inf.freeLE(7);
  assert.equal(inf.count, 1);
  inf.add(11); inf.add(12);
  assert.ok(inf.full());
  inf.freeFirst();
  assert.equal(inf.count, 2);
  inf.freeLE(100);
  assert.equal(inf.count, 0);
});

test('progress: probe pauses after one append; stale rejections are ignored', () => {
  const pr = new Progress(11, 4, false);
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(0, 0);
  assert.equal(pr.isPaused(), true, 'probe waits for an answer');
  assert.equal(pr.maybeDecrTo(5, 5), false, 'rejection of an append we did not send now');
  assert.equal(pr.maybeDecrTo(10, 3), true);
  assert.equal(pr.next, 4, 'next follows the hint');
  assert.equal(pr.isPaused(), false);
  assert.equal(pr.maybeUpdate(8), true);
  pr.becomeReplicate();
  assert.equal(pr.next, 9);
  pr.sentEntries(2, 10);
  assert.equal(pr.next, 11, 'replicate is optimistic');
  assert.equal(pr.maybeDecrTo(7, 7), false, 'below match: stale');
  assert.equal(pr.maybeDecrTo(10, 7), true);
  assert.equal(pr.next, 9, 'falls back to match + 1');
});

test('progress: after a snapshot, probing resumes right after it', () => {
  const pr = new Progress(1, 4, false);
  pr.becomeSnapshot(50);
  assert.equal(pr.isPaused(), true);
  pr.becomeProbe();
  assert.equal(pr.next, 51);
});

test('log: append, conflicts, terms and slices across storage and the unstable tail', () => {
  const storage = MemoryStorage.bootstrap({ voters: ['1'], learners: [] });
  storage.append([ent(2, 1), ent(3, 2)]);
  const log = new RaftLog(storage);
  assert.equal(log.firstIndex(), 2);
  assert.equal(log.lastIndex(), 3);
  assert.equal(log.term(1), 1, 'the snapshot answers for its index');
  assert.throws(() => log.term(0), CompactedError);
  assert.throws(() => log.term(4), UnavailableError);
  log.append([ent(4, 2), ent(5, 3)]);
  assert.deepEqual(log.slice(2, 6, Infinity).map((e) => e.index), [2, 3, 4, 5]);
  assert.equal(log.findConflict([ent(3, 2), ent(4, 2), ent(5, 4)]), 5);
  assert.equal(log.maybeAppend(2, 1, 3, [ent(3, 2), ent(4, 5)]), 4);
  assert.equal(log.lastIndex(), 4, 'the conflicting tail is replaced');
  assert.equal(log.term(4), 5);
  assert.equal(log.committed, 3);
  assert.equal(log.maybeAppend(4, 9, 4, []), null, 'no match at (4, 9)');
  assert.throws(() => log.maybeAppend(1, 1, 4, [ent(2, 7)]), InvariantError, 'rewriting a committed entry crashes');
});

test('log: findConflictByTerm skips whole terms', () => {
  const storage = MemoryStorage.bootstrap({ voters: ['1'], learners: [] });
  storage.append([ent(2, 2), ent(3, 2), ent(4, 4), ent(5, 4), ent(6, 4)]);
  const log = new RaftLog(storage);
  assert.deepEqual(log.findConflictByTerm(6, 3), { index: 3, term: 2 });
  assert.deepEqual(log.findConflictByTerm(6, 4), { index: 6, term: 4 });
  assert.deepEqual(log.findConflictByTerm(6, 1), { index: 1, term: 1 });
});

test('log: only an entry of the current term commits by counting', () => {
  const storage = MemoryStorage.bootstrap({ voters: ['1'], learners: [] });
  storage.append([ent(2, 2), ent(3, 3)]);
  const log = new RaftLog(storage);
  assert.equal(log.maybeCommit(2, 3), false);
  assert.equal(log.committed, 1);
  assert.equal(log.maybeCommit(3, 3), true);
  assert.equal(log.committed, 3);
});

test('log: stableTo keeps entries that were replaced after the Ready was taken', () => {
  const log = new RaftLog(MemoryStorage.bootstrap({ voters: ['1'], learners: [] }));
  log.append([ent(2, 2), ent(3, 2)]);
  log.append([ent(3, 3)]);
  log.unstable.stableTo(3, 2);
  assert.equal(log.unstable.entries.length, 2, 'entry 3 of term 2 is gone; nothing is marked stable');
  log.unstable.stableTo(3, 3);
  assert.equal(log.unstable.entries.length, 0);
});

test('storage: limits by size, compacts, and refuses gaps', () => {
  const s = MemoryStorage.bootstrap({ voters: ['1'], learners: [] });
  const big = (index: number): Entry => ({ index, term: 1, type: 'normal', data: new Uint8Array(100) });
  s.append([big(2), big(3), big(4), big(5)]);
  assert.equal(s.entries(2, 6, 250).length, 2);
  assert.equal(s.entries(2, 6, 1).length, 1, 'at least one entry');
  s.createSnapshot(4, { voters: ['1'], learners: [] }, new Uint8Array([1]), 1);
  assert.equal(s.firstIndex(), 4, 'one entry kept before the snapshot');
  assert.equal(s.snapshot().meta.index, 4);
  assert.throws(() => s.append([big(9)]), InvariantError);
});

test('membership changes: what applies, what is refused and why', () => {
  const conf = { voters: ['1', '2', '3'], learners: ['4'] };
  assert.equal(confChangeProblem(conf, { type: 'add-learner', node: '5' }), null);
  assert.match(confChangeProblem(conf, { type: 'add-learner', node: '2' })!, /already a voter/);
  assert.match(confChangeProblem(conf, { type: 'promote', node: '5' })!, /not a learner/);
  assert.match(confChangeProblem({ voters: ['1'], learners: [] }, { type: 'remove', node: '1' })!, /last voter/);
  assert.deepEqual(applyConfChange(conf, { type: 'promote', node: '4' }), { voters: ['1', '2', '3', '4'], learners: [] });
  assert.deepEqual(applyConfChange(conf, { type: 'remove', node: '2' }), { voters: ['1', '3'], learners: ['4'] });
  assert.deepEqual(applyConfChange(conf, { type: 'remove', node: '9' }), conf, 'a change that does not apply is skipped everywhere alike');
  const cc = { type: 'promote', node: 'QmPeer' } as const;
  assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  assert.throws(() => decodeConfChange(new TextEncoder().encode('{"type":"explode","node":"1"}')), InvariantError);
});
