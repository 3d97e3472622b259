// One stream's public timeline on one gateway (docs/streams.md "Public numbering across
// switches"): which segment each public number names, and the sliding window the public playlist
// lists. Pure: the poller feeds it the applied assignment, the segments it copied from the worker
// or from a peer, and the time; it answers with what became public.
//
// The rules, and why:
// - Segment k of the active epoch gets number base + (k - firstIndex): every gateway derives the
//   same number from the replicated state, whatever it saw before.
// - Nothing of a sealed epoch is published after the seal: the leader switches at one past the
//   highest number any gateway reported, so a later one would collide with the next epoch.
// - Numbers are listed without gaps, and never twice or backwards (players follow the media
//   sequence only). A number below the new base that this gateway never published (or one of the
//   active epoch that rolled off the worker's list before it was copied) is a hole: it is fetched
//   from a peer (missing()), and until then the playlist stays where it was. If no peer
//   has it within holeWaitMs (or the gap is longer than holesMax), the window restarts after it
//   with a DISCONTINUITY: a forward jump players survive, instead of a playlist stuck for good.
// - The first segment of an epoch (and any segment after an ffmpeg restart or a jump) carries
//   DISCONTINUITY; every segment has a PROGRAM-DATE-TIME, continuous inside a run and never
//   going back at a discontinuity.
import type { PlaylistSegment, PlaylistView } from './playlist.ts';

export interface TimelineInit {
  /** The service's segment duration; the target duration is it rounded up, fixed for life. */
  readonly segmentS: number;
  /** Segments in the public window (kept longer when they add up to less than 3 targets). */
  readonly windowSegments: number;
  /** How long holes may hold the playlist still before it jumps past them. Default 2 targets. */
  readonly holeWaitMs?: number;
  /** Longer gaps are not fetched from peers: the window restarts at once. Default: two windows
   *  (and at least 8): a gateway that fell that far behind lists what peers still cache, so its
   *  players catch up instead of jumping. */
  readonly holesMax?: number;
  /** Segments held back behind a hole. Default {@link defaultPendingMax}. */
  readonly pendingMax?: number;
}

/** Held-back segments are a stall of a few seconds at most (holeWaitMs): a handful. */
export const defaultPendingMax = 16;
/** lastPublished() remembers this many epochs. */
export const epochsKeptMax = 16;

/** The applied assignment, as far as the gateway needs it. */
export interface TimelineAssignment {
  readonly epoch: number;
  readonly base: number;
  readonly sealed: boolean;
  readonly nodeId: string;
  /** The worker's index that gets number `base`. Default 0 (docs/streams.md: base + k). */
  readonly firstIndex?: number;
}

/** What is known of a segment, whoever delivered it. */
export interface SegmentFacts {
  readonly epoch: number;
  readonly k: number;
  readonly durationS: number;
  /** The worker marked it (ffmpeg restarted inside the epoch with new timestamps). */
  readonly workerDiscontinuity: boolean;
  /** The worker's date-time of its start, when it wrote one. */
  readonly pdtMs: number | null;
}

export interface PublicSegment extends PlaylistSegment {
  readonly epoch: number;
  readonly k: number;
  readonly workerDiscontinuity: boolean;
}

/** The playlist view, with each segment's origin. */
export interface TimelineView extends PlaylistView {
  readonly segments: readonly PublicSegment[];
}

export interface Published<P> {
  readonly segment: PublicSegment;
  readonly payload: P;
}

/** What applyAssignment() changed: `sealed` means the seal of the active epoch is now applied
 *  (report it at once); `new-epoch` a first assignment or a switch; `stale` an older epoch. */
export type AssignmentChange = 'none' | 'stale' | 'new-epoch' | 'sealed';

