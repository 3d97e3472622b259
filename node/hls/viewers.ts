// Who watches on this node, per viewer line (docs/iptv.md "Connections"): open `.ts` relays and
// HLS sessions (a session counts while its playlist was fetched within sessionIdleMs). The
// cluster-wide count of a line is this node's own count plus what the other members last
// reported in their telemetry (node/gossip/report.ts `viewers`), so any node can refuse the
// (max+1)th viewer. The other members' figures are up to one report interval (1 s) old: viewers
// that connect to different nodes within that second may briefly exceed the limit.
//
// A player that reconnects (a new .ts connection, or a fresh playlist redirect) while its old
// connection still counts would be refused on a line at its limit; so when the limit is reached,
// a viewer of the same line, stream and client address on this node is replaced (its relay
// ends). A new HLS session always replaces the HLS sessions of the same line, stream and address
// (players that reload through the redirecting URL get a new token every time).
import type { MemberState } from '../gossip/timing.ts';
import type { TelemetryReport } from '../gossip/report.ts';

export type ViewerKind = 'ts' | 'hls';

export interface ViewerClaim {
  readonly line: string;
  readonly maxConnections: number;
  readonly streamId: string;
  readonly clientIp: string;
  readonly kind: ViewerKind;
  /** HLS: the session id from the viewer token (the same token keeps one session). */
  readonly sessionId?: string;
  /** Called when a reconnecting viewer replaces this one (end its relay). Must not throw. */
  readonly onReplaced?: () => void;
}

export type Admission =
  | { readonly ok: true; readonly viewerId: string }
  | { readonly ok: false; readonly reason: 'line-full'; readonly active: number; readonly max: number }
  | { readonly ok: false; readonly reason: 'node-full'; readonly max: number };

export interface ViewerRegistryComponents {
  /** Viewers of `line` on the other members, as their last reports said (0 when none). */
  readonly remoteCount?: (line: string) => number;
  /** Wall clock. Default Date.now. */
  readonly nowMs?: () => number;
}

export interface ViewerRegistryInit {
  /** An HLS session whose playlist was not fetched for this long no longer counts. Default
   *  30,000 (players reload a live playlist every target duration). */
  readonly sessionIdleMs?: number;
  /** Viewers this node keeps at once; more are refused. Default 100,000. */
  readonly viewersMax?: number;
  /** Lines in one telemetry report (those with the most viewers). Default 1,000. */
  readonly reportedLinesMax?: number;
}

interface Viewer {
  readonly id: string;
  readonly line: string;
  readonly streamId: string;
  readonly clientIp: string;
  readonly kind: ViewerKind;
  readonly sinceMs: number;
  lastSeenMs: number;
  readonly onReplaced: (() => void) | undefined;
}

/** Synchronous and cheap: routes call it per request. Viewer ids of HLS sessions are their
 *  session ids; `.ts` viewers get `ts-<n>`. */
export class ViewerRegistry {
  readonly #remoteCount: (line: string) => number;
  readonly #nowMs: () => number;
  readonly #sessionIdleMs: number;
  readonly #viewersMax: number;
  readonly #reportedLinesMax: number;
  readonly #viewers = new Map<string, Viewer>();
  readonly #byLine = new Map<string, Set<Viewer>>();
  /** HLS sessions, least recently seen first (a touch moves one to the end). */
  readonly #sessions = new Map<string, Viewer>();
  #nextTsId = 1;

