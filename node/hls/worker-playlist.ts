// Reading a worker's own media playlist (what ffmpeg's HLS muxer writes into
// <streamsRoot>/<stream>/<epoch>/index.m3u8). Pure and tolerant: the gateway only needs each
// segment's index k (from its file name, seg-<k>.ts: ffmpeg's own count, which the public
// numbering is built on), its duration, and the flags ffmpeg sets. Lines it does not know are
// skipped; a segment without a usable EXTINF or name is skipped; the playlist is bounded.
import { parseIsoMs } from './date-time.ts';

/** Longer text is refused: a worker playlist lists a few segments (about 100 bytes each). */
export const workerPlaylistCharsMax = 256 * 1024;
/** At most this many segments are kept (the last ones): bounds the work of one poll. */
export const workerSegmentsMax = 500;
/** An EXTINF above this is not a live segment: skipped. */
export const segmentDurationSMax = 600;
/** Segment indexes are safe integers of at most 15 digits (ffmpeg counts from 0 up). */
const segmentNamePattern = /(?:^|\/)seg-(\d{1,15})\.ts(?:[?#].*)?$/;

export interface WorkerSegment {
  /** ffmpeg's index of the segment in this epoch (seg-<k>.ts). */
  readonly k: number;
  readonly durationS: number;
  /** The URI as the playlist wrote it (relative to the playlist). */
  readonly uri: string;
  /** ffmpeg marked it (EXT-X-DISCONTINUITY): a restarted ffmpeg within the epoch (discont_start). */
  readonly discontinuity: boolean;
  /** Its EXT-X-PROGRAM-DATE-TIME, ms since 1970; null when absent or unreadable. */
  readonly pdtMs: number | null;
}

export interface WorkerPlaylist {
  /** EXT-X-MEDIA-SEQUENCE (0 when absent). Informative: k comes from the segment names. */
  readonly mediaSequence: number;
  readonly targetDurationS: number | null;
  /** EXT-X-ENDLIST was present: this ffmpeg wrote its last segment. */
  readonly ended: boolean;
  /** Ascending by k, without duplicates. */
  readonly segments: readonly WorkerSegment[];
}

export class WorkerPlaylistError extends Error {
  override readonly name = 'WorkerPlaylistError';
}

/** Parses a worker's playlist. Throws WorkerPlaylistError when the text is not an M3U
 *  playlist at all or is larger than {@link workerPlaylistCharsMax}; anything else is tolerated. */
export function parseWorkerPlaylist(text: string): WorkerPlaylist {
  if (text.length > workerPlaylistCharsMax) throw new WorkerPlaylistError(`the worker playlist has ${text.length} characters, more than ${workerPlaylistCharsMax}: is this an HLS media playlist?`);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (!body.startsWith('#EXTM3U')) {
    const start = body.length === 0 ? 'it is empty' : `it starts with ${JSON.stringify(body.slice(0, 40))}`;
    throw new WorkerPlaylistError(`the worker playlist does not start with #EXTM3U (${start})`);
  }
  let mediaSequence = 0;
  let targetDurationS: number | null = null;
  let ended = false;
  // Tags that apply to the next URI line (EXTINF, DISCONTINUITY and PDT may come in any order).
  let durationS: number | null = null;
  let discontinuity = false;
  let pdtMs: number | null = null;
  const byK = new Map<number, WorkerSegment>();
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const colon = line.indexOf(':');
      const tag = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1);
      switch (tag) {
        case '#EXTINF': durationS = readDuration(value); break;
        case '#EXT-X-DISCONTINUITY': discontinuity = true; break;
        case '#EXT-X-PROGRAM-DATE-TIME': pdtMs = parseIsoMs(value); break;
        case '#EXT-X-MEDIA-SEQUENCE': mediaSequence = readCount(value) ?? mediaSequence; break;
        case '#EXT-X-TARGETDURATION': targetDurationS = readCount(value) ?? targetDurationS; break;
        case '#EXT-X-ENDLIST': ended = true; break;
        default: break;
      }
      continue;
    }
    const match = segmentNamePattern.exec(line);
    const k = match === null ? null : Number(match[1]);
    if (k !== null && Number.isSafeInteger(k) && durationS !== null) {
      byK.set(k, { k, durationS, uri: line, discontinuity, pdtMs });
    }
    durationS = null;
    discontinuity = false;
    pdtMs = null;
  }
  const segments = [...byK.values()].sort((a, b) => a.k - b.k).slice(-workerSegmentsMax);
  return { mediaSequence, targetDurationS, ended, segments };
}

/** `1.000000,` or `2,title` -> seconds; null when not a positive finite duration in range. */
function readDuration(value: string): number | null {
  const comma = value.indexOf(',');
  const number = (comma < 0 ? value : value.slice(0, comma)).trim();
  if (!/^\d+(?:\.\d+)?$/.test(number)) return null;
  const seconds = Number(number);
  return seconds > 0 && seconds <= segmentDurationSMax ? seconds : null;
}

function readCount(value: string): number | null {
  if (!/^\d{1,15}$/.test(value.trim())) return null;
  return Number(value.trim());
}
