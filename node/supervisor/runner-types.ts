// The StreamRunner's options (with their defaults), collaborators, events and figures.
import type { StreamStatus } from '../gossip/report.ts';
import { stderrLinesDefault } from './line-ring.ts';
import type { RestartPolicyConfig } from './restart-policy.ts';
import { defaultSourceChoice } from './source-choice.ts';
import type { SourceChoiceConfig, SwitchReason } from './source-choice.ts';
import type { StreamSpec } from './types.ts';

/** Tuning shared by every runner of a supervisor; each field's default is in {@link runnerDefaults}. */
export interface RunnerOptions {
  /** No progress for this long: the source stalled; move to the next one. */
  readonly stallTimeoutMs?: number;
  /** No progress at all this long after a start: the source does not deliver. */
  readonly startTimeoutMs?: number;
  /** Lines of ffmpeg's stderr kept. */
  readonly stderrLines?: number;
  /** How often cpu and memory are sampled and the stall and probe timers are checked. */
  readonly sampleIntervalMs?: number;
  /** Fallback poll of the playlist (fs.watch reports changes at once where it works). */
  readonly pollMs?: number;
  /** SIGTERM, then SIGKILL after this long. */
  readonly stopGraceMs?: number;
  /** Seconds of media a probe of a better source must read to count as delivering. */
  readonly probeS?: number;
  /** A probe that has not finished by then failed. */
  readonly probeTimeoutMs?: number;
  /** The status is `failed` after this many starts in a row produced no segment (retries go on). */
  readonly failedAfterStarts?: number;
  readonly restart?: Partial<RestartPolicyConfig>;
  /** Source failover and return (stallTimeoutMs / startTimeoutMs above take precedence). */
  readonly choice?: Partial<SourceChoiceConfig>;
}

export const runnerDefaults = {
  stallTimeoutMs: defaultSourceChoice.stallTimeoutMs,
  startTimeoutMs: defaultSourceChoice.startTimeoutMs,
  stderrLines: stderrLinesDefault,
  sampleIntervalMs: 1_000,
  pollMs: 1_000,
  stopGraceMs: 2_000,
  probeS: 2,
  probeTimeoutMs: 10_000,
  failedAfterStarts: 3,
} as const;

export interface StreamRunnerComponents {
  /** Default 'ffmpeg' from PATH. */
  readonly ffmpegPath?: string;
  /** util-linux setpriv for the parent-death signal; null runs ffmpeg directly (then only
   *  killLeftovers ends an orphan). Default '/usr/bin/setpriv' where it exists. */
  readonly setprivPath?: string | null;
  /** Random values in [0, 1) for the restart jitter. Default Math.random. */
  readonly random?: () => number;
}

export interface StreamRunnerInit extends RunnerOptions {
  readonly spec: StreamSpec;
  /** The epoch directory (absolute); created if missing. */
  readonly dir: string;
  /** Called synchronously on every change; must not throw. */
  readonly onEvent?: (event: RunnerEvent) => void;
}

export type RunnerEvent =
  | { readonly type: 'status'; readonly status: StreamStatus }
  | { readonly type: 'segment'; readonly index: number }
  /** `index`: into spec.sources. */
  | { readonly type: 'source'; readonly index: number; readonly reason: SwitchReason | 'initial' }
  | { readonly type: 'started'; readonly pid: number; readonly startNumber: number }
  | { readonly type: 'exit'; readonly code: number | null; readonly signal: string | null; readonly runMs: number; readonly expected: boolean };

export interface RunnerFigures {
  readonly status: StreamStatus;
  readonly cpuPct?: number;
  readonly memBytes?: number;
  readonly outKbps?: number;
  readonly inKbps?: number;
  readonly lastSegment?: number;
  readonly restarts: number;
  /** Index into spec.sources of the source in use. */
  readonly source: number;
  readonly pid?: number;
}

