// What the supervisor is asked to run: one spec per stream, as the node derives it from its
// applied assignment (the worker named with that epoch) and the stream's service settings.
import type { Profile, SourceRecord } from '../state/stream-types.ts';

export interface StreamSpec {
  /** A slug (see stream-rules.ts slugPattern): it becomes a directory name. */
  readonly streamId: string;
  /** The assignment's epoch: each epoch writes into its own directory, numbering from 0. */
  readonly epoch: number;
  /** In the stream's order; the figures name the source in use by its index in this list. */
  readonly sources: readonly SourceRecord[];
  readonly profile: Profile;
  /** ffmpeg's target segment duration (the service's HLS segmentS). */
  readonly segmentS: number;
  /** Segments listed in the worker's own playlist (ffmpeg deletes older ones): what a gateway
   *  that fell behind can still fetch. */
  readonly listSize: number;
}

/** Worker playlists keep at least this many segments, whatever the public window. */
export const workerListSizeMin = 6;

/** The worker list size for a service window: the public window plus room for a gateway that
 *  is a few segments behind. */
export function workerListSize(windowSegments: number): number {
  return Math.max(workerListSizeMin, windowSegments + 3);
}
