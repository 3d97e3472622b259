// The public timeline, case by case (docs/streams.md "Public numbering across switches").
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { StreamTimeline } from '../../node/hls/timeline.ts';
import type { Published, SegmentFacts, TimelineAssignment } from '../../node/hls/timeline.ts';

const t0 = 1_800_000_000_000;

function timeline(over: Partial<{ segmentS: number; windowSegments: number; holeWaitMs: number; holesMax: number }> = {}): StreamTimeline<string> {
  return new StreamTimeline<string>({ segmentS: 2, windowSegments: 4, holeWaitMs: 4000, ...over });
}

function assign(epoch: number, base: number, sealed = false, extra: Partial<TimelineAssignment> = {}): TimelineAssignment {
  return { epoch, base, sealed, nodeId: `w${epoch}`, ...extra };
}

/** Worker segment k of `epoch`, 2 s long, with a PDT (or none). */
function add(tl: StreamTimeline<string>, epoch: number, k: number, nowMs = t0, extra: { durationS?: number; discontinuity?: boolean; pdtMs?: number | null } = {}): number[] {
  const seg = { k, durationS: extra.durationS ?? 2, discontinuity: extra.discontinuity ?? false, pdtMs: extra.pdtMs === undefined ? t0 + k * 2000 : extra.pdtMs };
  return numbers(tl.addWorkerSegment(epoch, seg, `e${epoch}k${k}`, nowMs));
}

function peer(epoch: number, k: number): SegmentFacts {
  return { epoch, k, durationS: 2, workerDiscontinuity: false, pdtMs: t0 };
}

function numbers(published: readonly Published<string>[]): number[] {
  return published.map((p) => p.segment.n);
}

function listed(tl: StreamTimeline<string>): string[] {
  return tl.view().segments.map((s) => `${s.discontinuity ? '|' : ''}${s.n}:${s.epoch}/${s.k}`);
}

test('segment k of the active epoch is base + k; the first listed carries no DISCONTINUITY', () => {
  const tl = timeline();
  assert.equal(tl.applyAssignment(assign(1, 100), t0), 'new-epoch');
  assert.deepEqual(add(tl, 1, 0), [100]);
  assert.deepEqual(add(tl, 1, 1), [101]);
  assert.deepEqual(add(tl, 1, 1), [], 'never twice');
  assert.deepEqual(listed(tl), ['100:1/0', '101:1/1']);
  assert.equal(tl.view().mediaSequence, 100);
  assert.equal(tl.lastPublished(1), 101);
  assert.equal(tl.lastPublished(), 101);
  assert.equal(tl.wants(1, 2), 102);
  assert.equal(tl.wants(2, 0), null, 'not the active epoch');
});

test('a gateway that starts late begins where the worker is; firstIndex shifts the numbering', () => {
  const tl = timeline();
  tl.applyAssignment(assign(3, 40), t0);
  assert.deepEqual([...add(tl, 3, 7), ...add(tl, 3, 8)], [47, 48]);
  assert.deepEqual(tl.missing(), []);
  const shifted = timeline();
  shifted.applyAssignment(assign(5, 10, false, { firstIndex: 30 }), t0);
  assert.equal(shifted.wants(5, 29), null);
  assert.deepEqual(add(shifted, 5, 30), [10]);
});

test('a gateway that has published nothing starts at the tail that fills one window, so a restart never lists older numbers', () => {
  const list = (ks: number[], durationS = 2) => ks.map((k) => ({ k, durationS }));
  const before = timeline({ windowSegments: 4 });
  before.applyAssignment(assign(1, 0), t0);
  for (let k = 0; k <= 9; k++) add(before, 1, k);
  const seenBefore = before.view().mediaSequence;
  // Restarted: the worker lists window + 3 segments, the newest one just written.
  const restarted = timeline({ windowSegments: 4 });
  restarted.applyAssignment(assign(1, 0), t0);
  const take = restarted.toCopy(1, list([4, 5, 6, 7, 8, 9, 10]));
  assert.deepEqual(take.map((s) => s.k), [7, 8, 9, 10]);
  for (const s of take) add(restarted, 1, s.k);
  assert.ok(restarted.view().mediaSequence >= seenBefore, `${restarted.view().mediaSequence} >= ${seenBefore}`);
  assert.deepEqual(restarted.toCopy(1, list([8, 9, 10, 11])).map((s) => s.k), [11], 'then everything new');
  // Short segments: the tail still covers 3 target durations (6 s of 1.5 s segments: 4).
  const short = timeline({ windowSegments: 2 });
  short.applyAssignment(assign(1, 0), t0);
  assert.equal(short.toCopy(1, list([0, 1, 2, 3, 4, 5, 6], 1.5)).length, 4);
  assert.deepEqual(short.toCopy(2, list([0, 1])), [], 'not the active epoch');
});

