// Table tests for the failure detector's arithmetic (like memberlist's suspicion timeout test).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptsSeq, countedGapMs, defaultMembershipTiming, stateForSilence, validateTiming } from '../../node/gossip/timing.ts';
import type { MemberState, MembershipTiming } from '../../node/gossip/timing.ts';

const timing = defaultMembershipTiming;

describe('membership timing', () => {
  it('counts a tick gap in full up to tickInterval + stallTolerance, no more', () => {
    const table: Array<[gapMs: number, countedMs: number]> = [
      [-5, 0], // a clock that went back counts nothing
      [0, 0],
      [250, 250],
      [400, 400], // a late tick still counts
      [500, 500],
      [501, 500], // beyond this our own loop was stalled
      [3000, 500],
      [60_000, 500],
    ];
    for (const [gapMs, countedMs] of table) assert.equal(countedGapMs(gapMs, timing), countedMs, `gap ${gapMs}`);
  });

  it('maps silence to a state, with the join grace until the first report', () => {
    const table: Array<[silenceMs: number, heardEver: boolean, state: MemberState]> = [
      [0, true, 'alive'],
      [1499, true, 'alive'],
      [1500, true, 'suspect'],
      [2499, true, 'suspect'],
      [2500, true, 'down'],
      [99_999, true, 'down'],
      [2500, false, 'alive'],
      [6499, false, 'alive'],
      [6500, false, 'suspect'],
      [7499, false, 'suspect'],
      [7500, false, 'down'],
    ];
    for (const [silenceMs, heardEver, state] of table) {
      assert.equal(stateForSilence(silenceMs, heardEver, timing), state, `silence ${silenceMs} heard ${heardEver}`);
    }
  });

  it('meets the issue target: a node dying right after a report is down within 3 s', () => {
    // Worst case: silence starts at its last report; we notice at the first tick past downAfterMs.
    const worstDetectionMs = timing.downAfterMs + timing.tickIntervalMs;
    assert.ok(worstDetectionMs < 3000, `${worstDetectionMs} ms leaves room for the gossip delay`);
    // And a sender may be this late before it is called down: two reports missed plus slack.
    assert.ok(timing.downAfterMs - 1000 >= 1500);
  });

  it('accepts newer sequence numbers, and older ones only from a down member', () => {
    const table: Array<[seq: number, lastSeq: number | undefined, state: MemberState, accepted: boolean]> = [
      [5, undefined, 'alive', true],
      [6, 5, 'alive', true],
      [5, 5, 'alive', false], // duplicate
      [4, 5, 'suspect', false], // overtaken
      [4, 5, 'down', true], // restarted with its clock stepped back
      [9, 5, 'down', true],
    ];
    for (const [seq, lastSeq, state, accepted] of table) {
      assert.equal(acceptsSeq(seq, lastSeq, state), accepted, `seq ${seq} after ${lastSeq} when ${state}`);
    }
  });

  it('refuses configurations that cannot work, naming the field', () => {
    const bad: Array<[Partial<MembershipTiming>, RegExp]> = [
      [{ suspectAfterMs: 3000 }, /suspectAfterMs \(3000\) must be below downAfterMs/],
      [{ tickIntervalMs: 0 }, /tickIntervalMs must be > 0/],
      [{ downAfterMs: Number.NaN }, /downAfterMs must be a number/],
      [{ suspectAfterMs: 400 }, /at least tickIntervalMs \+ stallToleranceMs/],
    ];
    for (const [patch, message] of bad) assert.throws(() => validateTiming({ ...timing, ...patch }), message);
    validateTiming(timing);
  });
});
