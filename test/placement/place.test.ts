// place(): order, keeping what runs, moves off nodes that may no longer run a stream, hot
// standbys and promotion; diff(): the moves between what runs and a plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentAssignments, diff, place } from '../../node/placement/index.ts';
import { input, node, runningAfter, stream, where } from './fixtures.ts';

test('when capacity is short, higher priority is placed first (then by id)', () => {
  const s = (id: string, priority: number) => stream(id, { priority, cost: { cpuPct: 40, memBytes: 0 } });
  const plan = place(input([node('a')], [s('low', 0), s('high', 5), s('mid-b', 2), s('mid-a', 2)]), 1);
  assert.deepEqual(plan.streams.map((x) => x.streamId), ['high', 'mid-a', 'mid-b', 'low']);
  assert.deepEqual(plan.streams.map((x) => x.status), ['placed', 'placed', 'unplaced', 'unplaced']);
  assert.equal(plan.unplaced, 2);
});

test('a running stream stays on a node that may still run it, even when another scores better', () => {
  const s = stream('s', { currentNode: 'busy' });
  const plan = place(input([node('busy', { cpuPct: 70, streams: 1 }), node('idle')], [s]), 1);
  assert.deepEqual(plan.streams[0], { streamId: 's', nodeId: 'busy', standbyNodeId: null, status: 'kept', why: null, rejected: null });
});

test('a running stream is not displaced by a higher-priority newcomer', () => {
  const run = stream('run', { currentNode: 'a', priority: 0, cost: { cpuPct: 60, memBytes: 0 } });
  const vip = stream('vip', { priority: 9, cost: { cpuPct: 60, memBytes: 0 } });
  const plan = place(input([node('a', { cpuPct: 60, streams: 1 })], [run, vip]), 1);
  assert.deepEqual(where(plan), { vip: [null, null], run: ['a', null] });
});

