// Gateways (pure): at every node's stable URL, for every channel, the public media sequence and
// the newest public number never go back (across that node's restarts too: a restarted gateway
// must continue the numbering, not start it again), and a public number always names the same
// bytes, at every node and at any time.
//
// Recorded by gateway-watchers.ts: PlaylistWatchers (test/cluster/players.ts) poll each node's
// /live/<stream>/index.m3u8 about once a second; a ListingRecord is written whenever a watcher's
// (media sequence, newest number) changed, so every decrease is recorded; a SegmentRecord when
// a watcher first fetched a public number (its sha256 and EXTINF duration).
import type { CheckResult } from './types.ts';
import { keptViolations, sinceStart } from './check-format.ts';

export interface ListingRecord {
  readonly type: 'listing';
  readonly atMs: number;
  readonly node: string;
  readonly stream: string;
  /** EXT-X-MEDIA-SEQUENCE. */
  readonly seq: number;
  /** The newest public number listed (-1: none). */
  readonly last: number;
}

/** Per watcher, at the end: how many listings it fetched and which listed segments failed. */
export interface WatcherTotalRecord {
  readonly type: 'total';
  readonly node: string;
  readonly stream: string;
  readonly listings: number;
  readonly listedButMissing: number;
}

export type GatewayRecord = ListingRecord | WatcherTotalRecord;

export interface SegmentRecord {
  readonly atMs: number;
  readonly node: string;
  readonly stream: string;
  readonly n: number;
  readonly digest: string;
  readonly durationS: number;
}

export function checkGateways(records: readonly GatewayRecord[], segments: readonly SegmentRecord[], startedAtMs: number): CheckResult {
  const violations: string[] = [];
  const lastBy = new Map<string, ListingRecord>();
  let reversals = 0;
  for (const r of records) {
    if (r.type !== 'listing') continue;
    const key = `${r.node} ${r.stream}`;
    const prev = lastBy.get(key);
    if (prev !== undefined && (r.seq < prev.seq || r.last < prev.last)) {
      reversals++;
      violations.push(`${r.node} /live/${r.stream}: went back at ${sinceStart(r.atMs, startedAtMs)}: media sequence ${prev.seq} -> ${r.seq}, newest ${prev.last} -> ${r.last}`);
    }
    // Against the previous listing, as a player polling this node sees it: a gateway that
    // restarts its numbering is one reversal, not one per listing until it catches up.
    lastBy.set(key, r);
  }
  const byNumber = new Map<string, SegmentRecord>();
  const changed = new Set<string>();
  for (const s of segments) {
    const key = `${s.stream} ${s.n}`;
    const first = byNumber.get(key);
    if (first === undefined) byNumber.set(key, s);
    else if (first.digest !== s.digest) {
      changed.add(key);
      violations.push(`/live/${s.stream}/${s.n}.ts: different bytes at ${s.node} (${sinceStart(s.atMs, startedAtMs)}) than at ${first.node} (${sinceStart(first.atMs, startedAtMs)})`);
    }
  }
  const totals = records.filter((r): r is WatcherTotalRecord => r.type === 'total');
  return {
    name: 'gateways',
    ok: violations.length === 0,
    figures: {
      watchers: totals.length,
      'listings seen': totals.reduce((sum, t) => sum + t.listings, 0),
      'listing changes': records.length - totals.length,
      reversals,
      'public numbers fetched': byNumber.size,
      'changed segments': changed.size,
      'listed but not served': totals.reduce((sum, t) => sum + t.listedButMissing, 0),
    },
    violations: keptViolations(violations),
  };
}
