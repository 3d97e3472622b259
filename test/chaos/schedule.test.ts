// The chaos fault schedule (scripts/chaos/schedule.ts): drawn from the seed alone, within its
// bounds, one fault at a time, every kind met in a long run; the nodes it aims at keep a quorum;
// the emulated loss covers the share of time it was drawn with.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chooseNodes, drawSchedule, faultKinds, lossPattern, scheduleBounds, smallSideMax } from '../../scripts/chaos/schedule.ts';
import type { LiveView, PlannedFault } from '../../scripts/chaos/schedule.ts';

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];

test('same seed and minutes give the same schedule; another seed gives another', () => {
  const a = drawSchedule({ seed: 7, minutes: 10, nodes: 5 });
  assert.deepEqual(drawSchedule({ seed: 7, minutes: 10, nodes: 5 }), a);
  const b = drawSchedule({ seed: 8, minutes: 10, nodes: 5 });
  assert.notDeepEqual(b.map((f) => [f.kind, f.durationMs]), a.map((f) => [f.kind, f.durationMs]));
});

test('faults stay within their bounds, never overlap, leave a quiet gap and end by the last minute', () => {
  const b = scheduleBounds;
  for (let seed = 0; seed < 200; seed++) {
    const minutes = 1 + (seed % 30);
    const faults = drawSchedule({ seed, minutes, nodes: 5 });
    let freeFromMs = b.leadInMs;
    faults.forEach((f, i) => {
      assert.equal(f.id, i + 1);
      assert.ok(f.atMs >= freeFromMs, `seed ${seed}: fault ${f.id} starts ${f.atMs} before ${freeFromMs}`);
      if (f.kind === 'crash') assert.equal(f.durationMs, b.crashRestartMs, 'a crash is restarted after a second');
      else assert.ok(f.durationMs >= b.faultMsMin && f.durationMs <= b.faultMsMax, `seed ${seed}: duration ${f.durationMs}`);
      assert.ok(f.atMs + f.durationMs <= minutes * 60_000, `seed ${seed}: fault ${f.id} ends after the run`);
      freeFromMs = f.atMs + f.durationMs + b.gapMsMin;
      if (i > 0) assert.ok(f.atMs - (faults[i - 1]!.atMs + faults[i - 1]!.durationMs) <= b.gapMsMax);
      assert.ok(f.smallSide >= 1 && f.smallSide <= smallSideMax(5));
      assert.equal(f.lossFraction > 0, f.kind === 'loss');
      if (f.kind === 'loss') assert.ok(f.lossFraction >= b.lossFractionMin && f.lossFraction <= b.lossFractionMax);
      if (f.kind === 'partition-majority') assert.equal(f.role, 'leader');
      if (f.kind === 'partition-minority') assert.equal(f.role, 'any');
      else assert.ok(f.role === 'leader' || f.role === 'worker');
    });
  }
});

test('a 3-minute run (CI) meets at least 3 faults of different kinds; a 30-minute run meets every kind', () => {
  for (let seed = 0; seed < 50; seed++) {
    const short = drawSchedule({ seed, minutes: 3, nodes: 5 });
    assert.ok(new Set(short.map((f) => f.kind)).size >= 3, `seed ${seed}: ${short.map((f) => f.kind).join(', ')}`);
    const long = drawSchedule({ seed, minutes: 30, nodes: 5 });
    assert.deepEqual(new Set(long.map((f) => f.kind)), new Set(faultKinds), `seed ${seed}`);
    assert.ok(long.some((f) => f.role === 'leader' && f.kind === 'kill') || long.some((f) => f.role === 'leader' && f.kind === 'stop'), `seed ${seed}: the leader is hit`);
  }
});

test('with three nodes a partition cuts one node, with five one or two', () => {
  assert.equal(smallSideMax(3), 1);
  assert.equal(smallSideMax(5), 2);
  assert.equal(smallSideMax(7), 2);
  for (let seed = 0; seed < 50; seed++) for (const f of drawSchedule({ seed, minutes: 30, nodes: 3 })) assert.equal(f.smallSide, 1);
  const sides = new Set(Array.from({ length: 50 }, (_, seed) => drawSchedule({ seed, minutes: 30, nodes: 5 })).flat().filter((f) => f.kind.startsWith('partition-m')).map((f) => f.smallSide));
  assert.deepEqual(sides, new Set([1, 2]));
});

function planned(kind: PlannedFault['kind'], role: PlannedFault['role'], smallSide: number, picks: number[]): PlannedFault {
  return { id: 1, kind, role, atMs: 0, durationMs: 10_000, smallSide, picks, lossFraction: kind === 'loss' ? 0.2 : 0, lossSeed: 1 };
}

