// The empty state, and safe lookups in its id-keyed records. Pure.
import { defaultSettings } from './settings.ts';
import type { HlsSettings } from './stream-types.ts';
import type { ClusterState } from './types.ts';

/** HLS settings of streams in no service until an operator changes them: 2 s segments (what the
 *  failover measurements in ../shared/NOTES.md used), 6 in the window (12 s: 3 target durations
 *  and margin), segments proxied through the gateways, no signing. */
export const defaultHls: HlsSettings = { segmentS: 2, windowSegments: 6, mode: 'proxy', signingSecret: null };

/** The channel part of the state before any channel exists (also what an older snapshot lacks). */
export const emptyChannels = {
  streams: {}, services: {}, groups: {}, policy: {}, hls: defaultHls, nodeAdmin: {}, assignments: {}, lastEpoch: 0,
} as const satisfies Partial<ClusterState>;

/** The viewer lines before any exists (also what a snapshot from before issue 5 lacks). */
export const emptyLines = { lines: {} } as const satisfies Partial<ClusterState>;

/** The audit log before anything was recorded (also what a snapshot from before it lacks). */
export const emptyAudit = { audit: [] } as const satisfies Partial<ClusterState>;

/** No session revoked (also what a snapshot from before logouts were replicated lacks). */
export const emptyRevokedSessions = { revokedSessions: {} } as const satisfies Partial<ClusterState>;

/** The state before InitCluster: no cluster id, no members, default settings. */
export function emptyState(): ClusterState {
  return { clusterId: '', nodes: {}, joinTokens: {}, users: {}, apiTokens: {}, settings: defaultSettings, ...emptyChannels, ...emptyLines, ...emptyAudit, ...emptyRevokedSessions };
}

/** True once InitCluster has been applied. */
export function isInitialized(state: ClusterState): boolean {
  return state.clusterId !== '';
}

/** `record[key]` when it is the record's own entry. Keys can come from the network (a joining
 *  node names its token id), and `record['constructor']` would otherwise find Object's. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A copy of `record` with `key` set to `value`. */
export function withEntry<T>(record: Readonly<Record<string, T>>, key: string, value: T): Readonly<Record<string, T>> {
  // A computed key defines an own entry even for "__proto__" (assignment would set the prototype).
  return { ...record, [key]: value };
}

/** A copy of `record` without the keys `drop` accepts. One pass, whatever the number dropped. */
export function withoutEntries<T>(record: Readonly<Record<string, T>>, drop: (key: string, value: T) => boolean): Readonly<Record<string, T>> {
  const copy: Record<string, T> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!drop(key, value)) copy[key] = value;
  }
  return copy;
}

/** A copy of `record` without `key`. */
export function withoutEntry<T>(record: Readonly<Record<string, T>>, key: string): Readonly<Record<string, T>> {
  const copy: Record<string, T> = { ...record };
  delete copy[key];
  return copy;
}