export interface TimelineStats {
  published: number;
  fromPeers: number;
  /** Times the window restarted past numbers no peer had. */
  jumps: number;
  /** Numbers of a new epoch this gateway had already given to older segments (the leader's
   *  base was below what it published: it was cut off and not fenced in time). Skipped. */
  conflicts: number;
  /** Segments whose duration rounds above the target duration (RFC 8216 §4.3.3.1). */
  overlong: number;
  /** Held-back segments dropped because pendingMax was reached. */
  pendingDropped: number;
}

interface Pending<P> {
  readonly facts: SegmentFacts;
  readonly payload: P;
  readonly fromPeer: boolean;
}

/** Call order is free; every method runs to completion, never blocks and throws only on a bad
 *  init (RangeError). The caller owns payloads: they are handed back when their segment is
 *  published, and forgotten when it is not. */
export class StreamTimeline<P> {
  readonly targetDurationS: number;
  readonly stats: TimelineStats = { published: 0, fromPeers: 0, jumps: 0, conflicts: 0, overlong: 0, pendingDropped: 0 };
  #windowSegments: number;
  readonly #holeWaitMs: number;
  readonly #holesMax: number;
  readonly #pendingMax: number;
  #active: Required<TimelineAssignment> | null = null;
  #window: PublicSegment[] = [];
  #windowS = 0;
  #last: PublicSegment | null = null;
  #discontinuitySequence = 0;
  #version = 0;
  readonly #pending = new Map<number, Pending<P>>();
  readonly #perEpoch = new Map<number, number>();
  #holesSinceMs: number | null = null;

  constructor(init: TimelineInit) {
    if (!(init.segmentS > 0) || !Number.isInteger(init.windowSegments) || init.windowSegments < 1) {
      throw new RangeError(`a timeline needs segmentS > 0 and windowSegments >= 1, got ${init.segmentS} and ${init.windowSegments}`);
    }
    this.targetDurationS = Math.ceil(init.segmentS);
    this.#windowSegments = init.windowSegments;
    this.#holeWaitMs = init.holeWaitMs ?? 2 * this.targetDurationS * 1000;
    this.#holesMax = init.holesMax ?? Math.max(8, 2 * init.windowSegments);
    this.#pendingMax = init.pendingMax ?? defaultPendingMax;
  }

  /** Grows with every change of the window: a rendered playlist is valid while it is equal. */
  get version(): number {
    return this.#version;
  }

  /** The active epoch as last applied (null before the first assignment). */
  get active(): Required<TimelineAssignment> | null {
    return this.#active;
  }

  /** The highest number published (of any epoch); null before the first. */
  lastPublished(epoch?: number): number | null {
    if (epoch === undefined) return this.#last?.n ?? null;
    return this.#perEpoch.get(epoch) ?? null;
  }

  /** True once nothing more of `epoch` will be published here. */
  sealApplied(epoch: number): boolean {
    const a = this.#active;
    return a !== null && (epoch < a.epoch || (epoch === a.epoch && a.sealed));
  }

