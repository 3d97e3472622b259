// The failure detector's arithmetic, as pure functions with a table test (like memberlist's
// suspicionTimeout): how much of the time since a member's last report counts as its silence,
// and which state a silence means. Pure: time comes in as numbers.

/** A member's health as this node sees it. */
export type MemberState = 'alive' | 'suspect' | 'down';

export interface MembershipTiming {
  /** How often the caller calls tick(); the detector's resolution. */
  readonly tickIntervalMs: number;
  /** Silence after which a member is suspect. */
  readonly suspectAfterMs: number;
  /** Silence after which a member is down. */
  readonly downAfterMs: number;
  /** A tick gap longer than tickIntervalMs + this means our own event loop stalled: see
   *  {@link countedGapMs}. */
  readonly stallToleranceMs: number;
  /** Extra silence allowed to a member never heard from since it was added (or since this view
   *  started): connections and the gossip mesh take a moment to form. */
  readonly joinGraceMs: number;
}

// Why these defaults (the issue's target: "a dead node marked down within 3 s, with no false
// down during a 10-minute run under load"), with reports every 1000 ms:
// - A member that dies just after sending a report is silent from then on; we notice at the
//   first tick after downAfterMs, so detection takes at most downAfterMs + tickIntervalMs + the
//   gossip delay (a few ms on a LAN): 2500 + 100 + ~10 = about 2.6 s, leaving 0.4 s of the 3 s
//   for a late tick or a slow network. Ticks are cheap (one pass over the members).
// - suspect at 1500 ms = one report missed plus 500 ms of slack; down at 2500 ms = two reports
//   missed plus 500 ms: a sender's timer must be 1.5 s late (not merely slow: its reports are
//   drift-corrected, so lateness does not accumulate) before anyone calls it down. A GC pause or
//   a CPU-saturated host delays a Node timer by tens of milliseconds, not seconds.
// - Our own stalls do not count (countedGapMs): a tick gap counts up to 500 ms (tick 100 +
//   tolerance 400, so an event loop running late still counts in full), the rest is our fault,
//   and a receiver that was blocked does not blame others for the reports it could not read.
// - joinGraceMs 5000: a node that just started needs about 0.5 s to dial and up to one gossipsub
//   heartbeat (1 s) before the mesh carries its reports; 5 s covers that with room.
export const defaultMembershipTiming: MembershipTiming = {
  tickIntervalMs: 100,
  suspectAfterMs: 1500,
  downAfterMs: 2500,
  stallToleranceMs: 400,
  joinGraceMs: 5000,
};

/**
 * How much of a gap between two of our own ticks counts as silence for the members. Up to
 * `tickIntervalMs + stallToleranceMs` counts in full; beyond that our own loop was blocked (or
 * the clock jumped), and reports that arrived meanwhile are still queued unread in the socket,
 * so the excess is not the members' fault and does not count.
 */
export function countedGapMs(gapMs: number, timing: Pick<MembershipTiming, 'tickIntervalMs' | 'stallToleranceMs'>): number {
  if (gapMs <= 0) return 0;
  return Math.min(gapMs, timing.tickIntervalMs + timing.stallToleranceMs);
}

/** The state a member is in after `silenceMs` of counted silence; `heardEver` is false until its
 *  first report since it was added, which earns it the join grace. */
export function stateForSilence(silenceMs: number, heardEver: boolean, timing: MembershipTiming): MemberState {
  const graceMs = heardEver ? 0 : timing.joinGraceMs;
  if (silenceMs >= timing.downAfterMs + graceMs) return 'down';
  if (silenceMs >= timing.suspectAfterMs + graceMs) return 'suspect';
  return 'alive';
}

/**
 * Whether a report with `seq` replaces what we hold (`lastSeq`, undefined if none). Newer wins;
 * an equal or older one is stale (a duplicate, or overtaken on another path) — except from a
 * member we consider down: a node restarted with its wall clock stepped back would otherwise
 * send lower sequence numbers than before and stay "down" forever. A genuinely old report
 * arriving after 2.5 s of silence is not plausible on a gossip mesh (gossipsub also drops
 * messages it has seen), and at worst it makes the member alive for one more suspect period.
 */
export function acceptsSeq(seq: number, lastSeq: number | undefined, state: MemberState): boolean {
  if (lastSeq === undefined) return true;
  return seq > lastSeq || state === 'down';
}

/** Checks a timing configuration; throws RangeError naming the field to fix. */
export function validateTiming(timing: MembershipTiming): void {
  for (const [name, value] of Object.entries(timing)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`membership ${name} must be a number >= 0 (ms), got ${String(value)}`);
  }
  if (timing.tickIntervalMs <= 0) throw new RangeError(`membership tickIntervalMs must be > 0, got ${timing.tickIntervalMs}`);
  if (timing.suspectAfterMs >= timing.downAfterMs) {
    throw new RangeError(`membership suspectAfterMs (${timing.suspectAfterMs}) must be below downAfterMs (${timing.downAfterMs})`);
  }
  if (timing.suspectAfterMs < timing.tickIntervalMs + timing.stallToleranceMs) {
    throw new RangeError(`membership suspectAfterMs (${timing.suspectAfterMs}) must be at least tickIntervalMs + stallToleranceMs ` +
      `(${timing.tickIntervalMs + timing.stallToleranceMs}), or one late tick makes members suspect`);
  }
}
