// Table tests of source failover and return (source-choice.ts): each scenario is a list of events
// with the action expected after each, with the default config (stall 5 s, no-start 8 s, fast
// failure < 10 s x3, rest 30 s doubling to 300 s on a flap, stable after 60 s).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialChoice, rankSources, stepChoice } from '../../node/supervisor/source-choice.ts';
import type { ChoiceAction, ChoiceEvent, ChoiceState } from '../../node/supervisor/source-choice.ts';

type Step = [event: ChoiceEvent, action: ChoiceAction];
const none: ChoiceAction = { kind: 'none' };
const started = (nowMs: number): ChoiceEvent => ({ type: 'started', nowMs });
const data = (nowMs: number): ChoiceEvent => ({ type: 'data', nowMs });
const tick = (nowMs: number): ChoiceEvent => ({ type: 'tick', nowMs });
const exited = (nowMs: number): ChoiceEvent => ({ type: 'exited', nowMs });
const probed = (nowMs: number, rank: number, ok: boolean): ChoiceEvent => ({ type: 'probed', rank, ok, nowMs });
const sw = (to: number, reason: 'stall' | 'no-start' | 'failures' | 'recovered'): ChoiceAction => ({ kind: 'switch', to, reason });

function run(name: string, count: number, steps: Step[]): ChoiceState {
  let state = initialChoice(count, 0);
  steps.forEach(([event, expected], i) => {
    const step = stepChoice(state, event, undefined);
    assert.deepEqual(step.action, expected, `${name}: step ${i} (${event.type} at ${event.nowMs} ms)`);
    state = step.state;
  });
  return state;
}

/** Running on the active source with data flowing from `fromMs` to `toMs`, ticking every second. */
function flowing(fromMs: number, toMs: number): Step[] {
  const steps: Step[] = [];
  for (let t = fromMs; t <= toMs; t += 1_000) steps.push([data(t), none], [tick(t), none]);
  return steps;
}

test('a stalled source is left for the next after the stall timeout, not before', () => {
  run('stall', 2, [
    [started(0), none], [tick(1_000), none], [data(1_500), none], [tick(6_000), none], [tick(6_499), none], [tick(6_500), sw(1, 'stall')],
    // Nothing runs until the runner starts the next ffmpeg: ticks do nothing.
    [tick(7_000), none], [started(7_100), none],
  ]);
});

test('a source that never delivers is left after the start timeout', () => {
  run('no-start', 3, [[started(0), none], [tick(7_999), none], [tick(8_000), sw(1, 'no-start')], [started(8_100), none], [tick(16_100), sw(2, 'no-start')]]);
});

test('the last source wraps to the first; a single source restarts itself', () => {
  const state = run('wrap', 2, [[started(0), none], [data(1), none], [tick(5_001), sw(1, 'stall')], [started(5_100), none], [data(5_200), none], [tick(10_200), sw(0, 'stall')]]);
  assert.equal(state.active, 0);
  assert.deepEqual(state.retryAtMs, [null, null]);
  run('single', 1, [[started(0), none], [data(1), none], [tick(5_001), sw(0, 'stall')], [started(5_100), none]]);
});

test('fast failures restart the same source until the third, then move on; a long run forgives them', () => {
  run('fast failures', 2, [
    [started(0), none], [exited(2_000), { kind: 'restart' }], [started(2_500), none], [exited(3_000), { kind: 'restart' }],
    [started(4_000), none], [exited(4_100), sw(1, 'failures')], [started(5_000), none],
    // On source 1: fail fast twice, then a long run, then fail fast again: still only a restart.
    [exited(5_500), { kind: 'restart' }], [started(6_000), none], [exited(6_200), { kind: 'restart' }], [started(7_000), none],
    [data(7_500), none], [exited(30_000), { kind: 'restart' }], [started(31_000), none], [exited(31_100), { kind: 'restart' }],
  ]);
  run('one source keeps restarting', 1, [[started(0), none], [exited(1), { kind: 'restart' }], [started(2), none], [exited(3), { kind: 'restart' }], [started(4), none], [exited(5), { kind: 'restart' }]]);
  run('exit while not running is ignored', 1, [[exited(5), none]]);
});

