// "Probe source": read a few seconds of a source with the same ffmpeg input options a worker
// would use, and say what came in (the input's streams) or why not (ffmpeg's last lines). For the
// dashboard's troubleshooting; run on the node the operator picks (where the stream would run).
import { execa } from 'execa';

import type { SourceRecord } from '../state/stream-types.ts';
import { buildProbeArgs } from './ffmpeg-args.ts';

export const probeSecondsDefault = 5;
/** Bound on the whole probe: opening a dead source times out well before it. */
export const probeTimeoutMs = 20_000;
const linesKept = 40;

export interface ProbeResult {
  readonly ok: boolean;
  /** ffmpeg's description of the input's streams ("Stream #0:0: Video: h264 ..."). */
  readonly streams: readonly string[];
  /** ffmpeg's last lines (the reason, when it failed). */
  readonly lines: readonly string[];
  readonly ms: number;
}

/** Throws UnsafeSourceError for a URL a worker would refuse too. */
export async function probeSource(source: SourceRecord, probeS = probeSecondsDefault): Promise<ProbeResult> {
  const args = buildProbeArgs(source, probeS);
  const started = performance.now();
  const result = await execa('ffmpeg', args, { reject: false, timeout: probeTimeoutMs, stdin: 'ignore', stdout: 'ignore', stripFinalNewline: true });
  const lines = String(result.stderr ?? '').split(/\r?\n/).filter((l) => l.trim() !== '');
  return {
    ok: result.exitCode === 0,
    // The input's streams: the lines before ffmpeg describes its (null) output.
    streams: lines.slice(0, inputEnd(lines)).filter((l) => /Stream #\d+:\d+/.test(l)).map((l) => l.replace(/^\[\w+\]\s*/, '').trim()).slice(0, 16),
    lines: (result.timedOut ? [...lines, `probe stopped after ${probeTimeoutMs} ms`] : lines).slice(-linesKept),
    ms: Math.round(performance.now() - started),
  };
}

function inputEnd(lines: readonly string[]): number {
  const i = lines.findIndex((l) => /Output #\d+/.test(l));
  return i < 0 ? lines.length : i;
}
