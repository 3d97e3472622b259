import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, removalProblem, targetVoters } from '../../node/leader/autopilot.ts';
import type { AutopilotInput, Health, RemovalInput } from '../../node/leader/autopilot.ts';

function input(over: Partial<AutopilotInput> & { down?: Record<string, number>; lagging?: string[] }): AutopilotInput {
  const down = over.down ?? {};
  return {
    leaderId: 'a',
    conf: { voters: ['a'], learners: [] },
    members: ['a'],
    health: (id): Health => (id in down ? 'down' : 'alive'),
    downSinceMs: (id) => down[id] ?? null,
    caughtUp: (id) => !(over.lagging ?? []).includes(id),
    votersTarget: 3,
    replaceDownVoterAfterMs: 30_000,
    nowMs: 100_000,
    ...over,
  };
}

test('target voter counts are odd and bounded by the nodes there are', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 200].map((n) => targetVoters(n, 3)), [1, 1, 3, 3, 3, 3, 3]);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 200].map((n) => targetVoters(n, 5)), [1, 1, 3, 3, 5, 5, 5]);
});

test('a new node joins as a learner, one at a time, in id order', () => {
  const d = decide(input({ members: ['a', 'c', 'b'] }));
  assert.deepEqual(d?.change, { type: 'add-learner', node: 'b' });
});

test('learners are promoted up to the target, only when alive and caught up', () => {
  const conf = { voters: ['a'], learners: ['b', 'c', 'd'] };
  assert.deepEqual(decide(input({ conf, members: ['a', 'b', 'c', 'd'] }))?.change, { type: 'promote', node: 'b' });
  assert.deepEqual(decide(input({ conf, members: ['a', 'b', 'c', 'd'], lagging: ['b'] }))?.change, { type: 'promote', node: 'c' });
  assert.deepEqual(decide(input({ conf, members: ['a', 'b', 'c', 'd'], down: { b: 1, c: 1 } }))?.change, { type: 'promote', node: 'd' });
  assert.equal(decide(input({ conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, members: ['a', 'b', 'c', 'd'] })), null, 'at target: nothing to do');
});

test('two nodes: one voter (an even count adds no fault tolerance)', () => {
  assert.equal(decide(input({ conf: { voters: ['a'], learners: ['b'] }, members: ['a', 'b'] })), null);
});

test('a voter down past the window is replaced: promote first, then remove', () => {
  const members = ['a', 'b', 'c', 'd'];
  const early = decide(input({ conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, members, down: { c: 90_000 } }));
  assert.equal(early, null, 'down for 10 s only');
  const promote = decide(input({ conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, members, down: { c: 50_000 } }));
  assert.deepEqual(promote?.change, { type: 'promote', node: 'd' });
  const remove = decide(input({ conf: { voters: ['a', 'b', 'c', 'd'], learners: [] }, members, down: { c: 50_000 } }));
  assert.deepEqual(remove?.change, { type: 'remove', node: 'c' });
  const readd = decide(input({ conf: { voters: ['a', 'b', 'd'], learners: [] }, members, down: { c: 50_000 } }));
  assert.deepEqual(readd?.change, { type: 'add-learner', node: 'c' }, 'still a member: back as a learner');
});

test('no replacement without a healthy learner; the leader is never removed by the autopilot', () => {
  const members = ['a', 'b', 'c', 'd'];
  assert.equal(decide(input({ conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, members, down: { c: 50_000, d: 50_000 } })), null);
  assert.equal(decide(input({ conf: { voters: ['a', 'b', 'c'], learners: [] }, members: ['b', 'c'] })), null, 'removing the leader needs a transfer first');
  assert.deepEqual(decide(input({ conf: { voters: ['a', 'b', 'c'], learners: ['x'] }, members: ['a', 'b', 'c'] }))?.change, { type: 'remove', node: 'x' });
});

test('200 learners: still 3 voters', () => {
  const learners = Array.from({ length: 200 }, (_, i) => `n${String(i).padStart(3, '0')}`);
  const conf = { voters: ['a', 'b', 'c'], learners };
  assert.equal(decide(input({ conf, members: ['a', 'b', 'c', ...learners] })), null);
});

function removal(node: string, conf: { voters: string[]; learners: string[] }, down: string[] = []): string | null {
  const input: RemovalInput = { node, leaderId: 'a', conf, health: (id) => (down.includes(id) ? 'down' : 'alive'), nameOf: (id) => `node-${id}` };
  return removalProblem(input);
}

test('removal: learners may always go; the leader never removes itself', () => {
  const conf = { voters: ['a', 'b', 'c'], learners: ['d'] };
  assert.equal(removal('d', conf), null);
  assert.equal(removal('d', conf, ['b', 'c']), null, 'a learner does not count towards the quorum');
  assert.match(removal('a', conf) ?? '', /^node node-a is the current leader and cannot remove itself: stop its process first/);
});

test('removal: a voter may go while the others alive are a quorum of the current voters', () => {
  const three = { voters: ['a', 'b', 'c'], learners: ['d'] };
  assert.equal(removal('b', three), null, '2 of 3 left');
  assert.equal(removal('c', three, ['c']), null, 'a down voter: the 2 alive are a quorum of 3');
  assert.equal(removal('b', three, ['c']),
    'removing voter node-b now would leave 1 of the 3 voters alive, fewer than the quorum of 2 the cluster needs to change its configuration and keep working: ' +
    'bring node-c back first (or wait for the autopilot to replace it)');
  const five = { voters: ['a', 'b', 'c', 'd', 'e'], learners: [] };
  assert.equal(removal('b', five, ['c']), null, '3 of 5 alive without b');
  assert.match(removal('b', five, ['c', 'd']) ?? '', /leave 2 of the 5 voters alive, fewer than the quorum of 3.*bring node-c, node-d back first \(or wait for the autopilot to replace them\)/);
  assert.match(removal('b', { voters: ['a', 'b'], learners: [] }) ?? '', /leave 1 of the 2 voters alive, fewer than the quorum of 2 .*: wait for the autopilot to promote a learner first/, 'two voters: one cut off leaves no quorum');
});