  /** The window changes only by additions at the end and removals at the front (or, after a
   *  jump, a restart). Callers render from this view, which is a copy. */
  view(): TimelineView {
    const first = this.#window[0];
    return {
      targetDurationS: this.targetDurationS,
      mediaSequence: first?.n ?? (this.#last === null ? 0 : this.#last.n + 1),
      discontinuitySequence: this.#discontinuitySequence,
      segments: this.#window.slice(),
    };
  }

  /** A segment in the window, by number. */
  segment(n: number): PublicSegment | undefined {
    const first = this.#window[0];
    return first === undefined ? undefined : this.#window[n - first.n];
  }

  /** The window length may change (a service setting); the target duration never does. */
  setWindowSegments(windowSegments: number): void {
    if (Number.isInteger(windowSegments) && windowSegments >= 1) this.#windowSegments = windowSegments;
  }

  applyAssignment(a: TimelineAssignment, nowMs: number): AssignmentChange {
    const current = this.#active;
    if (current !== null && a.epoch < current.epoch) return 'stale';
    if (current !== null && a.epoch === current.epoch) {
      if (!a.sealed || current.sealed) return 'none';
      this.#active = { ...current, sealed: true };
      this.#dropPendingOf(current.epoch);
      this.#updateHoleClock(nowMs);
      return 'sealed';
    }
    if (current !== null) this.#dropPendingOf(current.epoch);
    this.#active = { epoch: a.epoch, base: a.base, sealed: a.sealed, nodeId: a.nodeId, firstIndex: a.firstIndex ?? 0 };
    if (this.#last !== null && a.base <= this.#last.n) this.stats.conflicts += this.#last.n - a.base + 1;
    this.#updateHoleClock(nowMs);
    return a.sealed ? 'sealed' : 'new-epoch';
  }

  /** The number worker segment k of `epoch` would get now; null when it would not be taken
   *  (not the active epoch, sealed, already published or held). Ask before fetching its bytes. */
  wants(epoch: number, k: number): number | null {
    const a = this.#active;
    if (a === null || a.sealed || epoch !== a.epoch || !Number.isSafeInteger(k) || k < a.firstIndex) return null;
    const n = a.base + (k - a.firstIndex);
    if ((this.#last !== null && n <= this.#last.n) || this.#pending.has(n)) return null;
    return n;
  }

  /** The worker's listed segments worth copying now, oldest first (those wants() takes). A
   *  gateway that has published nothing yet (it just started or restarted, or the stream is new
   *  to it) takes only the newest that fill one window: the worker lists a few more than the
   *  window, and a restarted gateway starting at the oldest would list numbers below what its
   *  players were given before the restart (a media sequence going back). */
  toCopy<S extends { readonly k: number; readonly durationS: number }>(epoch: number, listed: readonly S[]): S[] {
    const wanted = listed.filter((s) => this.wants(epoch, s.k) !== null);
    if (this.#last !== null || this.#pending.size > 0) return wanted;
    let from = wanted.length;
    let durationS = 0;
    while (from > 0 && (wanted.length - from < this.#windowSegments || durationS < 3 * this.targetDurationS)) {
      from--;
      durationS += Math.max(0, wanted[from]!.durationS);
    }
    return wanted.slice(from);
  }

  /** A segment copied from the active worker. Returns what became public, in order. */
  addWorkerSegment(epoch: number, segment: { readonly k: number; readonly durationS: number; readonly discontinuity: boolean; readonly pdtMs: number | null }, payload: P, nowMs: number): Published<P>[] {
    const n = this.wants(epoch, segment.k);
    if (n === null || !(segment.durationS > 0)) return [];
    const facts: SegmentFacts = { epoch, k: segment.k, durationS: segment.durationS, workerDiscontinuity: segment.discontinuity, pdtMs: segment.pdtMs };
    this.#pending.set(n, { facts, payload, fromPeer: false });
    return this.#drain(nowMs);
  }

  /** Numbers this gateway must fetch from a peer before it can list more, ascending (at most
   *  holesMax; empty when the gap is longer: the window will restart instead). */
  missing(): number[] {
    if (this.#last === null) return [];
    const next = this.#last.n + 1;
    let end = this.#active === null ? next : this.#active.base;
    for (const n of this.#pending.keys()) end = Math.max(end, n);
    if (end - next > this.#holesMax) return [];
    const holes: number[] = [];
    for (let n = next; n < end; n++) if (!this.#pending.has(n)) holes.push(n);
    return holes;
  }

  /** Segment `n` from a peer's cache (the peer says which epoch and index it is). Taken only
   *  when it fills a hole and agrees with what this gateway knows of that epoch. */
  addPeerSegment(n: number, facts: SegmentFacts, payload: P, nowMs: number): Published<P>[] {
    const a = this.#active;
    if (!this.missing().includes(n) || !(facts.durationS > 0)) return [];
    if (a !== null && (facts.epoch > a.epoch || (facts.epoch === a.epoch && n !== a.base + facts.k - a.firstIndex))) return [];
    this.#pending.set(n, { facts, payload, fromPeer: true });
    return this.#drain(nowMs);
  }

  /** Lets waited-out holes go (call every poll). */
  tick(nowMs: number): Published<P>[] {
    return this.#drain(nowMs);
  }

  #drain(nowMs: number): Published<P>[] {
    const out: Published<P>[] = [];
    while (this.#pending.size > 0) {
      const next = this.#last === null ? null : this.#last.n + 1;
      let n = next;
      let jumped = false;
      if (n === null || !this.#pending.has(n)) {
        const lowest = Math.min(...this.#pending.keys());
        if (next !== null) {
          const waited = this.#holesSinceMs !== null && nowMs - this.#holesSinceMs >= this.#holeWaitMs;
          if (this.missing().length > 0 && !waited) break;
          jumped = true;
          this.stats.jumps++;
        }
        n = lowest;
      }
      const pending = this.#pending.get(n)!;
      this.#pending.delete(n);
      out.push({ segment: this.#publish(n, pending, jumped, nowMs), payload: pending.payload });
    }
    this.#trimPending();
    // The wait is counted from the last time the playlist moved, not from the first hole.
    if (out.length > 0) this.#holesSinceMs = null;
    this.#updateHoleClock(nowMs);
    return out;
  }

  #publish(n: number, { facts, fromPeer }: Pending<P>, jumped: boolean, nowMs: number): PublicSegment {
    const prev = this.#last;
    const discontinuity = prev !== null && (jumped || prev.epoch !== facts.epoch || facts.workerDiscontinuity);
    const prevEndMs = prev === null ? null : prev.pdtMs + Math.round(prev.durationS * 1000);
    let pdtMs: number;
    if (prevEndMs !== null && !discontinuity) pdtMs = prevEndMs;
    else {
      const own = Math.round(facts.pdtMs ?? nowMs - facts.durationS * 1000);
      pdtMs = prevEndMs === null ? own : Math.max(own, prevEndMs);
    }
    const segment: PublicSegment = { ...facts, n, discontinuity, pdtMs };
    if (jumped) {
      for (const s of this.#window) if (s.discontinuity) this.#discontinuitySequence++;
      this.#window = [];
      this.#windowS = 0;
    }
    this.#window.push(segment);
    this.#windowS += segment.durationS;
    this.#trimWindow();
    this.#last = segment;
    this.#perEpoch.set(facts.epoch, n);
    if (this.#perEpoch.size > epochsKeptMax) this.#perEpoch.delete(Math.min(...this.#perEpoch.keys()));
    this.#version++;
    this.stats.published++;
    if (fromPeer) this.stats.fromPeers++;
    if (Math.round(facts.durationS) > this.targetDurationS) this.stats.overlong++;
    return segment;
  }

  /** Removes from the front while more than windowSegments remain and the rest still covers
   *  3 target durations (RFC 8216 §6.2.2); a tagged segment leaving counts in the sequence. */
  #trimWindow(): void {
    while (this.#window.length > this.#windowSegments) {
      const first = this.#window[0]!;
      if (this.#windowS - first.durationS < 3 * this.targetDurationS) break;
      this.#window.shift();
      this.#windowS -= first.durationS;
      if (first.discontinuity) this.#discontinuitySequence++;
    }
  }

  #dropPendingOf(epoch: number): void {
    for (const [n, p] of this.#pending) if (p.facts.epoch === epoch && !p.fromPeer) this.#pending.delete(n);
  }

  /** Beyond pendingMax the highest numbers go: the lowest are the ones that unblock first. */
  #trimPending(): void {
    while (this.#pending.size > this.#pendingMax) {
      this.#pending.delete(Math.max(...this.#pending.keys()));
      this.stats.pendingDropped++;
    }
  }

  #updateHoleClock(nowMs: number): void {
    const blocked = this.missing().length > 0 || (this.#pending.size > 0 && this.#last !== null);
    if (!blocked) this.#holesSinceMs = null;
    else this.#holesSinceMs ??= nowMs;
  }
}