  constructor(components: ViewerRegistryComponents = {}, init: ViewerRegistryInit = {}) {
    this.#remoteCount = components.remoteCount ?? (() => 0);
    this.#nowMs = components.nowMs ?? Date.now;
    this.#sessionIdleMs = init.sessionIdleMs ?? 30_000;
    this.#viewersMax = init.viewersMax ?? 100_000;
    this.#reportedLinesMax = init.reportedLinesMax ?? 1000;
    if (!(this.#sessionIdleMs > 0 && this.#viewersMax > 0 && this.#reportedLinesMax > 0)) throw new RangeError('ViewerRegistry bounds must be > 0');
  }

  /** Counts a new viewer if the line has room cluster-wide (or a viewer of the same line,
   *  stream and address here can make room); otherwise says how many watch. */
  admit(claim: ViewerClaim): Admission {
    const nowMs = this.#nowMs();
    this.#expire(nowMs);
    if (claim.sessionId !== undefined) this.#remove(claim.sessionId);
    // Players that reload a playlist through the /live/<user>/<pass>/<id>.m3u8 URL get a new
    // session each time: it takes the place of the older one from the same address.
    if (claim.kind === 'hls') for (const v of this.#sameViewer(claim)) if (v.kind === 'hls') this.#remove(v.id);
    const active = this.#local(claim.line) + this.#remoteCount(claim.line);
    if (active >= claim.maxConnections) {
      const same = this.#sameViewer(claim).sort((a, b) => a.sinceMs - b.sinceMs)[0];
      if (same === undefined) return { ok: false, reason: 'line-full', active, max: claim.maxConnections };
      this.#remove(same.id);
      same.onReplaced?.();
    }
    if (this.#viewers.size >= this.#viewersMax) return { ok: false, reason: 'node-full', max: this.#viewersMax };
    const id = claim.sessionId ?? `ts-${this.#nextTsId++}`;
    const viewer: Viewer = {
      id, line: claim.line, streamId: claim.streamId, clientIp: claim.clientIp, kind: claim.kind, sinceMs: nowMs, lastSeenMs: nowMs, onReplaced: claim.onReplaced,
    };
    this.#viewers.set(id, viewer);
    let set = this.#byLine.get(claim.line);
    if (set === undefined) this.#byLine.set(claim.line, set = new Set());
    set.add(viewer);
    if (claim.kind === 'hls') this.#sessions.set(id, viewer);
    return { ok: true, viewerId: id };
  }

  /** An HLS session's playlist was fetched: true when it still counts (it is refreshed), false
   *  when it is unknown or idled out here (admit it again). */
  touchSession(sessionId: string): boolean {
    const nowMs = this.#nowMs();
    this.#expire(nowMs);
    const viewer = this.#sessions.get(sessionId);
    if (viewer === undefined) return false;
    viewer.lastSeenMs = nowMs;
    this.#sessions.delete(sessionId);
    this.#sessions.set(sessionId, viewer);
    return true;
  }

  /** The viewer left (its relay ended). Unknown ids are ignored. */
  release(viewerId: string): void {
    this.#remove(viewerId);
  }

  /** Viewers of `line` in the whole cluster, as far as this node knows. */
  active(line: string): number {
    this.#expire(this.#nowMs());
    return this.#local(line) + this.#remoteCount(line);
  }

  /** Viewers of `line` on this node. */
  local(line: string): number {
    this.#expire(this.#nowMs());
    return this.#local(line);
  }

  /** For this node's telemetry: viewers per line (lines with none left out), the lines with
   *  the most viewers first when there are more than reportedLinesMax. A null-prototype record. */
  figures(): Record<string, number> {
    this.#expire(this.#nowMs());
    const lines = [...this.#byLine].map(([line, set]) => [line, set.size] as const).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const out = Object.create(null) as Record<string, number>;
    for (const [line, count] of lines.slice(0, this.#reportedLinesMax)) out[line] = count;
    return out;
  }

  /** Viewers kept here, by kind. */
  counts(): { ts: number; hls: number } {
    this.#expire(this.#nowMs());
    return { ts: this.#viewers.size - this.#sessions.size, hls: this.#sessions.size };
  }

  /** Viewers of the claim's line and stream from the same address. */
  #sameViewer(claim: ViewerClaim): Viewer[] {
    return [...this.#byLine.get(claim.line) ?? []].filter((v) => v.streamId === claim.streamId && v.clientIp === claim.clientIp);
  }

  #local(line: string): number {
    return this.#byLine.get(line)?.size ?? 0;
  }

  #expire(nowMs: number): void {
    for (const viewer of this.#sessions.values()) {
      if (nowMs - viewer.lastSeenMs < this.#sessionIdleMs) break;
      this.#remove(viewer.id);
    }
  }

  #remove(id: string): void {
    const viewer = this.#viewers.get(id);
    if (viewer === undefined) return;
    this.#viewers.delete(id);
    this.#sessions.delete(id);
    const set = this.#byLine.get(viewer.line)!;
    set.delete(viewer);
    if (set.size === 0) this.#byLine.delete(viewer.line);
  }
}

/** What remoteCount needs of the gossip membership view (TelemetryGossip.membership). */
export interface ViewerReports {
  state(id: string): MemberState | undefined;
  lastReport(id: string): TelemetryReport | undefined;
}

/** Sums `line`'s viewers over the other members' last reports, leaving out members seen down
 *  (their viewers are gone with them). `memberIds` is read per call (the applied state). */
export function remoteViewerCount(reports: () => ViewerReports | null, memberIds: () => Iterable<string>, selfId: string): (line: string) => number {
  return (line) => {
    const view = reports();
    if (view === null) return 0;
    let total = 0;
    for (const id of memberIds()) {
      if (id === selfId || view.state(id) === 'down') continue;
      const viewers = view.lastReport(id)?.viewers;
      if (viewers !== undefined && Object.hasOwn(viewers, line)) total += viewers[line]!;
    }
    return total;
  };
}
