// The deterministic simulator as a unit test: a few seeds pass, the checker catches planted
// violations (so a green run means something), and a seed replays the identical trace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry, NodeId } from '../../consensus/core/types.ts';
import { applyEntry, initialAppState } from '../sim/app-state.ts';
import { SafetyChecker } from '../sim/checker.ts';
import { runSeed } from '../sim/runner.ts';
import type { SeedResult } from '../sim/runner.ts';
import { Rng } from '../sim/rng.ts';
import { Scheduler } from '../sim/scheduler.ts';

const encoder = new TextEncoder();

function entry(index: number, term: number, data: string): Entry {
  return { index, term, type: 'normal', data: encoder.encode(data) };
}

function failures(r: SeedResult): string {
  return `${r.violations.map((v) => `${v.kind}: ${v.detail}`).join('\n')}\n${r.livenessFailure ?? ''}`;
}

describe('simulator', () => {
  for (const nodes of [3, 5]) {
    it(`runs seeds 1-15 with ${nodes} nodes without violations or liveness failures`, () => {
      for (let seed = 1; seed <= 15; seed++) {
        const r = runSeed({ seed, nodes, trace: null });
        assert.equal(r.violationCount, 0, `seed ${seed}: ${failures(r)}`);
        assert.equal(r.livenessFailure, null, `seed ${seed}: ${failures(r)}`);
        assert.ok(r.stats.commits > 10, `seed ${seed} committed only ${r.stats.commits}`);
      }
    });
  }

  it('replays a seed to the identical trace, and another seed differs', () => {
    const trace = (seed: number): string[] => {
      const lines: string[] = [];
      runSeed({ seed, nodes: 3, trace: (l) => lines.push(l) });
      return lines;
    };
    const a = trace(42);
    assert.ok(a.length > 1000, `trace of ${a.length} lines`);
    assert.deepEqual(trace(42), a);
    assert.notDeepEqual(trace(43), a);
  });

  it('catches a node that applies a different entry than the others', () => {
    let planted = false;
    const mutateApplied = (node: NodeId, e: Entry): Entry => {
      if (planted || node !== 'n2' || e.index < 10 || e.type !== 'normal' || e.data.byteLength === 0) return e;
      planted = true;
      return { ...e, data: encoder.encode('evil') };
    };
    const r = runSeed({ seed: 1, nodes: 3, trace: null, mutateApplied });
    assert.ok(planted, 'the bug was never planted');
    const kinds = new Set(r.violations.map((v) => v.kind));
    assert.ok(kinds.has('commit-changed'), failures(r));
    assert.ok(kinds.has('state-diverged'), failures(r));
  });
});

describe('safety checker', () => {
  const now = () => 0;

  it('flags two leaders in one term, not one leader per term', () => {
    const c = new SafetyChecker(now);
    c.observeLeader('n1', 2);
    c.observeLeader('n1', 2);
    c.observeLeader('n2', 3);
    assert.equal(c.violationCount, 0);
    c.observeLeader('n3', 3);
    assert.deepEqual(c.violations.map((v) => v.kind), ['two-leaders']);
  });

  it('flags a committed entry that changes, and an apply out of order', () => {
    const c = new SafetyChecker(now);
    const s1 = applyEntry(initialAppState, entry(1, 1, 'a'));
    c.observeApply('n1', entry(1, 1, 'a'), s1);
    c.observeCommitted('n2', entry(1, 1, 'a'));
    assert.equal(c.violationCount, 0);
    c.observeCommitted('n3', entry(1, 2, 'a'));
    c.observeApply('n2', entry(2, 1, 'b'), applyEntry(s1, entry(2, 1, 'b'))); // n2 skipped index 1
    assert.deepEqual(c.violations.map((v) => v.kind), ['commit-changed', 'apply-order']);
  });

  it('flags a read answered below what was committed when it was issued', () => {
    const c = new SafetyChecker(now);
    c.observeCommitIndex(7);
    c.readIssued('n1', 'r1');
    c.readAnswered('n1', 'r1', 7);
    c.readIssued('n2', 'r2');
    c.readAnswered('n2', 'r2', 6);
    assert.deepEqual(c.violations.map((v) => v.kind), ['stale-read']);
  });

  it('flags a durable vote that changes within a term', () => {
    const c = new SafetyChecker(now);
    c.observeHardState('n1', { term: 3, vote: 'n2', commit: 0 });
    c.observeHardState('n1', { term: 3, vote: 'n2', commit: 4 });
    c.observeHardState('n1', { term: 4, vote: null, commit: 4 });
    assert.equal(c.violationCount, 0);
    c.observeHardState('n1', { term: 4, vote: 'n3', commit: 4 });
    c.observeHardState('n1', { term: 4, vote: 'n2', commit: 4 });
    assert.deepEqual(c.violations.map((v) => v.kind), ['vote-changed']);
  });
});

describe('simulation primitives', () => {
  it('rng: same seed, same sequence; ints stay in range', () => {
    const a = new Rng(9);
    const b = new Rng(9);
    for (let i = 0; i < 100; i++) {
      const x = a.int(3, 7);
      assert.equal(x, b.int(3, 7));
      assert.ok(x >= 3 && x <= 7);
    }
  });

  it('scheduler: runs events in time order, ties in scheduling order', () => {
    const s = new Scheduler();
    const seen: string[] = [];
    s.after(5, () => seen.push('b'));
    s.after(1, () => seen.push('a'));
    s.after(5, () => {
      seen.push('c');
      s.after(0, () => seen.push('d'));
    });
    s.after(9, () => seen.push('late'));
    s.runUntil(5);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
    assert.equal(s.nowMs, 5);
  });
});
