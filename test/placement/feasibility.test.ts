// Each feasibility filter, one row each: the node the stream may not use and the reason it gets
// (seen through explain(), which runs every filter on every node).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, place } from '../../node/placement/index.ts';
import type { NodeView, PlacementInput, ReasonCode, StreamDemand } from '../../node/placement/index.ts';
import { gib, input, node, stream } from './fixtures.ts';

interface Row {
  readonly name: string;
  readonly code: ReasonCode;
  /** The node "x" under test (others: a plain node "ok"). */
  readonly x: Partial<NodeView>;
  readonly s?: Parameters<typeof stream>[1];
  readonly message: RegExp;
}

const rows: Row[] = [
  { name: 'down', code: 'down', x: { health: 'down' }, message: /node x is down/ },
  { name: 'suspect', code: 'suspect', x: { health: 'suspect' }, message: /node x is suspect/ },
  { name: 'disabled', code: 'disabled', x: { enabled: false }, message: /disabled by an operator/ },
  { name: 'draining', code: 'draining', x: { draining: true }, message: /node x is draining/ },
  { name: 'down wins over disabled (filter order)', code: 'down', x: { health: 'down', enabled: false }, message: /down/ },
  { name: 'pinned to another node', code: 'pinned', x: {}, s: { pinNode: 'ok' }, message: /pinned to node ok/ },
  { name: 'pinned to a group it is not in', code: 'pinned', x: { groups: ['b'] }, s: { pinGroup: 'a' }, message: /pinned to group a, which node x is not in/ },
  { name: 'in none of the policy groups', code: 'group', x: { groups: ['c'] }, s: { policy: { groups: ['a', 'b'] } }, message: /none of the policy's groups \(a, b\)/ },
  { name: 'holds its other copy', code: 'other-copy', x: {}, s: { policy: { hotStandby: true }, currentNode: 'ok', standbyNode: 'x' }, message: /other copy/ },
  { name: 'at the policy stream limit', code: 'max-streams', x: { streams: 2 }, s: { policy: { maxStreamsPerNode: 2 } }, message: /holds 2 streams, the most allowed there is 2/ },
  { name: 'over the cpu ceiling', code: 'cpu', x: { cpuPct: 80 }, message: /cpu of node x would reach 90\.0%, over the ceiling of 85\.0%/ },
  { name: 'cpu counts cores', code: 'cpu', x: { cpuPct: 80, cores: 2 }, s: { cost: { cpuPct: 12, memBytes: 0 } }, message: /would reach 86\.0%/ },
  { name: 'over the memory ceiling', code: 'memory', x: { memPct: 89.5 }, message: /memory of node x would reach 90\.5%, over the ceiling of 90\.0%/ },
  { name: 'a stricter policy ceiling', code: 'cpu', x: { cpuPct: 45 }, s: { policy: { cpuCeilPct: 50 } }, message: /ceiling of 50\.0%/ },
];

for (const row of rows) {
  test(`filter: ${row.name}`, () => {
    const s = stream('s', { currentNode: null, ...row.s });
    const e = explain(input([node('ok'), node('x', row.x)], [s]), 's', 1)!;
    const x = e.nodes.find((n) => n.nodeId === 'x')!;
    assert.equal(x.feasible, false);
    assert.equal(x.reason?.code, row.code);
    assert.match(x.reason!.message, row.message);
    assert.equal(x.score, undefined);
  });
}

test('a node exactly at the ceiling after placement is still feasible', () => {
  const e = explain(input([node('x', { cpuPct: 75 })], [stream('s')]), 's', 1)!;
  assert.equal(e.nodes[0]!.feasible, true);
  assert.equal(e.nodeId, 'x');
});

test('a node is not given a stream that would take it past the ceiling of a stream already there', () => {
  // "low" (ceiling 50 %) runs on x at 40 %; "high" (ceiling 95 %) would take x to 50 % + 10 %.
  const low = stream('low', { policy: { cpuCeilPct: 50 }, currentNode: 'x', cost: { cpuPct: 40, memBytes: 0 } });
  const high = stream('high', { policy: { cpuCeilPct: 95 }, cost: { cpuPct: 20, memBytes: 0 } });
  const plan = place(input([node('x', { cpuPct: 40 }), node('y', { cpuPct: 70 })], [low, high]), 1);
  assert.equal(plan.streams.find((s) => s.streamId === 'high')!.nodeId, 'y');
});

test('the measured load already holds the streams that run there (not counted twice)', () => {
  // x measures 80 %: 60 % of it is "a", which runs there; "b" (20 %) fits beside it (80 <= 85),
  // while y, idle but small in memory terms, is not needed for the check.
  const a = stream('a', { currentNode: 'x', cost: { cpuPct: 60, memBytes: 0 }, priority: 1 });
  const b = stream('b', { cost: { cpuPct: 5, memBytes: 0 } });
  const view: PlacementInput = input([node('x', { cpuPct: 80, streams: 1 })], [a, b]);
  const plan = place(view, 1);
  assert.deepEqual(plan.streams.map((s) => [s.streamId, s.nodeId, s.status]), [['a', 'x', 'kept'], ['b', 'x', 'placed']]);
  assert.equal(plan.nodes[0]!.cpuPct, 85);
  assert.equal(plan.nodes[0]!.streams, 2);
});

test('a stream moved away frees its cost on the node it leaves', () => {
  // x is draining and measures 70 % with "a" (60 %) on it: in the plan it keeps 10 %.
  const a: StreamDemand = stream('a', { currentNode: 'x', cost: { cpuPct: 60, memBytes: gib / 10 } });
  const plan = place(input([node('x', { cpuPct: 70, memPct: 15, streams: 1, draining: true }), node('y')], [a]), 1);
  assert.deepEqual(plan.nodes.map((n) => [n.nodeId, Math.round(n.cpuPct), Math.round(n.memPct), n.streams]), [['x', 10, 5, 0], ['y', 60, 10, 1]]);
});

test('an unplaced stream says how many nodes each filter rejected', () => {
  const nodes = [node('a', { health: 'down' }), node('b', { health: 'down' }), node('c', { draining: true }), node('d', { cpuPct: 80 })];
  const plan = place(input(nodes, [stream('s')]), 1);
  const s = plan.streams[0]!;
  assert.equal(s.status, 'unplaced');
  assert.deepEqual(s.rejected, { down: 2, draining: 1, cpu: 1 });
  assert.match(s.why!, /no node can take it \(of 4 nodes: 2 down, 1 draining, 1 cpu\)/);
  assert.equal(plan.unplaced, 1);
});
