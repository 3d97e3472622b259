// Reads ffmpeg's `-progress` output: blocks of key=value lines, each closed by `progress=continue`
// (or `progress=end` when ffmpeg finishes). Pure: the caller hands in text as it arrives. With the
// HLS muxer `total_size` and `bitrate` are `N/A` (measured on ffmpeg 5.1): `out_time_us` is what
// shows that media is flowing.

/** Longest line kept while waiting for its end; a longer one is dropped (ffmpeg never writes
 *  one: this only bounds memory if something else writes to the pipe). */
export const progressLineCharsMax = 4096;

export interface ProgressBlock {
  /** Output timestamp reached, in microseconds; null when ffmpeg printed N/A. */
  readonly outTimeUs: number | null;
  readonly totalSizeBytes: number | null;
  readonly bitrateKbps: number | null;
  /** Processing speed relative to real time (1 = real time). */
  readonly speed: number | null;
  readonly frame: number | null;
  /** `progress=end`: ffmpeg is finishing. */
  readonly ended: boolean;
}

export class ProgressParser {
  #partial = '';
  #fields = new Map<string, string>();

  /** Feed text; returns the blocks it completed, in order. */
  push(text: string): ProgressBlock[] {
    const blocks: ProgressBlock[] = [];
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    if (this.#partial.length > progressLineCharsMax) this.#partial = '';
    for (const raw of lines) {
      const line = raw.trimEnd();
      const eq = line.indexOf('=');
      if (eq <= 0 || line.length > progressLineCharsMax) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).trim();
      if (key === 'progress') {
        blocks.push(toBlock(this.#fields, value === 'end'));
        this.#fields = new Map();
      } else if (this.#fields.size < 64) {
        this.#fields.set(key, value);
      }
    }
    return blocks;
  }
}

function toBlock(fields: ReadonlyMap<string, string>, ended: boolean): ProgressBlock {
  return {
    outTimeUs: number(fields.get('out_time_us')),
    totalSizeBytes: number(fields.get('total_size')),
    // "1234.5kbits/s"
    bitrateKbps: number(fields.get('bitrate')?.replace(/kbits\/s$/, '')),
    // "1.01x"
    speed: number(fields.get('speed')?.replace(/x$/, '')),
    frame: number(fields.get('frame')),
    ended,
  };
}

function number(value: string | undefined): number | null {
  if (value === undefined || value === '' || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