for (const [name, over, why] of [
  ['down', { health: 'down' }, /node x is down/],
  ['disabled', { enabled: false }, /disabled/],
  ['draining', { draining: true }, /draining/],
  ['out of the policy groups', { groups: ['old'] }, /none of the policy's groups/],
] as const) {
  test(`a stream on a node that is ${name} moves, saying why`, () => {
    const s = stream('s', { currentNode: 'x', policy: { groups: ['old', 'new'] } });
    const nodes = [node('x', { groups: ['new'], ...over }), node('y', { groups: ['new'] })];
    const withGroup = name === 'out of the policy groups' ? [node('x', { groups: [] }), node('y', { groups: ['new'] })] : nodes;
    const plan = place(input(withGroup, [s]), 1);
    const p = plan.streams[0]!;
    assert.equal(p.nodeId, 'y');
    assert.equal(p.status, 'moved');
    assert.match(p.why!, why);
    assert.match(p.why!, /placed on y/);
  });
}

test('a stream on a node that left the cluster is placed elsewhere', () => {
  const p = place(input([node('y')], [stream('s', { currentNode: 'gone' })]), 1).streams[0]!;
  assert.deepEqual([p.nodeId, p.status], ['y', 'moved']);
  assert.match(p.why!, /node gone is not in the cluster/);
});

test('hot standby: a second copy on another node; never on the active node', () => {
  const s = stream('s', { policy: { hotStandby: true } });
  const plan = place(input([node('a'), node('b', { cpuPct: 20 })], [s]), 1);
  assert.deepEqual(where(plan), { s: ['a', 'b'] });
  assert.match(plan.streams[0]!.why!, /placed on a; standby on b/);
  const alone = place(input([node('a')], [s]), 1).streams[0]!;
  assert.deepEqual([alone.nodeId, alone.standbyNodeId, alone.status], ['a', null, 'placed']);
  assert.deepEqual(alone.rejected, { 'other-copy': 1 });
  assert.match(alone.why!, /no node can take its standby/);
});

test('standbys come after every active copy: a standby never takes capacity an active copy needs', () => {
  const big = { cpuPct: 50, memBytes: 0 };
  const ha = stream('ha', { priority: 5, cost: big, policy: { hotStandby: true } });
  const plain = stream('plain', { priority: 0, cost: big });
  const plan = place(input([node('a'), node('b')], [ha, plain]), 1);
  assert.deepEqual(where(plan), { ha: ['a', null], plain: ['b', null] });
});

test('the active node fails: its standby takes over and a new standby is placed', () => {
  const s = stream('s', { currentNode: 'a', standbyNode: 'b', policy: { hotStandby: true } });
  const nodes = [node('a', { health: 'down', cpuPct: 10, streams: 1 }), node('b', { cpuPct: 10, streams: 1 }), node('c')];
  const p = place(input(nodes, [s]), 1).streams[0]!;
  assert.deepEqual([p.nodeId, p.standbyNodeId, p.status], ['b', 'c', 'promoted']);
  assert.match(p.why!, /node a is down.*its standby on b takes over; standby on c/);
});

test('a standby is dropped when the policy no longer wants one, or when it sits on the active node', () => {
  const off = stream('s', { currentNode: 'a', standbyNode: 'b' });
  const p = place(input([node('a'), node('b')], [off]), 1).streams[0]!;
  assert.deepEqual([p.nodeId, p.standbyNodeId, p.status], ['a', null, 'kept']);
  assert.match(p.why!, /standby dropped: its policy has no hot standby/);
  const same = stream('s', { currentNode: 'a', standbyNode: 'a', policy: { hotStandby: true } });
  const q = place(input([node('a'), node('b')], [same]), 1).streams[0]!;
  assert.deepEqual([q.nodeId, q.standbyNodeId], ['a', 'b']);
});

test('the plan does not depend on the order of the input nodes', () => {
  const nodes = Array.from({ length: 6 }, (_, i) => node(`n${i}`, { cpuPct: (i % 3) * 10 }));
  const streams = Array.from({ length: 9 }, (_, i) => stream(`s${i}`, { priority: i % 2 }));
  assert.deepEqual(place(input(nodes, streams), 7), place(input([...nodes].reverse(), streams), 7));
});

test('diff: start, move, promote, stop and the standby moves, each with the plan\'s reason', () => {
  const ha = { hotStandby: true };
  const streams = [
    stream('new'),
    stream('drained', { currentNode: 'd' }),
    stream('failover', { currentNode: 'x', standbyNode: 'a', policy: ha }),
    stream('stay', { currentNode: 'a' }),
    stream('nowhere', { currentNode: 'd', pinNode: 'd' }),
    stream('sb-new', { currentNode: 'a', policy: ha }),
    stream('sb-gone', { currentNode: 'a', standbyNode: 'b' }),
    stream('sb-move', { currentNode: 'a', standbyNode: 'x', policy: ha }),
  ];
  const view = input([node('a'), node('b'), node('d', { draining: true }), node('x', { health: 'down' })], streams);
  const plan = place(view, 1);
  const current = currentAssignments(view);
  current.set('deleted', { nodeId: 'b', standbyNodeId: 'a' });
  const moves = diff(current, plan);
  const brief = moves.map((m) => `${m.streamId} ${m.kind} ${m.from}->${m.to}`).sort();
  assert.deepEqual(brief, [
    'deleted standby-stop a->null', 'deleted stop b->null',
    'drained move d->b',
    'failover promote x->a', 'failover standby-start null->b',
    'new start null->b',
    'nowhere stop d->null',
    'sb-gone standby-stop b->null',
    'sb-move standby-move x->b',
    'sb-new standby-start null->b',
  ]);
  assert.match(moves.find((m) => m.streamId === 'drained')!.why, /node d is draining/);
  assert.match(moves.find((m) => m.streamId === 'nowhere')!.why, /node d is draining; no node can take it \(of 4 nodes: 2 pinned, 1 draining, 1 down\)/);
  assert.equal(moves.at(-1)!.streamId, 'deleted');
});

test('no churn: placing again with the plan as what runs moves nothing', () => {
  const streams = Array.from({ length: 12 }, (_, i) => stream(`s${i}`, { priority: i % 3, policy: i % 4 === 0 ? { hotStandby: true } : {}, cost: { cpuPct: 15, memBytes: 0 } }));
  const view = input([node('a'), node('b', { cpuPct: 30 }), node('c', { draining: true })], streams);
  const plan = place(view, 3);
  const again = runningAfter(view, plan);
  const replan = place(again, 3);
  assert.deepEqual(diff(currentAssignments(again), replan), []);
  assert.deepEqual(replan.nodes, plan.nodes);
});
