// The rollout's order and refusals (node/upgrade/plan.ts), on several topologies, and the
// progress lines `ottmesh upgrade` prints (node/upgrade/rollout.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { nextNode, planRollout, rolloutOrder, runsTarget, streamsOn, transferTarget } from '../../node/upgrade/plan.ts';
import type { NodeFacts, SelfReport, TargetBuild } from '../../node/upgrade/plan.ts';
import { finished, newRollout, pendingIds, progressLines, withPhase } from '../../node/upgrade/rollout.ts';

const v1 = { version: '0.1.0', commit: 'aaaaaaaaaaaa' };
const target: TargetBuild = { version: '0.2.0', commit: 'bbbbbbbbbbbb', sha256: 'f'.repeat(64) };

function self(over: Partial<SelfReport> = {}): SelfReport {
  return { build: v1, executable: '/opt/ottmesh/ottmesh', sha256: '1'.repeat(64), writable: true, busy: null, ...over };
}

function node(id: string, over: Partial<NodeFacts> = {}): NodeFacts {
  return { id, name: id, health: 'alive', voter: true, draining: false, self: self(), ...over };
}

function order(nodes: NodeFacts[], leaderId: string, coordinatorId: string): string[] {
  const plan = planRollout({ nodes, leaderId, coordinatorId, target });
  assert.ok(plan.ok, plan.ok ? '' : plan.problem);
  return plan.steps.map((s) => s.nodeId);
}

test('the coordinator is the leader: followers by name, then the coordinator last', () => {
  assert.deepEqual(order([node('n3'), node('n1'), node('n2')], 'n1', 'n1'), ['n2', 'n3', 'n1']);
});

test('the coordinator is a follower: other followers, then the leader, then the coordinator', () => {
  assert.deepEqual(order([node('n1'), node('n2'), node('n3')], 'n2', 'n1'), ['n3', 'n2', 'n1']);
});

test('learners go before the voters, the leader and the coordinator', () => {
  const nodes = [node('a-voter'), node('b-leader'), node('c-coord'), node('w2', { voter: false }), node('w1', { voter: false }), node('z-voter')];
  assert.deepEqual(order(nodes, 'b-leader', 'c-coord'), ['w1', 'w2', 'a-voter', 'z-voter', 'b-leader', 'c-coord']);
  // The coordinator may be a learner: it still goes last.
  const learnerCoordinator = [node('v1'), node('v2'), node('v3'), node('w1', { voter: false })];
  assert.deepEqual(order(learnerCoordinator, 'v2', 'w1'), ['v1', 'v3', 'v2', 'w1']);
});

test('a single node cluster upgrades itself', () => {
  assert.deepEqual(order([node('solo')], 'solo', 'solo'), ['solo']);
});

test('a node down, suspect or not answering refuses the rollout, naming it', () => {
  const down = planRollout({ nodes: [node('n1'), node('n2', { health: 'down' }), node('n3')], leaderId: 'n1', coordinatorId: 'n1', target });
  assert.deepEqual(down, { ok: false, problem: 'node n2 is down: an upgrade needs every node healthy (bring it back, or remove it from the cluster, then retry)' });
  const silent = planRollout({ nodes: [node('n1'), node('n2'), node('n3', { self: null })], leaderId: 'n1', coordinatorId: 'n1', target });
  assert.equal(silent.ok, false);
  assert.match(silent.ok ? '' : silent.problem, /^node n3 is down: an upgrade needs every node healthy/);
  const suspect = planRollout({ nodes: [node('n1'), node('n2', { health: 'suspect' })], leaderId: 'n1', coordinatorId: 'n1', target });
  assert.match(suspect.ok ? '' : suspect.problem, /^node n2 is suspect/);
});

test('no leader, a busy node, a node running from sources or unable to write its executable refuse', () => {
  const noLeader = planRollout({ nodes: [node('n1')], leaderId: null, coordinatorId: 'n1', target });
  assert.match(noLeader.ok ? '' : noLeader.problem, /no leader/);
  const busy = planRollout({ nodes: [node('n1'), node('n2', { self: self({ busy: 'coordinating rollout x' }) })], leaderId: 'n1', coordinatorId: 'n1', target });
  assert.match(busy.ok ? '' : busy.problem, /node n2 is already part of a rollout \(coordinating rollout x\)/);
  const sources = planRollout({ nodes: [node('n1'), node('n2', { self: self({ executable: null, sha256: null }) })], leaderId: 'n1', coordinatorId: 'n1', target });
  assert.equal(sources.ok ? '' : sources.problem, 'node n2 runs from sources: upgrade it with git pull / npm run build (a rollout replaces the ottmesh executable a node runs from)');
  const readOnly = planRollout({ nodes: [node('n1', { self: self({ writable: false }) })], leaderId: 'n1', coordinatorId: 'n1', target });
  assert.match(readOnly.ok ? '' : readOnly.problem, /node n1 cannot replace its executable \/opt\/ottmesh\/ottmesh/);
});

test('nodes on the target are skipped (a re-run is idempotent), even when they run from sources', () => {
  const onTarget = self({ sha256: target.sha256, build: { version: target.version, commit: target.commit } });
  const fromSourcesAtTarget = self({ executable: null, sha256: null, build: { version: target.version, commit: target.commit } });
  const plan = planRollout({ nodes: [node('n1', { self: onTarget }), node('n2', { self: fromSourcesAtTarget }), node('n3')], leaderId: 'n1', coordinatorId: 'n3', target });
  assert.ok(plan.ok);
  assert.deepEqual(plan.steps.map((s) => [s.nodeId, s.upgrade]), [['n2', false], ['n1', false], ['n3', true]]);
});

