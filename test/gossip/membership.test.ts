import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipView } from '../../node/gossip/membership.ts';
import type { Transition } from '../../node/gossip/membership.ts';
import type { MembershipTiming } from '../../node/gossip/timing.ts';
import { makeReport } from './fixtures.ts';

interface Reporter {
  /** First report at this time (default 0), then every 1000 ms. */
  readonly startMs?: number;
  /** Last report at or before this time (the node dies). */
  readonly untilMs?: number;
  /** Lateness of the k-th report, ms (default 0). */
  readonly lateMs?: (k: number) => number;
  readonly seqBase?: number;
}

interface Scenario {
  readonly members: readonly string[];
  readonly reporters: Readonly<Record<string, Reporter | readonly Reporter[]>>;
  /** Our own event loop is blocked from..to: nothing is ticked or read meanwhile. */
  readonly stalls?: ReadonlyArray<readonly [fromMs: number, toMs: number]>;
  readonly endMs: number;
  readonly timing?: Partial<MembershipTiming>;
}

const gossipDelayMs = 2;

/**
 * Runs a view the way the service does: a tick every 250 ms, reports arriving gossipDelayMs
 * after they are sent. During a stall nothing runs; when it ends, the overdue tick runs first
 * and the queued reports after it (the worst order for the detector).
 */
function simulate(s: Scenario): { transitions: Transition[]; view: MembershipView } {
  const view = new MembershipView(s.timing);
  type Event = { atMs: number; order: number; report?: ReturnType<typeof makeReport> };
  const events: Event[] = [];
  for (let t = 0; t <= s.endMs; t += view.timing.tickIntervalMs) events.push({ atMs: t, order: 0 });
  for (const [id, spec] of Object.entries(s.reporters)) {
    for (const r of Array.isArray(spec) ? spec : [spec as Reporter]) {
      const startMs = r.startMs ?? 0;
      for (let k = 0, sentMs = startMs; sentMs <= Math.min(r.untilMs ?? s.endMs, s.endMs); k++, sentMs = startMs + k * 1000) {
        const atMs = sentMs + (r.lateMs?.(k) ?? 0) + gossipDelayMs;
        events.push({ atMs, order: 1, report: makeReport(id, (r.seqBase ?? 1_000) + k) });
      }
    }
  }
  for (const e of events) {
    const stall = s.stalls?.find(([from, to]) => e.atMs > from && e.atMs < to);
    if (stall !== undefined) e.atMs = stall[1];
  }
  events.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  const transitions: Transition[] = [];
  view.tick(0);
  view.setMembers(s.members, 0);
  let lastTickMs = -1;
  for (const e of events) {
    if (e.report === undefined) {
      if (e.atMs === lastTickMs) continue; // ticks collapsed by a stall run once
      lastTickMs = e.atMs;
      transitions.push(...view.tick(e.atMs));
    } else {
      const result = view.observe(e.report, e.atMs);
      if (result.accepted && result.transition !== null) transitions.push(result.transition);
    }
  }
  return { transitions, view };
}

const steady: Reporter = {};
const lcg = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

