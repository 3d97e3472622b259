// Ranking: headroom by strategy, node weight, group priority, stickiness and the seeded
// tie-break.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, place } from '../../node/placement/index.ts';
import { gib, input, node, stream, where } from './fixtures.ts';

const three = () => [node('idle', { cpuPct: 10 }), node('half', { cpuPct: 50 }), node('full', { cpuPct: 70 })];

test('spread takes the node with the most headroom, binpack the fullest that fits', () => {
  assert.equal(place(input(three(), [stream('s')]), 1).streams[0]!.nodeId, 'idle');
  assert.equal(place(input(three(), [stream('s', { policy: { strategy: 'binpack' } })]), 1).streams[0]!.nodeId, 'full');
  // 80 % + 10 % would pass the 85 % ceiling: binpack takes the fullest node that still fits.
  const nodes = [...three(), node('fuller', { cpuPct: 80 })];
  assert.equal(place(input(nodes, [stream('s', { policy: { strategy: 'binpack' } })]), 1).streams[0]!.nodeId, 'full');
});

test('headroom is the scarcer of cpu and memory', () => {
  const nodes = [node('cpu-free-mem-full', { cpuPct: 0, memPct: 80 }), node('both-half', { cpuPct: 40, memPct: 40 })];
  assert.equal(place(input(nodes, [stream('s')]), 1).streams[0]!.nodeId, 'both-half');
});

test('spread evens the load out across streams', () => {
  const streams = Array.from({ length: 6 }, (_, i) => stream(`s${i}`));
  const plan = place(input([node('a'), node('b'), node('c')], streams), 1);
  assert.deepEqual(plan.nodes.map((n) => n.streams), [2, 2, 2]);
  const packed = place(input([node('a'), node('b'), node('c')], streams.map((s) => stream(s.id, { policy: { strategy: 'binpack' } }))), 1);
  assert.deepEqual(packed.nodes.map((n) => n.streams).sort(), [0, 0, 6]);
});

test('weight multiplies the score: a node of weight 2 wins until its headroom is half the other', () => {
  const nodes = [node('light', { cpuPct: 0 }), node('heavy', { cpuPct: 40, weight: 2 })];
  assert.equal(place(input(nodes, [stream('s')]), 1).streams[0]!.nodeId, 'heavy', '2 x 50 > 1 x 90');
  const busier = [node('light', { cpuPct: 0 }), node('heavy', { cpuPct: 60, weight: 2 })];
  assert.equal(place(input(busier, [stream('s')]), 1).streams[0]!.nodeId, 'light', '2 x 30 < 1 x 90');
});

test('policy groups: an earlier group wins over headroom; a later one is used when the earlier is full', () => {
  const nodes = [node('a1', { groups: ['a'], cpuPct: 60 }), node('b1', { groups: ['b'] }), node('c1', { groups: ['c'] })];
  const policy = { groups: ['a', 'b'] };
  const plan = place(input(nodes, [stream('s1', { policy }), stream('s2', { policy }), stream('s3', { policy }), stream('s4', { policy })]), 1);
  // a1 takes two streams (60 -> 80), then 90 would pass 85: the rest go to b; c is not eligible.
  assert.deepEqual(where(plan), { s1: ['a1', null], s2: ['a1', null], s3: ['b1', null], s4: ['b1', null] });
});

test('without policy groups, a node in a higher-priority group is preferred', () => {
  const nodes = [node('plain'), node('gold', { groups: ['gold'], cpuPct: 50 }), node('lead', { groups: ['lead'] })];
  const groups = { gold: { priority: 10 }, lead: { priority: -1 } };
  assert.equal(place(input(nodes, [stream('s')], groups), 1).streams[0]!.nodeId, 'gold');
  const e = explain(input(nodes, [stream('s')], groups), 's', 1)!;
  assert.deepEqual(e.nodes.map((n) => [n.nodeId, n.groupRank]), [['gold', -10], ['plain', 0], ['lead', 1]]);
});

test('explain scores the node a stream runs on with its stickiness bonus', () => {
  const s = stream('s', { currentNode: 'a', policy: { stickiness: 0.2 } });
  const e = explain(input([node('a', { cpuPct: 30 }), node('b', { cpuPct: 0 })], [s]), 's', 1)!;
  const score = Object.fromEntries(e.nodes.map((n) => [n.nodeId, n.score]));
  // a: 100 - (20 + 10) = 70 headroom + 0.2 x 100 = 90; b: 90.
  assert.equal(score['a'], 90);
  assert.equal(score['b'], 90);
  assert.equal(e.nodeId, 'a');
  assert.equal(e.status, 'kept');
});

test('explain lists feasible nodes best first, then rejected ones by id', () => {
  const nodes = [node('z', { health: 'down' }), node('m', { cpuPct: 50 }), node('a', { draining: true }), node('k', { cpuPct: 20 })];
  const e = explain(input(nodes, [stream('s')]), 's', 1)!;
  assert.deepEqual(e.nodes.map((n) => [n.nodeId, n.feasible]), [['k', true], ['m', true], ['a', false], ['z', false]]);
  assert.equal(explain(input(nodes, [stream('s')]), 'nope', 1), null);
});

test('ties are broken by the seed: the same seed always picks the same node, seeds differ', () => {
  const nodes = Array.from({ length: 8 }, (_, i) => node(`n${i}`));
  const chosen = (seed: number) => place(input(nodes, [stream('s')]), seed).streams[0]!.nodeId;
  for (const seed of [1, 2, 3]) assert.equal(chosen(seed), chosen(seed));
  const seen = new Set(Array.from({ length: 40 }, (_, seed) => chosen(seed)));
  assert.ok(seen.size >= 4, `40 seeds chose only ${[...seen].join(', ')}`);
});

test('memory in bytes is a share of the node: the larger node has more headroom for it', () => {
  const s = stream('s', { cost: { cpuPct: 0, memBytes: gib / 2 } });
  const nodes = [node('small', { memTotalBytes: gib }), node('big', { memTotalBytes: 4 * gib })];
  assert.equal(place(input(nodes, [s]), 1).streams[0]!.nodeId, 'big');
});