test('the primary is probed only after its rest, and we return only when the probe says it delivers', () => {
  run('return', 2, [
    [started(0), none], [data(500), none], [tick(5_500), sw(1, 'stall')], [started(5_600), none],
    // Backup starting (no data yet): no probe even though time passes.
    ...flowing(6_000, 35_000),
    [data(35_500), none], [tick(35_500), { kind: 'probe', rank: 0 }],
    // One probe at a time.
    [data(36_500), none], [tick(36_500), none],
    [probed(38_000, 0, false), none],
    // Failed probe: the next one after another 30 s.
    ...flowing(39_000, 67_000), [data(68_000), none], [tick(68_000), { kind: 'probe', rank: 0 }],
    [probed(70_000, 0, true), sw(0, 'recovered')], [started(70_100), none],
  ]);
});

test('a primary that stalls again soon after returning rests twice as long, and is trusted again after a stable run', () => {
  const returned: Step[] = [
    [started(0), none], [data(500), none], [tick(5_500), sw(1, 'stall')], [started(5_600), none], ...flowing(6_000, 35_000),
    [data(35_500), none], [tick(35_500), { kind: 'probe', rank: 0 }], [probed(36_000, 0, true), sw(0, 'recovered')], [started(36_100), none], [data(37_000), none],
  ];
  const state = run('flap', 2, [
    ...returned,
    // Stalls 10 s after coming back: a flap.
    [tick(42_000), sw(1, 'stall')], [started(42_100), none],
    ...flowing(43_000, 101_000), [data(101_999), none], [tick(101_999), none], [data(102_000), none], [tick(102_000), { kind: 'probe', rank: 0 }],
    [probed(103_000, 0, true), sw(0, 'recovered')], [started(103_100), none],
    ...flowing(104_000, 163_000),
  ]);
  assert.deepEqual(state.retryAfterMs, [30_000, 30_000], 'stable for 60 s: back to the base rest');
  assert.equal(state.returned, false);
  // The doubling is capped.
  let s: ChoiceState = { ...initialChoice(2, 0), active: 0, running: true, returned: true, activeSinceMs: 0, lastDataAtMs: 0, retryAfterMs: [250_000, 30_000] };
  s = stepChoice(s, tick(5_000)).state;
  assert.deepEqual(s.retryAfterMs, [300_000, 30_000]);
  assert.deepEqual(s.retryAtMs, [305_000, null]);
});

test('three sources: only better ones are probed, the best due first; a stale or moot probe result is ignored', () => {
  run('three', 3, [
    [started(0), none], [data(100), none], [tick(5_100), sw(1, 'stall')], [started(5_200), none], [data(5_300), none],
    [tick(10_300), sw(2, 'stall')], [started(10_400), none], ...flowing(11_000, 34_000),
    // Rank 0 is due at 35,100, rank 1 at 40,300.
    [tick(35_000), none], [data(35_100), none], [tick(35_100), { kind: 'probe', rank: 0 }],
    [probed(36_000, 1, true), none],
    [probed(36_500, 0, false), none],
    [data(40_300), none], [tick(40_300), { kind: 'probe', rank: 1 }],
    [probed(41_000, 1, true), sw(1, 'recovered')], [started(41_100), none], ...flowing(42_000, 66_000),
    // Rank 0 is still resting (failed probe at 36,500: due at 66,500).
    [tick(66_499), none], [data(66_500), none], [tick(66_500), { kind: 'probe', rank: 0 }],
    // The active source stalls while the primary is probed: the probe result still counts.
    [tick(71_500), sw(2, 'stall')], [started(71_600), none], [probed(72_000, 0, true), sw(0, 'recovered')],
  ]);
});

test('sources rank by priority, ties in list order', () => {
  const src = (priority: number) => ({ url: 'udp://239.0.0.1:1', priority, userAgent: null, referrer: null });
  assert.deepEqual(rankSources([src(0), src(10), src(0), src(-1), src(10)]), [1, 4, 0, 2, 3]);
  assert.throws(() => initialChoice(0, 0), RangeError);
});
