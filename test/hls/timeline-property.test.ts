// Property test of the public timeline: three gateways of one stream, a leader that seals and
// switches the way node/leader does (base = one past the highest number any gateway published),
// workers producing segments, and every event in a random order: gateways apply the state late,
// poll at random moments and see random parts of the worker's list, fill holes from random
// peers, and are sometimes fenced. After every event: each gateway's published numbers strictly
// increase, every number names the same (epoch, k) on every gateway (and base + k for a worker's
// segment), the listed window has no holes, and media and discontinuity sequences never go back.
// Replay one seed: HLS_PROPERTY_SEED=<seed> node --test test/hls/timeline-property.test.ts
import { seededRandom } from '../../consensus/core/rand.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { StreamTimeline } from '../../node/hls/timeline.ts';
import type { Published, SegmentFacts, TimelineAssignment } from '../../node/hls/timeline.ts';

const seeds = process.env['HLS_PROPERTY_SEED'] === undefined ? Array.from({ length: 300 }, (_, i) => i + 1) : [Number(process.env['HLS_PROPERTY_SEED'])];
const stepsPerRun = 400;
const gatewayCount = 3;
const workerListSize = 6;
/** A gateway's cache keeps its last this many numbers for peers. */
const peerCacheSegments = 12;

/** Deterministic per (epoch, k), 1.5-2.4 s: rounds to at most the 2 s target. */
function durationOf(epoch: number, k: number): number {
  return 1.5 + ((epoch * 7 + k * 13) % 10) / 10;
}

interface Gateway {
  readonly tl: StreamTimeline<null>;
  /** How many entries of the leader's log it has applied. */
  applied: number;
  fenced: boolean;
  readonly published: number[];
  readonly facts: Map<number, SegmentFacts>;
  lastMediaSequence: number;
  lastDiscontinuitySequence: number;
}

interface RunFigures {
  readonly switches: number;
  readonly fromPeers: number;
  readonly jumps: number;
}

