// Gateways (pure): at every node's stable URL, for every channel, the public media sequence and
// the newest public number never go back (across that node's restarts too: a restarted gateway
// must continue the numbering, not start it again), and a public number always names the same
// bytes, at every node and at any time - except what a gateway cut off with its channel's old
// worker published before the cluster switched the channel (docs/streams.md: the leader does
// not leave room for numbers it could not be told of, since every failover would then jump):
// a number whose one version was only ever served by nodes under a fault at the time is
// counted apart ('changed by a cut-off gateway'), not as a violation.
//
// Recorded by gateway-watchers.ts: PlaylistWatchers (test/cluster/players.ts) poll each node's
// /live/<stream>/index.m3u8 about once a second; a ListingRecord is written whenever a watcher's
// (media sequence, newest number) changed, so every decrease is recorded; a SegmentRecord when
// a watcher first fetched a public number (its sha256 and EXTINF duration).
import type { CheckResult, FaultRecord } from './types.ts';
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

/** Whether `node` was hit by a fault at `atMs` (from injection to heal; still on at the end). */
function faultedAt(faults: readonly FaultRecord[], node: string, atMs: number): boolean {
  return faults.some((f) => f.nodes.includes(node) && f.injectedAtMs <= atMs && (f.healedAtMs === null || atMs <= f.healedAtMs));
}

export function checkGateways(records: readonly GatewayRecord[], segments: readonly SegmentRecord[], startedAtMs: number, faults: readonly FaultRecord[] = []): CheckResult {
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
  const byNumber = new Map<string, SegmentRecord[]>();
  for (const seg of segments) {
    const key = `${seg.stream} ${seg.n}`;
    const copies = byNumber.get(key) ?? [];
    copies.push(seg);
    byNumber.set(key, copies);
  }
  let changed = 0;
  let changedByCutOff = 0;
  for (const copies of byNumber.values()) {
    const first = copies[0]!;
    const others = copies.filter((c) => c.digest !== first.digest);
    if (others.length === 0) continue;
    const versions = new Map<string, SegmentRecord[]>();
    for (const c of copies) versions.set(c.digest, [...(versions.get(c.digest) ?? []), c]);
    if ([...versions.values()].some((version) => version.every((c) => faultedAt(faults, c.node, c.atMs)))) {
      changedByCutOff++;
      continue;
    }
    changed++;
    for (const c of others) violations.push(`/live/${c.stream}/${c.n}.ts: different bytes at ${c.node} (${sinceStart(c.atMs, startedAtMs)}) than at ${first.node} (${sinceStart(first.atMs, startedAtMs)})`);
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
      'changed segments': changed,
      'changed by a cut-off gateway': changedByCutOff,
      'listed but not served': totals.reduce((sum, t) => sum + t.listedButMissing, 0),
    },
    violations: keptViolations(violations),
  };
}