test('runsTarget: the sha256 decides; a clean commit and version too; a dirty or unknown commit only by sha256', () => {
  assert.equal(runsTarget(self({ sha256: target.sha256 }), target), true);
  assert.equal(runsTarget(self({ build: { version: '0.2.0', commit: 'bbbbbbbbbbbb' } }), target), true);
  const dirty = { ...target, commit: 'bbbbbbbbbbbb-dirty' };
  assert.equal(runsTarget(self({ build: { version: '0.2.0', commit: 'bbbbbbbbbbbb-dirty' } }), dirty), false);
  assert.equal(runsTarget(self({ build: { version: '0.2.0', commit: 'unknown' } }), { ...target, commit: 'unknown' }), false);
  assert.equal(runsTarget(self(), target), false);
});

test('the next node follows the leader as it is now: an election during the rollout changes who goes last', () => {
  assert.equal(nextNode(['n2', 'n3', 'n1'], 'n3', 'n1'), 'n2');
  assert.equal(nextNode(['n3', 'n1'], 'n3', 'n1'), 'n3');
  // n2 became the leader meanwhile: it waits until the others are done.
  assert.equal(nextNode(['n2', 'n3', 'n1'], 'n2', 'n1'), 'n3');
  assert.equal(nextNode(['n1'], 'n2', 'n1'), 'n1');
  assert.equal(nextNode([], 'n2', 'n1'), null);
  assert.equal(nextNode(['n2'], null, 'n1'), 'n2');
});

test('leadership goes to a live voter already on the target, in plan order; none: null', () => {
  const alive = (id: string) => id !== 'dead';
  const base = { leaderId: 'n1', voters: ['n1', 'n2', 'n3'], alive, preferred: ['n3', 'n2', 'n1'] };
  assert.equal(transferTarget({ ...base, onTarget: new Set(['n2', 'n3']) }), 'n3');
  assert.equal(transferTarget({ ...base, onTarget: new Set(['n2']) }), 'n2');
  assert.equal(transferTarget({ ...base, onTarget: new Set() }), null);
  assert.equal(transferTarget({ ...base, voters: ['n1', 'dead'], onTarget: new Set(['dead']) }), null);
  assert.equal(transferTarget({ ...base, voters: ['n1', 'w'], onTarget: new Set(['w', 'learner']) }), 'w');
  assert.equal(transferTarget({ ...base, voters: ['n1'], onTarget: new Set(['n1']) }), null);
});

test('rolloutOrder is the same whatever order the nodes come in', () => {
  const nodes = [node('c'), node('a'), node('b', { voter: false }), node('d')];
  const want = rolloutOrder(nodes, 'd', 'a').map((n) => n.id);
  assert.deepEqual(want, ['b', 'c', 'd', 'a']);
  assert.deepEqual(rolloutOrder([...nodes].reverse(), 'd', 'a').map((n) => n.id), want);
});

test('streamsOn counts active and second workers', () => {
  const assignments = {
    s1: { nodeId: 'n1', next: null },
    s2: { nodeId: 'n2', next: { nodeId: 'n1' } },
    s3: { nodeId: 'n3', next: { nodeId: 'n2' } },
  };
  assert.equal(streamsOn(assignments, 'n1'), 2);
  assert.equal(streamsOn(assignments, 'n2'), 2);
  assert.equal(streamsOn(assignments, 'n4'), 0);
});

test('a rollout record: skipped steps start done, phases move, progress lines name each change once', () => {
  const plan = planRollout({
    nodes: [node('n1'), node('n2', { self: self({ sha256: target.sha256 }) }), node('n3')], leaderId: 'n1', coordinatorId: 'n1', target,
  });
  assert.ok(plan.ok);
  let r = newRollout({ id: 'r1', coordinatorId: 'n1', coordinatorName: 'n1', actor: null, target: { ...target, bytes: 1 }, healthTimeoutS: 60, steps: plan.steps, nowMs: 1000 });
  assert.deepEqual(pendingIds(r), ['n3', 'n1']);
  const first = progressLines(null, r);
  assert.deepEqual(first, [
    'n2: done: already runs 0.2.0 (commit bbbbbbbbbbbb): skipped',
    'n3: pending 0.1.0 (commit aaaaaaaaaaaa) -> 0.2.0 (commit bbbbbbbbbbbb)',
    'n1: pending 0.1.0 (commit aaaaaaaaaaaa) -> 0.2.0 (commit bbbbbbbbbbbb)',
  ]);
  const before = r;
  r = withPhase(r, 'n3', 'draining', 2000, 'moving 1 stream(s) to other nodes');
  assert.deepEqual(progressLines(before, r), ['n3: draining 0.1.0 (commit aaaaaaaaaaaa) -> 0.2.0 (commit bbbbbbbbbbbb): moving 1 stream(s) to other nodes']);
  assert.deepEqual(progressLines(r, r), []);
  r = withPhase(r, 'n3', 'done', 3000);
  const step = r.steps.find((s) => s.nodeId === 'n3')!;
  assert.deepEqual([step.startedAtMs, step.endedAtMs], [2000, 3000]);
  const end = finished(r, 'failed', 4000, 'n1: it was not healthy');
  assert.deepEqual(progressLines(r, end), ['upgrade failed: n1: it was not healthy']);
});