const view: LiveView = { names, leader: 'n3', channelsByNode: new Map([['n1', 4], ['n3', 5], ['n4', 6], ['n5', 0]]) };

test('chooseNodes: partitions leave a quorum; the leader side never holds more than one other', () => {
  for (const p of [0, 0.2, 0.4, 0.6, 0.8, 0.99]) {
    for (const q of [0, 0.5, 0.99]) {
      const minority = chooseNodes(planned('partition-minority', 'any', 2, [p, q]), view).nodes;
      assert.equal(minority.length, 2);
      assert.equal(new Set(minority).size, 2);
      assert.ok(!minority.includes('n3'), `minority ${minority.join(',')} holds the leader`);
      const majority = chooseNodes(planned('partition-majority', 'leader', 2, [p, q]), view).nodes;
      assert.equal(majority[0], 'n3');
      assert.equal(majority.length, 2);
      assert.notEqual(majority[1], 'n3');
      assert.deepEqual(chooseNodes(planned('partition-majority', 'leader', 1, [p, q]), view).nodes, ['n3']);
    }
  }
});

test('chooseNodes: the leader role hits the leader; the worker role a non-leader running channels', () => {
  assert.deepEqual(chooseNodes(planned('kill', 'leader', 1, [0.5, 0.5]), view).nodes, ['n3']);
  const hit = new Set([0, 0.3, 0.6, 0.99].map((p) => chooseNodes(planned('stop', 'worker', 1, [p, 0]), view).nodes[0]));
  assert.deepEqual(hit, new Set(['n1', 'n4']));
  const allOnLeader: LiveView = { names, leader: 'n1', channelsByNode: new Map([['n1', 20]]) };
  assert.deepEqual(chooseNodes(planned('disk-full', 'worker', 1, [0.1, 0]), allOnLeader).nodes, ['n1'], 'the leader runs every channel: it is the worker');
  const none: LiveView = { names, leader: 'n1', channelsByNode: new Map() };
  assert.notEqual(chooseNodes(planned('disk-full', 'worker', 1, [0.1, 0]), none).nodes[0], 'n1');
  const leaderless: LiveView = { names, leader: null, channelsByNode: new Map() };
  const aim = chooseNodes(planned('kill', 'leader', 1, [0.5, 0]), leaderless);
  assert.equal(aim.nodes.length, 1);
  assert.match(aim.why, /no leader found/);
  assert.deepEqual(chooseNodes(planned('kill', 'leader', 1, [0.5, 0]), leaderless), aim, 'deterministic');
});

test('lossPattern: short cuts in order, within the duration, covering about the fraction drawn', () => {
  const b = scheduleBounds;
  for (const fraction of [0.1, 0.2, 0.35]) {
    for (let seed = 1; seed <= 20; seed++) {
      const cuts = lossPattern(seed, 40_000, fraction);
      assert.deepEqual(lossPattern(seed, 40_000, fraction), cuts);
      let end = 0;
      for (const c of cuts) {
        assert.ok(c.startMs >= end, 'no overlap');
        assert.ok(c.lengthMs >= b.lossCutMsMin && c.lengthMs <= b.lossCutMsMax);
        end = c.startMs + c.lengthMs;
      }
      assert.ok(end <= 40_000);
      const covered = cuts.reduce((s, c) => s + c.lengthMs, 0) / 40_000;
      assert.ok(Math.abs(covered - fraction) < fraction * 0.4, `seed ${seed}: covered ${covered}, asked ${fraction}`);
    }
  }
  assert.throws(() => lossPattern(1, 1000, 0), /between 0 and 1/);
});

test('a mode that cannot inject some kinds draws only the others', () => {
  for (let seed = 0; seed < 20; seed++) {
    const faults = drawSchedule({ seed, minutes: 10, nodes: 5, kinds: ['kill', 'stop'] });
    assert.ok(faults.length > 5);
    assert.deepEqual(new Set(faults.map((f) => f.kind)), new Set(['kill', 'stop']));
  }
  assert.throws(() => drawSchedule({ seed: 1, minutes: 3, nodes: 5, kinds: [] }), /at least one kind/);
});

test('drawSchedule refuses what it cannot plan', () => {
  assert.throws(() => drawSchedule({ seed: 1, minutes: 0, nodes: 5 }), /minutes must be positive/);
  assert.throws(() => drawSchedule({ seed: 1, minutes: 3, nodes: 2 }), /at least 3 nodes/);
});
