// The membership view (memberlist-style failure detector): who is alive, suspect or down, from
// the telemetry reports this node received. Pure: the caller feeds reports and ticks with
// `nowMs` from a monotonic clock, and acts on the transitions it gets back.
//
// Silence is measured in this node's own running time, not wall time: each tick adds at most
// tickIntervalMs + stallToleranceMs (countedGapMs), so a node whose event loop was blocked does
// not mark others down for reports it could not read while blocked.
import type { TelemetryReport } from './report.ts';
import { acceptsSeq, countedGapMs, defaultMembershipTiming, stateForSilence, validateTiming } from './timing.ts';
import type { MemberState, MembershipTiming } from './timing.ts';

export interface Transition {
  readonly id: string;
  readonly from: MemberState;
  readonly to: MemberState;
  /** The caller's nowMs when it happened. */
  readonly atMs: number;
  /** Counted silence at that moment (0 for a recovery by a report). */
  readonly silenceMs: number;
}

export type ObserveResult =
  | { readonly accepted: true; readonly transition: Transition | null }
  | { readonly accepted: false; readonly reason: 'not-member' | 'stale' };

export interface MemberSnapshot {
  readonly id: string;
  readonly state: MemberState;
  /** Counted silence since its last report (or since it was added, if never heard). */
  readonly silenceMs: number;
  /** Its newest report, null until one arrived. */
  readonly report: TelemetryReport | null;
}

interface Member {
  state: MemberState;
  /** `#countedMs` at the member's last report (or when it was added). */
  heardAtCountedMs: number;
  report: TelemetryReport | null;
}

/**
 * Who owns what: the caller owns the member list (setMembers, from the applied cluster state)
 * and the clock; the view owns per-member state. Reports are stored as given (not copied): do
 * not mutate them. Nothing here blocks or throws on input; a bad configuration throws
 * RangeError in the constructor.
 */
export class MembershipView {
  readonly timing: MembershipTiming;
  readonly #members = new Map<string, Member>();
  /** Our own running time: the sum of counted tick gaps. */
  #countedMs = 0;
  #lastTickMs: number | undefined;

  constructor(timing: Partial<MembershipTiming> = {}) {
    this.timing = { ...defaultMembershipTiming, ...timing };
    validateTiming(this.timing);
  }

  /** Replace the member list. New members start alive, with the join grace until their first
   *  report; members no longer listed are forgotten (no transition is reported for them). */
  setMembers(ids: Iterable<string>, nowMs: number): void {
    const keep = new Set(ids);
    for (const id of this.#members.keys()) {
      if (!keep.has(id)) this.#members.delete(id);
    }
    for (const id of keep) {
      if (this.#members.has(id)) continue;
      this.#members.set(id, { state: 'alive', heardAtCountedMs: this.#countedNow(nowMs), report: null });
    }
  }

  /** Take a received (already validated) report. Ignored if its node is not a member or its seq
   *  is stale; otherwise it becomes the member's newest report and the member is alive. */
  observe(report: TelemetryReport, nowMs: number): ObserveResult {
    const member = this.#members.get(report.nodeId);
    if (member === undefined) return { accepted: false, reason: 'not-member' };
    if (!acceptsSeq(report.seq, member.report?.seq, member.state)) return { accepted: false, reason: 'stale' };
    member.report = report;
    member.heardAtCountedMs = this.#countedNow(nowMs);
    if (member.state === 'alive') return { accepted: true, transition: null };
    const transition: Transition = { id: report.nodeId, from: member.state, to: 'alive', atMs: nowMs, silenceMs: 0 };
    member.state = 'alive';
    return { accepted: true, transition };
  }

  /** Advance time: call every `timing.tickIntervalMs`. Returns the members whose state changed
   *  (alive -> suspect, suspect -> down, or straight alive -> down after a long gap), in the
   *  order of the member list. */
  tick(nowMs: number): Transition[] {
    this.#countedMs = this.#countedNow(nowMs);
    this.#lastTickMs = nowMs;
    const transitions: Transition[] = [];
    for (const [id, member] of this.#members) {
      const silenceMs = this.#countedMs - member.heardAtCountedMs;
      const next = stateForSilence(silenceMs, member.report !== null, this.timing);
      // Only a report makes a member healthier (observe): silence only makes it worse.
      if (rank(next) <= rank(member.state)) continue;
      transitions.push({ id, from: member.state, to: next, atMs: nowMs, silenceMs });
      member.state = next;
    }
    return transitions;
  }

  /** The member's state, undefined if it is not a member. */
  state(id: string): MemberState | undefined {
    return this.#members.get(id)?.state;
  }

  /** The member's newest accepted report, undefined if none (or not a member). */
  lastReport(id: string): TelemetryReport | undefined {
    return this.#members.get(id)?.report ?? undefined;
  }

  /** Every member, sorted by id. */
  snapshot(): MemberSnapshot[] {
    return [...this.#members.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, m]) => ({ id, state: m.state, silenceMs: Math.max(0, this.#countedMs - m.heardAtCountedMs), report: m.report }));
  }

  /** Our running time at `nowMs`, counting the part of the current tick gap that counts. */
  #countedNow(nowMs: number): number {
    if (this.#lastTickMs === undefined) return this.#countedMs;
    return this.#countedMs + countedGapMs(nowMs - this.#lastTickMs, this.timing);
  }
}

function rank(state: MemberState): number {
  return state === 'alive' ? 0 : state === 'suspect' ? 1 : 2;
}
