// Table tests of the restart backoff (restart-policy.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { afterExit, backoffDelayMs, defaultRestartPolicy, initialRestartState } from '../../node/supervisor/restart-policy.ts';
import type { RestartState } from '../../node/supervisor/restart-policy.ts';

test('delay doubles per consecutive failure up to the cap (no jitter at random 0.5)', () => {
  const table: [failures: number, delayMs: number][] = [
    [0, 0], [1, 500], [2, 1_000], [3, 2_000], [4, 4_000], [5, 8_000], [6, 16_000], [7, 30_000], [8, 30_000], [1_000, 30_000],
  ];
  for (const [failures, delayMs] of table) assert.equal(backoffDelayMs(failures, 0.5), delayMs, `failures ${failures}`);
});

test('jitter spreads the delay by +/- jitterRatio and never passes the cap', () => {
  const table: [failures: number, random01: number, delayMs: number][] = [
    [1, 0, 400], [1, 0.999999, 600], [1, 0.25, 450], [3, 0, 1_600], [3, 1, 2_400],
    [7, 0, 24_000], [7, 0.99, 30_000], [20, 1, 30_000],
    // Out-of-range randomness is clamped; NaN counts as no jitter.
    [1, -5, 400], [1, 7, 600], [1, Number.NaN, 500],
  ];
  for (const [failures, random01, delayMs] of table) assert.equal(backoffDelayMs(failures, random01), delayMs, `failures ${failures} random ${random01}`);
});

test('a stable run resets the count; short runs add up', () => {
  const stable = defaultRestartPolicy.stableRunMs;
  const runs: [runMs: number, failures: number, delayMs: number][] = [
    [100, 1, 500], [2_000, 2, 1_000], [29_999, 3, 2_000], [stable, 1, 500], [50, 2, 1_000], [10 * stable, 1, 500],
  ];
  let state: RestartState = initialRestartState;
  for (const [runMs, failures, delayMs] of runs) {
    const decision = afterExit(state, runMs, 0.5);
    assert.equal(decision.state.failures, failures, `run ${runMs}`);
    assert.equal(decision.delayMs, delayMs, `run ${runMs}`);
    state = decision.state;
  }
});

test('a custom policy is honoured', () => {
  const config = { initialDelayMs: 100, multiplier: 3, maxDelayMs: 1_000, jitterRatio: 0, stableRunMs: 5_000 };
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelayMs(n, 0.9, config)), [100, 300, 900, 1_000]);
  assert.equal(afterExit({ failures: 9 }, 5_000, 0.5, config).delayMs, 100);
});