describe('membership view: timing scenarios', () => {
  it('steady reports for 10 minutes: no transition', () => {
    const { transitions } = simulate({ members: ['a', 'b', 'c'], reporters: { a: steady, b: steady, c: steady }, endMs: 600_000 });
    assert.deepEqual(transitions, []);
  });

  it('reports late by up to 400 ms at random, for 10 minutes: no transition', () => {
    const rand = lcg(7);
    const jitter = { lateMs: () => Math.floor(rand() * 400) };
    const { transitions } = simulate({ members: ['a', 'b', 'c'], reporters: { a: jitter, b: jitter, c: jitter }, endMs: 600_000 });
    assert.deepEqual(transitions, []);
  });

  it('a node dying right after a report: suspect, then down within 3 s of its last report', () => {
    const { transitions, view } = simulate({ members: ['a', 'b', 'c'], reporters: { a: steady, b: steady, c: { untilMs: 10_000 } }, endMs: 20_000 });
    assert.deepEqual(transitions.map((t) => [t.id, t.from, t.to]), [['c', 'alive', 'suspect'], ['c', 'suspect', 'down']]);
    const down = transitions[1]!;
    assert.ok(down.atMs - 10_000 <= 3000 - gossipDelayMs, `down after ${down.atMs - 10_000} ms`);
    assert.ok(down.atMs - 10_000 >= 2500);
    assert.equal(view.state('c'), 'down');
  });

  it('a sender whose own loop stalled 2.3 s (one report skipped) is suspect, never down', () => {
    // Its fixed-rate timer skips the 10 000 slot, fires late at 11 300, then is back on time.
    const c: Reporter[] = [{ untilMs: 9000 }, { startMs: 11_300, untilMs: 11_300, seqBase: 1_010 }, { startMs: 12_000, seqBase: 1_011 }];
    const { transitions } = simulate({ members: ['a', 'c'], reporters: { a: steady, c }, endMs: 30_000 });
    assert.deepEqual(transitions.map((t) => [t.id, t.to, t.atMs]), [['c', 'suspect', 10_600], ['c', 'alive', 11_302]]);
  });

  it('our own loop blocked for 4 s: nobody is marked anything', () => {
    const { transitions } = simulate({ members: ['a', 'b', 'c'], reporters: { a: steady, b: steady, c: steady }, stalls: [[5100, 9100]], endMs: 20_000 });
    assert.deepEqual(transitions, []);
    // Why the stall rule exists: by the wall clock, everyone was silent longer than downAfterMs
    // when our first tick after the block ran (last reports read at 5002, tick at 9100).
    assert.ok(9100 - 5002 > new MembershipView().timing.downAfterMs);
  });

  it('our own loop blocked 3 s every 10 s for 10 minutes: no false suspect or down', () => {
    const stalls = Array.from({ length: 60 }, (_, i) => [i * 10_000 + 3_333, i * 10_000 + 6_333] as const);
    const { transitions } = simulate({ members: ['a', 'b', 'c'], reporters: { a: steady, b: steady, c: steady }, stalls, endMs: 600_000 });
    assert.deepEqual(transitions, []);
  });

  it('10 minutes under load (senders late up to 400 ms, our loop blocked up to 3 s at random): no false down', () => {
    const rand = lcg(11);
    const jitter = { lateMs: () => Math.floor(rand() * 400) };
    const stalls = Array.from({ length: 60 }, (_, i) => {
      const fromMs = i * 10_000 + Math.floor(rand() * 5000);
      return [fromMs, fromMs + Math.floor(rand() * 3000)] as const;
    });
    const { transitions } = simulate({ members: ['a', 'b', 'c'], reporters: { a: jitter, b: jitter, c: jitter }, stalls, endMs: 600_000 });
    assert.deepEqual(transitions.filter((t) => t.to === 'down'), []);
  });

  it('a node dying while our loop is blocked is still found down once we run again', () => {
    const { transitions } = simulate({
      members: ['a', 'b', 'c'], reporters: { a: steady, b: steady, c: { untilMs: 5000 } }, stalls: [[5100, 9100]], endMs: 20_000,
    });
    const downs = transitions.filter((t) => t.to === 'down');
    assert.deepEqual(downs.map((t) => t.id), ['c']);
    assert.ok(downs[0]!.atMs > 9100 && downs[0]!.atMs <= 9100 + 2750, `down at ${downs[0]!.atMs}`);
  });

  it('a restarted node (higher seq) comes back alive', () => {
    const { transitions, view } = simulate({
      members: ['a', 'c'], reporters: { a: steady, c: [{ untilMs: 10_000 }, { startMs: 20_000, seqBase: 5_000_000 }] }, endMs: 30_000,
    });
    assert.deepEqual(transitions.map((t) => [t.id, t.to]), [['c', 'suspect'], ['c', 'down'], ['c', 'alive']]);
    assert.equal(transitions[2]!.atMs, 20_000 + gossipDelayMs);
    assert.equal(view.lastReport('c')?.seq, 5_000_010);
  });

  it('a member never heard from gets the join grace, then goes down', () => {
    const { transitions } = simulate({ members: ['a', 'ghost'], reporters: { a: steady }, endMs: 10_000 });
    assert.deepEqual(transitions.map((t) => [t.id, t.to, t.atMs]), [['ghost', 'suspect', 6500], ['ghost', 'down', 7500]]);
  });
});

describe('membership view: reports and members', () => {
  it('ignores reports from non-members and stale sequence numbers', () => {
    const view = new MembershipView();
    view.tick(0);
    view.setMembers(['a'], 0);
    assert.deepEqual(view.observe(makeReport('x', 1), 10), { accepted: false, reason: 'not-member' });
    assert.deepEqual(view.observe(makeReport('a', 5), 10), { accepted: true, transition: null });
    assert.deepEqual(view.observe(makeReport('a', 5), 20), { accepted: false, reason: 'stale' });
    assert.deepEqual(view.observe(makeReport('a', 4), 20), { accepted: false, reason: 'stale' });
    assert.equal(view.lastReport('a')?.seq, 5);
    assert.equal(view.state('x'), undefined);
  });

  it('a stale report does not refresh a member', () => {
    const view = new MembershipView();
    view.tick(0);
    view.setMembers(['a'], 0);
    view.observe(makeReport('a', 5), 0);
    for (let t = 250; t <= 1500; t += 250) {
      view.observe(makeReport('a', 5), t);
      view.tick(t);
    }
    assert.equal(view.state('a'), 'suspect');
  });

  it('recovers a suspect member with its next report, reporting the transition', () => {
    const view = new MembershipView();
    view.tick(0);
    view.setMembers(['a'], 0);
    view.observe(makeReport('a', 1), 0);
    const ticks: Transition[] = [];
    for (let t = 250; t <= 2000; t += 250) ticks.push(...view.tick(t));
    assert.deepEqual(ticks.map((t) => t.to), ['suspect']);
    const result = view.observe(makeReport('a', 2), 2100);
    assert.deepEqual(result, { accepted: true, transition: { id: 'a', from: 'suspect', to: 'alive', atMs: 2100, silenceMs: 0 } });
  });

  it('setMembers adds with grace, keeps existing state and forgets removed members', () => {
    const view = new MembershipView();
    view.tick(0);
    view.setMembers(['a', 'b'], 0);
    view.observe(makeReport('a', 1), 0);
    for (let t = 250; t <= 3000; t += 250) view.tick(t);
    assert.equal(view.state('a'), 'down');
    assert.equal(view.state('b'), 'alive'); // never heard: still in its join grace
    view.setMembers(['a', 'c'], 3000);
    assert.equal(view.state('a'), 'down');
    assert.equal(view.state('b'), undefined);
    assert.deepEqual(view.snapshot().map((m) => [m.id, m.state, m.report?.seq ?? null]), [['a', 'down', 1], ['c', 'alive', null]]);
  });
});
