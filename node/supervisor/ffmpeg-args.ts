// The ffmpeg command line for one stream, built from its source and profile (pure, golden-tested
// in test/supervisor/golden). ffmpeg is always run with an argument array, never through a shell,
// and every source is checked here again, right before it would reach ffmpeg, so that a state
// that skipped validation still cannot make ffmpeg read a local file or run a protocol chain.
import { sourceUrlProblem } from '../state/stream-rules.ts';
import type { Profile, SourceRecord, SourceScheme } from '../state/stream-types.ts';
import { InvalidStreamSpecError, UnsafeSourceError } from './errors.ts';

/** Probe limits: ffmpeg's defaults (5 MB, 5 s) delay the first segment by about 2 s (NOTES.md).
 *  Copy into HLS works with what 0.5 s shows even when the video size is still unknown. */
export const probeBytes = 500_000;
export const analyzeDurationUs = 500_000;
/** A probe (is this source delivering?) is no hurry, and writing to the null muxer it fails
 *  when the video size is still unknown, as it is when 0.5 s from mid-GOP shows no keyframe
 *  (seen in CI: "dimensions not set", with keyframes 1 s apart): it may look at 2 s, the keyframe
 *  interval of most live sources. */
export const probeCheckBytes = 2_000_000;
export const probeCheckAnalyzeUs = 2_000_000;
/** How often ffmpeg writes a progress block to stdout: the stall detector's resolution. */
export const progressPeriodS = 0.5;
/** HTTP reconnects give up after this many seconds, well inside the stall timeout, so a dead
 *  server ends in an exit rather than a silent wait. */
export const reconnectDelayMaxS = 2;
/** UDP receive ring in 188-byte packets (about 9 MB, some seconds of a 20 Mb/s multiplex): a
 *  short pause of ffmpeg must not drop input. */
export const udpFifoPackets = 50_000;

export const playlistName = 'index.m3u8';
export const segmentPrefix = 'seg-';

export interface FfmpegArgsSpec {
  readonly source: SourceRecord;
  readonly profile: Profile;
  /** Absolute directory that receives the playlist and the segments (no '%', no trailing '/'). */
  readonly dir: string;
  readonly segmentS: number;
  readonly listSize: number;
  /** ffmpeg's index of the first segment: 0 for a new epoch, last + 1 when ffmpeg is restarted
   *  within one (the numbering of an epoch never restarts: public number = base + index). */
  readonly startNumber: number;
}

/** Protocols ffmpeg may open for each scheme, including what an HLS playlist points at (its
 *  segments and AES keys): a remote playlist can never make ffmpeg open `file:` or `pipe:`. */
const protocolWhitelist: Record<SourceScheme, string> = {
  http: 'http,https,tcp,tls,crypto',
  https: 'http,https,tcp,tls,crypto',
  udp: 'udp',
  rtp: 'rtp,udp',
  rtmp: 'rtmp,tcp',
  rtmps: 'rtmps,rtmp,tcp,tls',
  srt: 'srt',
};

/** Another ffmpeg protocol or a chain of them, anywhere after the scheme: `|` (concat's
 *  separator), or a protocol name followed by `:` or `,` as ffmpeg writes nested protocols
 *  (`concat:`, `subfile,,`, `file:`, `pipe:`). A host and port (`http://cache:8080`) is not
 *  one: a colon followed by a digit is a port. */
const chainPattern = /\||(?<![a-z0-9+.-])(?:concatf?|subfile|file|pipe|data|fd|async|cache|crypto|hls|tee)(?::(?!\d)|,)/i;

/** The scheme of a URL that may be given to ffmpeg; throws UnsafeSourceError otherwise. */
export function checkSourceUrl(url: string): SourceScheme {
  if (url.startsWith('-')) throw new UnsafeSourceError(url, 'it starts with "-" and would be read as an option');
  const problem = sourceUrlProblem(url);
  if (problem !== null) throw new UnsafeSourceError(url, problem);
  const schemeEnd = url.indexOf('://');
  const chain = chainPattern.exec(url.slice(schemeEnd + 3));
  if (chain !== null) throw new UnsafeSourceError(url, `it contains "${chain[0]}", which ffmpeg could read as another protocol`);
  return url.slice(0, schemeEnd).toLowerCase() as SourceScheme;
}

