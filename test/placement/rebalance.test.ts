// rebalance(): moves off nodes past a ceiling, within the budget, biggest gain first, and no
// flapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentAssignments, diff, rebalance, rebalanceMarginPressure } from '../../node/placement/index.ts';
import type { PlacementInput } from '../../node/placement/index.ts';
import { input, node, runningAfter, stream } from './fixtures.ts';

/** Node "hot" runs streams of the given costs (% of its one core) and measures their sum. */
function hotCluster(costs: number[], others = ['cool1', 'cool2']): PlacementInput {
  const streams = costs.map((cpuPct, i) => stream(`s${i}`, { currentNode: 'hot', cost: { cpuPct, memBytes: 0 } }));
  const total = costs.reduce((a, b) => a + b, 0);
  return input([node('hot', { cpuPct: total, streams: costs.length }), ...others.map((id) => node(id))], streams);
}

test('nothing to do when no node is past a ceiling', () => {
  const r = rebalance(hotCluster([30, 30, 20]), 10, 1);
  assert.deepEqual(r.moves, []);
});

test('moves off an overloaded node, biggest gain first, within the budget', () => {
  // hot at 100 % (ceiling 85): moving the 40 % stream gains most.
  const view = hotCluster([40, 25, 20, 15]);
  const one = rebalance(view, 1, 1);
  assert.equal(one.moves.length, 1);
  assert.deepEqual([one.moves[0]!.streamId, one.moves[0]!.kind, one.moves[0]!.from], ['s0', 'move', 'hot']);
  assert.match(one.moves[0]!.why, /rebalance: node hot is at 118% of its cpu ceiling/);
  const p = one.plan.streams.find((s) => s.streamId === 's0')!;
  assert.equal(p.status, 'moved');
  assert.equal(one.plan.nodes.find((n) => n.nodeId === 'hot')!.cpuPct, 60);
  assert.deepEqual(rebalance(view, 0, 1).moves, []);
  // The plan's moves are what diff() sees.
  assert.deepEqual(diff(currentAssignments(view), one.plan).map((m) => m.streamId), ['s0']);
});

test('stops once every node is within its ceilings, however large the budget', () => {
  const r = rebalance(hotCluster([30, 30, 30, 30]), 100, 1);
  const hot = r.plan.nodes.find((n) => n.nodeId === 'hot')!;
  assert.ok(hot.cpuPct <= 85, `hot at ${hot.cpuPct}`);
  assert.equal(r.moves.length, 2, '120 -> 90 -> 60');
  for (const n of r.plan.nodes) assert.ok(n.cpuPct <= 85);
});

test('no flapping: after the moves, rebalancing what runs moves nothing', () => {
  const view = hotCluster([30, 30, 30, 30]);
  const first = rebalance(view, 100, 1);
  const second = rebalance(runningAfter(view, first.plan), 100, 1);
  assert.deepEqual(second.moves, []);
});

test('a move must gain at least the margin; a target must stay within its ceilings', () => {
  // hot at 86 % (just over 85): moving a 1 % stream gains 1/85 < the margin.
  assert.ok(1 / 85 < rebalanceMarginPressure);
  assert.deepEqual(rebalance(hotCluster([85, 1]), 5, 1).moves.map((m) => m.streamId), []);
  // Every other node too busy to take 40 %: nothing moves.
  const full: PlacementInput = { ...hotCluster([60, 40]), nodes: [node('hot', { cpuPct: 100, streams: 2 }), node('busy', { cpuPct: 50 })] };
  assert.deepEqual(rebalance(full, 5, 1).moves, []);
});

test('a stream limit counts as a ceiling; standbys move first on a tie', () => {
  const ha = { hotStandby: true, maxStreamsPerNode: 2 };
  const streams = [
    stream('a', { currentNode: 'x', standbyNode: 'y', policy: ha, cost: { cpuPct: 5, memBytes: 0 } }),
    stream('b', { currentNode: 'y', standbyNode: 'x', policy: ha, cost: { cpuPct: 5, memBytes: 0 } }),
    stream('c', { currentNode: 'x', policy: ha, cost: { cpuPct: 5, memBytes: 0 } }),
  ];
  const view = input([node('x', { cpuPct: 15, streams: 3 }), node('y', { cpuPct: 10, streams: 2 }), node('z')], streams);
  const r = rebalance(view, 5, 1);
  assert.deepEqual(r.moves.map((m) => `${m.streamId} ${m.kind} ${m.from}->${m.to}`), ['b standby-move x->z']);
  assert.match(r.moves[0]!.why, /node x holds 3 streams, over its limit of 2/);
});