test('nothing of a sealed epoch is published after the seal; the seal is reported once', () => {
  const tl = timeline();
  tl.applyAssignment(assign(1, 0), t0);
  add(tl, 1, 0);
  assert.equal(tl.sealApplied(1), false);
  assert.equal(tl.applyAssignment(assign(1, 0, true), t0), 'sealed');
  assert.equal(tl.applyAssignment(assign(1, 0, true), t0), 'none');
  assert.equal(tl.sealApplied(1), true);
  assert.equal(tl.wants(1, 1), null);
  assert.deepEqual(add(tl, 1, 1), []);
  assert.equal(tl.lastPublished(1), 0);
  assert.equal(tl.applyAssignment(assign(0, 0), t0), 'stale', 'an older epoch is ignored');
});

test('a switch at last + 1 continues the numbering with DISCONTINUITY and a PDT not before the previous end', () => {
  const tl = timeline();
  tl.applyAssignment(assign(1, 100), t0);
  add(tl, 1, 0);
  add(tl, 1, 1);
  tl.applyAssignment(assign(1, 100, true), t0);
  assert.equal(tl.applyAssignment(assign(2, 102), t0), 'new-epoch');
  assert.deepEqual(tl.missing(), []);
  // The new worker's clock is 1 s behind: the PDT is clamped to the end of 101.
  assert.deepEqual(add(tl, 2, 0, t0, { pdtMs: t0 + 3000 }), [102]);
  assert.deepEqual(listed(tl), ['100:1/0', '101:1/1', '|102:2/0']);
  const [a, b, c] = tl.view().segments;
  assert.equal(b!.pdtMs, a!.pdtMs + 2000);
  assert.equal(c!.pdtMs, b!.pdtMs + 2000);
  assert.equal(tl.sealApplied(1), true, 'an older epoch counts as sealed');
});

test('holes below the new base are fetched from peers; until then the playlist stays where it was', () => {
  const tl = timeline();
  tl.applyAssignment(assign(1, 100), t0);
  add(tl, 1, 0);
  add(tl, 1, 1);
  add(tl, 1, 2); // 102
  tl.applyAssignment(assign(1, 100, true), t0);
  tl.applyAssignment(assign(2, 105), t0); // peers published up to 104
  assert.deepEqual(tl.missing(), [103, 104]);
  const before = tl.version;
  assert.deepEqual(add(tl, 2, 0, t0 + 1000), [], 'held back behind the holes');
  assert.equal(tl.version, before);
  assert.deepEqual(listed(tl), ['100:1/0', '101:1/1', '102:1/2']);
  assert.deepEqual(numbers(tl.addPeerSegment(104, peer(1, 4), 'p104', t0 + 1100)), [], 'later hole first: held');
  assert.deepEqual(numbers(tl.addPeerSegment(999, peer(1, 999), 'x', t0 + 1100)), [], 'not a hole');
  assert.deepEqual(numbers(tl.addPeerSegment(103, peer(1, 3), 'p103', t0 + 1200)), [103, 104, 105]);
  assert.deepEqual(listed(tl), ['102:1/2', '103:1/3', '104:1/4', '|105:2/0']);
  assert.equal(tl.stats.fromPeers, 2);
  assert.deepEqual(tl.missing(), []);
});

test('a peer segment that contradicts the active epoch, or is from a later one, is refused', () => {
  const tl = timeline();
  tl.applyAssignment(assign(4, 10), t0);
  add(tl, 4, 0); // 10
  add(tl, 4, 3); // 13 held: 11 and 12 are holes inside the epoch
  assert.deepEqual(tl.missing(), [11, 12]);
  assert.deepEqual(numbers(tl.addPeerSegment(11, peer(4, 5), 'bad', t0)), []);
  assert.deepEqual(numbers(tl.addPeerSegment(11, peer(5, 1), 'later', t0)), []);
  assert.deepEqual(numbers(tl.addPeerSegment(11, peer(4, 1), 'ok', t0)), [11]);
});

test('holes no peer has are given up after holeWaitMs: the window restarts past them', () => {
  const tl = timeline({ holeWaitMs: 4000 });
  tl.applyAssignment(assign(1, 0), t0);
  for (let k = 0; k < 3; k++) add(tl, 1, k, t0, { discontinuity: k === 1 });
  assert.deepEqual(listed(tl), ['0:1/0', '|1:1/1', '2:1/2']);
  tl.applyAssignment(assign(1, 0, true), t0);
  tl.applyAssignment(assign(2, 5), t0);
  add(tl, 2, 0, t0 + 1000);
  assert.deepEqual(numbers(tl.tick(t0 + 3999)), []);
  assert.deepEqual(numbers(tl.tick(t0 + 4000)), [5]);
  assert.deepEqual(listed(tl), ['|5:2/0']);
  assert.equal(tl.view().discontinuitySequence, 1, 'the tagged segment 1 left');
  assert.equal(tl.stats.jumps, 1);
  assert.deepEqual(tl.missing(), []);
  assert.deepEqual(add(tl, 2, 1, t0 + 5000), [6]);
});

