// The public media playlist's text (RFC 8216; ../shared/IPTV-CONVENTIONS.md section 4). Pure:
// the timeline decides what is listed, this only writes it down.
import { formatIsoMs } from './date-time.ts';

/** Version 3: decimal EXTINF durations. Nothing written here needs more (6 would be for
 *  EXT-X-MAP, i.e. fMP4 segments, which the workers do not make). */
export const playlistVersion = 3;

export interface PlaylistSegment {
  /** Public media sequence number; the URI is `<n>.ts`. */
  readonly n: number;
  readonly durationS: number;
  /** Preceded by EXT-X-DISCONTINUITY. */
  readonly discontinuity: boolean;
  /** Its EXT-X-PROGRAM-DATE-TIME, ms since 1970 (written on every segment). */
  readonly pdtMs: number;
}

export interface PlaylistView {
  /** Never changes for a stream (RFC 8216 §6.2.1). */
  readonly targetDurationS: number;
  /** The number of the first segment listed. */
  readonly mediaSequence: number;
  /** DISCONTINUITY tags that have left the window (RFC 8216 §6.2.2). */
  readonly discontinuitySequence: number;
  /** Contiguous numbers from mediaSequence on. */
  readonly segments: readonly PlaylistSegment[];
}

/** The playlist text. `query` (without '?', e.g. `exp=..&sig=..`) is appended to every segment
 *  URI: a signed viewer's segment requests carry the same signature. No ENDLIST and no
 *  PLAYLIST-TYPE: a live sliding window (RFC 8216 §6.2.2). Lines end in LF, no BOM. */
export function renderPlaylist(view: PlaylistView, query = ''): string {
  const suffix = query === '' ? '.ts\n' : `.ts?${query}\n`;
  const lines = [
    '#EXTM3U\n',
    `#EXT-X-VERSION:${playlistVersion}\n`,
    `#EXT-X-TARGETDURATION:${view.targetDurationS}\n`,
    `#EXT-X-MEDIA-SEQUENCE:${view.mediaSequence}\n`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${view.discontinuitySequence}\n`,
  ];
  for (const s of view.segments) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY\n');
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${formatIsoMs(s.pdtMs)}\n`, `#EXTINF:${s.durationS.toFixed(3)},\n`, `${s.n}${suffix}`);
  }
  return lines.join('');
}
