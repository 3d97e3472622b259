// The difference between the streams this worker should run and the ones it runs (pure; the
// supervisor carries it out). Like a Kubernetes controller, the caller hands in the whole desired
// set each time, so a missed or repeated call converges on the next one.
import type { Profile, SourceRecord } from '../state/stream-types.ts';
import type { StreamSpec } from './types.ts';

export interface ReconcilePlan {
  /** Desired and not running. Sorted by stream id. */
  readonly starts: readonly StreamSpec[];
  /** Running and no longer desired. Sorted. */
  readonly stops: readonly string[];
  /** Running with a different spec (sources, profile, epoch, segment settings): stop the old
   *  one, then start this. Sorted by stream id. */
  readonly restarts: readonly StreamSpec[];
}

export function reconcile(desired: ReadonlyMap<string, StreamSpec>, running: ReadonlyMap<string, StreamSpec>): ReconcilePlan {
  const starts: StreamSpec[] = [];
  const restarts: StreamSpec[] = [];
  const stops: string[] = [];
  for (const id of [...desired.keys()].sort()) {
    const want = desired.get(id)!;
    if (want.streamId !== id) throw new RangeError(`desired spec under key "${id}" is for stream "${want.streamId}"`);
    const have = running.get(id);
    if (have === undefined) starts.push(want);
    else if (!specsEqual(have, want)) restarts.push(want);
  }
  for (const id of [...running.keys()].sort()) {
    if (!desired.has(id)) stops.push(id);
  }
  return { starts, stops, restarts };
}

/** Same stream, same epoch, same sources in the same order, same profile and segmenting. */
export function specsEqual(a: StreamSpec, b: StreamSpec): boolean {
  return a.streamId === b.streamId && a.epoch === b.epoch && a.segmentS === b.segmentS && a.listSize === b.listSize
    && profilesEqual(a.profile, b.profile) && a.sources.length === b.sources.length && a.sources.every((s, i) => sourcesEqual(s, b.sources[i]!));
}

function profilesEqual(a: Profile, b: Profile): boolean {
  if (a === 'copy' || b === 'copy') return a === b;
  return a.height === b.height && a.videoKbps === b.videoKbps && a.audioKbps === b.audioKbps;
}

function sourcesEqual(a: SourceRecord, b: SourceRecord): boolean {
  return a.url === b.url && a.priority === b.priority && a.userAgent === b.userAgent && a.referrer === b.referrer;
}