test('a gap longer than holesMax is not fetched: the next segment restarts the window at once', () => {
  const tl = timeline({ holesMax: 4 });
  tl.applyAssignment(assign(1, 0), t0);
  add(tl, 1, 0);
  tl.applyAssignment(assign(2, 1000), t0);
  assert.deepEqual(tl.missing(), []);
  assert.deepEqual(add(tl, 2, 0), [1000]);
  assert.deepEqual(listed(tl), ['|1000:2/0']);
});

test('a base at or below what this gateway published: those numbers are skipped, never reused', () => {
  const tl = timeline();
  tl.applyAssignment(assign(1, 0), t0);
  for (let k = 0; k < 5; k++) add(tl, 1, k); // 0..4
  tl.applyAssignment(assign(2, 3), t0); // the leader did not know about 3 and 4
  assert.equal(tl.stats.conflicts, 2);
  assert.equal(tl.wants(2, 0), null);
  assert.equal(tl.wants(2, 1), null);
  assert.deepEqual([...add(tl, 2, 0), ...add(tl, 2, 1), ...add(tl, 2, 2)], [5]);
});

test('window: windowSegments, at least 3 target durations; tagged segments leaving count', () => {
  const tl = timeline({ segmentS: 2, windowSegments: 3 });
  tl.applyAssignment(assign(1, 0), t0);
  for (let k = 0; k < 4; k++) add(tl, 1, k, t0, { discontinuity: k === 1 });
  assert.deepEqual(listed(tl), ['|1:1/1', '2:1/2', '3:1/3']);
  assert.equal(tl.view().discontinuitySequence, 0);
  add(tl, 1, 4);
  assert.deepEqual(listed(tl), ['2:1/2', '3:1/3', '4:1/4']);
  assert.equal(tl.view().discontinuitySequence, 1);
  assert.equal(tl.view().mediaSequence, 2);
  // 1 s segments under a 2 s target: 3 segments are only 1.5 targets, so 6 are kept.
  const short = timeline({ segmentS: 2, windowSegments: 3 });
  short.applyAssignment(assign(1, 0), t0);
  for (let k = 0; k < 10; k++) add(short, 1, k, t0, { durationS: 1 });
  assert.equal(short.view().segments.length, 6);
});

test('target duration: segmentS rounded up, fixed; overlong segments are counted', () => {
  const tl = timeline({ segmentS: 1.5 });
  assert.equal(tl.targetDurationS, 2);
  tl.applyAssignment(assign(1, 0), t0);
  add(tl, 1, 0, t0, { durationS: 2.4 });
  add(tl, 1, 1, t0, { durationS: 2.6 });
  assert.equal(tl.stats.overlong, 1);
  assert.equal(tl.view().targetDurationS, 2);
});

test('PDT: the worker\'s at the start of a run, then continuous; without one, now minus the duration', () => {
  const tl = timeline();
  tl.applyAssignment(assign(1, 0), t0);
  add(tl, 1, 0, t0 + 9000, { pdtMs: null, durationS: 2 });
  add(tl, 1, 1, t0 + 9000, { pdtMs: t0 + 99_000, durationS: 1.5 });
  add(tl, 1, 2, t0 + 9000, { pdtMs: null });
  assert.deepEqual(tl.view().segments.map((s) => s.pdtMs - t0), [7000, 9000, 10_500]);
});

test('held-back segments are bounded; the seal drops the sealed epoch\'s held segments', () => {
  const tl = new StreamTimeline<string>({ segmentS: 2, windowSegments: 4, pendingMax: 3, holeWaitMs: 60_000, holesMax: 100 });
  tl.applyAssignment(assign(1, 0), t0);
  add(tl, 1, 0);
  for (let k = 2; k < 8; k++) add(tl, 1, k);
  assert.equal(tl.stats.pendingDropped, 3);
  assert.deepEqual(tl.missing(), [1]);
  tl.applyAssignment(assign(1, 0, true), t0);
  assert.deepEqual(tl.missing(), [], 'after the seal only the next base says what is missing');
  tl.applyAssignment(assign(2, 3), t0);
  assert.deepEqual(tl.missing(), [1, 2]);
});

test('bad init is a RangeError', () => {
  assert.throws(() => new StreamTimeline({ segmentS: 0, windowSegments: 3 }), RangeError);
  assert.throws(() => new StreamTimeline({ segmentS: 2, windowSegments: 0 }), RangeError);
});