function simulate(seed: number): RunFigures {
  const random = seededRandom(seed);
  const chance = (p: number): boolean => random() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const log: TimelineAssignment[] = [{ epoch: 1, base: Math.floor(random() * 50), sealed: false, nodeId: 'w1' }];
  const bases = new Map<number, number>([[1, log[0]!.base]]);
  const produced = new Map<number, number>([[1, 0]]); // epoch -> segments its worker wrote
  const owner = new Map<number, string>(); // public number -> "epoch/k", over every gateway
  const gateways: Gateway[] = Array.from({ length: gatewayCount }, () => ({
    tl: new StreamTimeline<null>({ segmentS: 2, windowSegments: 4, holeWaitMs: 3000 }), applied: 0, fenced: false,
    published: [], facts: new Map(), lastMediaSequence: 0, lastDiscontinuitySequence: 0,
  }));
  let nowMs = 1_800_000_000_000;
  const where = (step: number, g: number): string => `seed ${seed} step ${step} gateway ${g}`;

  const record = (g: number, out: readonly Published<null>[], step: number): void => {
    const gw = gateways[g]!;
    for (const { segment: s } of out) {
      const prev = gw.published.at(-1);
      assert.ok(prev === undefined || s.n > prev, `${where(step, g)}: published ${s.n} after ${prev}`);
      gw.published.push(s.n);
      gw.facts.set(s.n, { epoch: s.epoch, k: s.k, durationS: s.durationS, workerDiscontinuity: s.workerDiscontinuity, pdtMs: s.pdtMs });
      const name = `${s.epoch}/${s.k}`;
      const known = owner.get(s.n);
      assert.ok(known === undefined || known === name, `${where(step, g)}: number ${s.n} is ${name} here but ${known} elsewhere`);
      owner.set(s.n, name);
      assert.equal(s.n, bases.get(s.epoch)! + s.k, `${where(step, g)}: ${s.n} is not base + k of epoch ${s.epoch}`);
    }
  };

  const check = (g: number, step: number): void => {
    const gw = gateways[g]!;
    const view = gw.tl.view();
    view.segments.forEach((s, i) => assert.equal(s.n, view.mediaSequence + i, `${where(step, g)}: the window lists a hole`));
    assert.ok(view.mediaSequence >= gw.lastMediaSequence, `${where(step, g)}: media sequence went back`);
    assert.ok(view.discontinuitySequence >= gw.lastDiscontinuitySequence, `${where(step, g)}: discontinuity sequence went back`);
    assert.equal(view.targetDurationS, 2);
    if (view.segments.length > 0) gw.lastMediaSequence = view.mediaSequence;
    gw.lastDiscontinuitySequence = view.discontinuitySequence;
  };

  const poll = (g: number, step: number): void => {
    const gw = gateways[g]!;
    const a = gw.tl.active;
    if (gw.fenced || a === null || a.sealed) return;
    const count = produced.get(a.epoch) ?? 0;
    const seen = Math.max(0, count - Math.floor(random() * 3)); // the playlist it read is a bit old
    for (let k = Math.max(0, seen - workerListSize); k < seen; k++) {
      if (chance(0.1)) continue; // this copy failed; the next poll retries
      record(g, gw.tl.addWorkerSegment(a.epoch, { k, durationS: durationOf(a.epoch, k), discontinuity: false, pdtMs: null }, null, nowMs), step);
    }
  };

  const fillHoles = (g: number, step: number): void => {
    const gw = gateways[g]!;
    if (gw.fenced) return;
    for (const n of gw.tl.missing()) {
      const other = gateways[pick([0, 1, 2].filter((i) => i !== g))]!;
      const facts = other.facts.get(n);
      if (facts === undefined || other.published.indexOf(n) < other.published.length - peerCacheSegments) return;
      record(g, gw.tl.addPeerSegment(n, facts, null, nowMs), step);
    }
  };

  const leader = (): void => {
    const active = log.at(-1)!;
    if (!active.sealed) {
      if (!chance(0.03)) return;
      log.push({ ...active, sealed: true });
      produced.set(active.epoch + 1, 0); // the next worker starts as the seal is decided
      // A gateway that has not applied the seal yet may lose contact: it is fenced until it
      // has caught up, so it publishes nothing the leader does not know about.
      for (const gw of gateways) if (gw.applied < log.length && chance(0.3)) gw.fenced = true;
      return;
    }
    const sealIndex = log.length; // applied >= sealIndex: the gateway applied the seal
    const reported = gateways.filter((gw) => gw.fenced || gw.applied >= sealIndex);
    if (reported.length < gatewayCount || (produced.get(active.epoch + 1) ?? 0) < 1) return;
    let base = active.base;
    for (const gw of gateways) {
      const last = gw.tl.lastPublished(active.epoch);
      if (last !== null) base = Math.max(base, last + 1);
    }
    log.push({ epoch: active.epoch + 1, base, sealed: false, nodeId: `w${active.epoch + 1}` });
    bases.set(active.epoch + 1, base);
  };

  for (let step = 0; step < stepsPerRun; step++) {
    nowMs += Math.floor(random() * 200);
    const g = Math.floor(random() * gatewayCount);
    const gw = gateways[g]!;
    const roll = random();
    if (roll < 0.15) {
      const active = log.at(-1)!;
      for (const [epoch, count] of produced) if (epoch >= active.epoch) produced.set(epoch, count + 1);
    } else if (roll < 0.35) {
      if (gw.applied < log.length) gw.tl.applyAssignment(log[gw.applied++]!, nowMs);
      if (gw.applied === log.length) gw.fenced = false;
    } else if (roll < 0.55) poll(g, step);
    else if (roll < 0.75) fillHoles(g, step);
    else if (roll < 0.9) {
      // A whole poll round as the poller makes it.
      poll(g, step);
      fillHoles(g, step);
      if (!gw.fenced) record(g, gw.tl.tick(nowMs), step);
    } else leader();
    check(g, step);
  }

  // Liveness once everything heals: every gateway follows the last epoch again.
  for (const gw of gateways) {
    while (gw.applied < log.length) gw.tl.applyAssignment(log[gw.applied++]!, nowMs);
    gw.fenced = false;
  }
  // The leader knew every number published (fenced gateways publish nothing), so no gateway
  // ever found its numbers taken by a new epoch.
  gateways.forEach((gw, g) => assert.equal(gw.tl.stats.conflicts, 0, `seed ${seed}: gateway ${g} had conflicts`));
  const figures = (): RunFigures => ({
    switches: log.filter((a) => !a.sealed).length - 1,
    fromPeers: gateways.reduce((sum, gw) => sum + gw.tl.stats.fromPeers, 0),
    jumps: gateways.reduce((sum, gw) => sum + gw.tl.stats.jumps, 0),
  });
  const last = log.at(-1)!;
  if (last.sealed) return figures(); // the run ended between a seal and its switch
  const before = gateways.map((gw) => gw.tl.lastPublished() ?? -1);
  for (let round = 0; round < 12; round++) {
    nowMs += 1000;
    produced.set(last.epoch, produced.get(last.epoch)! + 1);
    for (let g = 0; g < gatewayCount; g++) {
      poll(g, stepsPerRun + round);
      fillHoles(g, stepsPerRun + round);
      record(g, gateways[g]!.tl.tick(nowMs), stepsPerRun + round);
      check(g, stepsPerRun + round);
    }
  }
  gateways.forEach((gw, g) => assert.ok((gw.tl.lastPublished() ?? -1) > before[g]!, `seed ${seed}: gateway ${g} stopped publishing after the cluster healed`));
  return figures();
}

test(`random event orders keep the numbering consistent across gateways (${seeds.length} seeds x ${stepsPerRun} events)`, () => {
  const totals = { switches: 0, fromPeers: 0, jumps: 0 };
  for (const seed of seeds) {
    const f = simulate(seed);
    totals.switches += f.switches;
    totals.fromPeers += f.fromPeers;
    totals.jumps += f.jumps;
  }
  // The runs did exercise switches and hole filling (jumps are allowed: peers' caches are short).
  if (seeds.length > 1) assert.ok(totals.switches > seeds.length && totals.fromPeers > seeds.length, JSON.stringify(totals));
});
