// Property tests over seeded random clusters (fixtures.ts randomCluster): every case prints its
// seed on failure; replay one with
//   PLACEMENT_SEED=<seed> node --test test/placement/properties.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentAssignments, diff, explain, place, rebalance } from '../../node/placement/index.ts';
import type { PlacementInput, Plan } from '../../node/placement/index.ts';
import { randomCluster, runningAfter } from './fixtures.ts';

const casesCount = 300;
const replay = process.env['PLACEMENT_SEED'];
const seeds = replay === undefined ? Array.from({ length: casesCount }, (_, i) => 1000 + i) : [Number(replay)];

function forEachCluster(check: (view: PlacementInput, plan: Plan, seed: number) => void): void {
  for (const seed of seeds) {
    const view = randomCluster(seed);
    const plan = place(view, seed);
    try {
      check(view, plan, seed);
    } catch (e) {
      throw new Error(`seed ${seed} (replay: PLACEMENT_SEED=${seed} node --test test/placement/properties.test.ts): ${(e as Error).message}`, { cause: e });
    }
  }
}

/** [node, copy is new there] for each copy the plan places. */
function copies(view: PlacementInput, plan: Plan): Array<{ streamId: string; nodeId: string; fresh: boolean }> {
  const was = currentAssignments(view);
  return plan.streams.flatMap((s) => {
    const before = was.get(s.streamId)!;
    const on = [before.nodeId, before.standbyNodeId];
    return [s.nodeId, s.standbyNodeId].filter((n) => n !== null).map((nodeId) => ({ streamId: s.streamId, nodeId, fresh: !on.includes(nodeId) }));
  });
}

test('never overcommits: a node given a new copy ends within every ceiling of the streams on it', () => {
  forEachCluster((view, plan) => {
    const streams = new Map(view.streams.map((s) => [s.id, s]));
    const loads = new Map(plan.nodes.map((n) => [n.nodeId, n]));
    const all = copies(view, plan);
    for (const nodeId of new Set(all.filter((c) => c.fresh).map((c) => c.nodeId))) {
      const load = loads.get(nodeId)!;
      for (const c of all.filter((x) => x.nodeId === nodeId)) {
        const p = streams.get(c.streamId)!.policy;
        assert.ok(load.cpuPct <= p.cpuCeilPct + 1e-6, `${nodeId} cpu ${load.cpuPct} > ${p.cpuCeilPct} of ${c.streamId}`);
        assert.ok(load.memPct <= p.memCeilPct + 1e-6, `${nodeId} memory ${load.memPct} > ${p.memCeilPct} of ${c.streamId}`);
        if (p.maxStreamsPerNode > 0) assert.ok(load.streams <= p.maxStreamsPerNode, `${nodeId} holds ${load.streams} > ${p.maxStreamsPerNode}`);
      }
    }
  });
});

test('the planned load is the background plus the copies the plan puts there', () => {
  forEachCluster((view, plan) => {
    const all = copies(view, plan);
    for (const n of view.nodes) {
      const theirs = view.streams.flatMap((s) => [s.currentNode, s.standbyNode].filter((x) => x === n.id).map(() => s));
      const background = Math.max(0, theirs.reduce((cpu, s) => cpu - s.cost.cpuPct / n.cores, n.cpuPct));
      const planned = all.filter((c) => c.nodeId === n.id).map((c) => view.streams.find((s) => s.id === c.streamId)!);
      const expected = planned.reduce((cpu, s) => cpu + s.cost.cpuPct / n.cores, background);
      const got = plan.nodes.find((x) => x.nodeId === n.id)!;
      assert.ok(Math.abs(got.cpuPct - expected) < 1e-6, `${n.id}: cpu ${got.cpuPct}, expected ${expected}`);
      assert.equal(got.streams, planned.length + Math.max(0, n.streams - theirs.length));
    }
  });
});

test('never uses a down, suspect, disabled or draining node; respects pins and groups', () => {
  forEachCluster((view, plan) => {
    const nodes = new Map(view.nodes.map((n) => [n.id, n]));
    const streams = new Map(view.streams.map((s) => [s.id, s]));
    for (const c of copies(view, plan)) {
      const n = nodes.get(c.nodeId)!;
      const s = streams.get(c.streamId)!;
      assert.equal(n.health, 'alive', `${c.streamId} on ${n.id} (${n.health})`);
      assert.ok(n.enabled && !n.draining, `${c.streamId} on disabled or draining ${n.id}`);
      if (s.pinNode !== null) assert.equal(n.id, s.pinNode);
      if (s.pinGroup !== null) assert.ok(n.groups.includes(s.pinGroup), `${c.streamId} pinned to ${s.pinGroup}, on ${n.id}`);
      if (s.policy.groups.length > 0) assert.ok(s.policy.groups.some((g) => n.groups.includes(g)), `${c.streamId} outside its groups`);
    }
  });
});

test('standby: never on the active node, only with hotStandby, never without an active copy', () => {
  forEachCluster((view, plan) => {
    const streams = new Map(view.streams.map((s) => [s.id, s]));
    for (const s of plan.streams) {
      if (s.standbyNodeId === null) continue;
      assert.notEqual(s.standbyNodeId, s.nodeId);
      assert.notEqual(s.nodeId, null);
      assert.ok(streams.get(s.streamId)!.policy.hotStandby);
    }
  });
});

test('an unplaced stream has no node that could take it', () => {
  forEachCluster((view, plan, seed) => {
    for (const s of plan.streams.filter((x) => x.status === 'unplaced')) {
      const e = explain(view, s.streamId, seed)!;
      assert.deepEqual(e.nodes.filter((n) => n.feasible).map((n) => n.nodeId), [], `${s.streamId} unplaced`);
    }
  });
});

test('deterministic for a seed, whatever the order of nodes and streams', () => {
  forEachCluster((view, plan, seed) => {
    assert.deepEqual(place(view, seed), plan);
    const shuffled = { ...view, nodes: [...view.nodes].reverse(), streams: [...view.streams].reverse() };
    assert.deepEqual(place(shuffled, seed), plan);
  });
});

test('no churn: placing again with the result as what runs moves nothing', () => {
  forEachCluster((view, plan, seed) => {
    const running = runningAfter(view, plan);
    assert.deepEqual(diff(currentAssignments(running), place(running, seed)), []);
    assert.deepEqual(diff(currentAssignments(running), place(running, seed + 1)), [], 'nor with another seed');
  });
});

test('rebalance: within budget, no flapping, never onto a node that may not run the stream', () => {
  forEachCluster((view, plan, seed) => {
    const running = runningAfter(view, plan);
    const r = rebalance(running, 3, seed);
    assert.ok(r.moves.length <= 3);
    const after = runningAfter(running, r.plan);
    const again = rebalance(after, 3, seed);
    const back = again.moves.filter((m) => r.moves.some((x) => x.streamId === m.streamId && x.to === m.from));
    assert.deepEqual(back, [], 'a moved copy moved again');
    const nodes = new Map(view.nodes.map((n) => [n.id, n]));
    for (const m of r.moves) {
      const n = nodes.get(m.to!)!;
      assert.ok(n.health === 'alive' && n.enabled && !n.draining);
    }
  });
});