/** True for an http(s) URL whose path names an HLS playlist. */
export function isHlsUrl(url: string): boolean {
  const path = url.split(/[?#]/, 1)[0]?.toLowerCase() ?? '';
  return /^https?:/.test(path) && (path.endsWith('.m3u8') || path.endsWith('.m3u'));
}

/** Global options and the input part: everything up to and including `-i <url>`. */
export function inputArgs(source: SourceRecord, limits = { bytes: probeBytes, analyzeUs: analyzeDurationUs }): string[] {
  const scheme = checkSourceUrl(source.url);
  for (const [what, value] of [['user agent', source.userAgent], ['referrer', source.referrer]] as const) {
    if (value !== null && hasControlChar(value)) throw new UnsafeSourceError(source.url, `its ${what} contains a line break or control character`);
  }
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+info',
    // Progress blocks on stdout feed the stall detector and the figures.
    '-progress', 'pipe:1', '-stats_period', String(progressPeriodS),
    '-probesize', String(limits.bytes), '-analyzeduration', String(limits.analyzeUs),
    '-protocol_whitelist', protocolWhitelist[scheme],
  ];
  switch (scheme) {
    case 'http':
    case 'https':
      if (source.userAgent !== null) args.push('-user_agent', source.userAgent);
      if (source.referrer !== null) args.push('-headers', `Referer: ${source.referrer}\r\n`);
      args.push('-reconnect', '1', '-reconnect_on_network_error', '1', '-reconnect_delay_max', String(reconnectDelayMaxS));
      // A live MPEG-TS response never ends: reconnect it too. An HLS playlist's segments are
      // finite files, so the flag would only retry a segment that really ended.
      if (!isHlsUrl(source.url)) args.push('-reconnect_streamed', '1');
      break;
    case 'udp':
      // Multicast groups are joined from the address itself (udp://239.1.1.1:1234).
      args.push('-fifo_size', String(udpFifoPackets), '-overrun_nonfatal', '1');
      break;
    case 'rtp':
      break;
    case 'rtmp':
    case 'rtmps':
      args.push('-rtmp_live', 'live');
      break;
    case 'srt':
      break;
  }
  args.push('-i', source.url);
  return args;
}

function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Video and audio options for a profile. */
export function codecArgs(profile: Profile, segmentS: number): string[] {
  if (profile === 'copy') return ['-c', 'copy'];
  const { height, videoKbps, audioKbps } = profile;
  return [
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    // -2: the width that keeps the aspect ratio, rounded to an even number (x264 needs it).
    '-vf', `scale=-2:${height}`,
    '-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps * 2}k`,
    // A keyframe exactly at every segment boundary, and no other: scene cuts off, and a GOP
    // ceiling that no frame rate up to 60 reaches before the next forced keyframe.
    '-force_key_frames', `expr:gte(t,n_forced*${segmentS})`, '-sc_threshold', '0', '-g', String(Math.ceil(segmentS * 60)),
    // Stereo: what every web and set-top player decodes.
    '-c:a', 'aac', '-b:a', `${audioKbps}k`, '-ac', '2',
  ];
}

/** The whole command line (without the program name) for one stream on one source. */
export function buildFfmpegArgs(spec: FfmpegArgsSpec): string[] {
  const { dir, segmentS, listSize, startNumber } = spec;
  if (!dir.startsWith('/') || dir.endsWith('/') || dir.includes('%')) {
    throw new InvalidStreamSpecError(dir, 'its directory must be absolute, without a trailing "/" or "%"');
  }
  if (!(segmentS > 0) || !Number.isInteger(listSize) || listSize < 1 || !Number.isSafeInteger(startNumber) || startNumber < 0) {
    throw new InvalidStreamSpecError(dir, `segmentS ${segmentS}, listSize ${listSize} and startNumber ${startNumber} must be positive whole numbers`);
  }
  // temp_file: a segment is written as .tmp and renamed when complete, so a listed segment is
  // always whole. omit_endlist: an ffmpeg that ends does not end the stream (the next one
  // continues its numbering). discont_start after a restart: the new process starts new timestamps.
  const flags = ['delete_segments', 'independent_segments', 'temp_file', 'omit_endlist', 'program_date_time'];
  if (startNumber > 0) flags.push('discont_start');
  return [
    ...inputArgs(spec.source),
    // Subtitle and data tracks (teletext, SCTE-35) break or bloat the HLS output: dropped.
    '-sn', '-dn',
    ...codecArgs(spec.profile, segmentS),
    '-f', 'hls', '-hls_time', String(segmentS), '-hls_list_size', String(listSize),
    '-hls_flags', flags.join('+'),
    '-hls_segment_filename', `${dir}/${segmentPrefix}%d.ts`, '-start_number', String(startNumber),
    `${dir}/${playlistName}`,
  ];
}

/** A short check that a source delivers: read `probeS` seconds of its media and discard them.
 *  Exit code 0 means it delivered; the caller bounds the wait. */
export function buildProbeArgs(source: SourceRecord, probeS: number): string[] {
  return [...inputArgs(source, { bytes: probeCheckBytes, analyzeUs: probeCheckAnalyzeUs }), '-map', '0', '-c', 'copy', '-t', String(probeS), '-f', 'null', '-'];
}
