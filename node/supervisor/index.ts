// The supervisor package's public face: ffmpeg on a worker, one runner per stream.
export { InvalidStreamSpecError, UnsafeSourceError } from './errors.ts';
export { buildFfmpegArgs, buildProbeArgs, checkSourceUrl, inputArgs, isHlsUrl, playlistName, segmentPrefix } from './ffmpeg-args.ts';
export type { FfmpegArgsSpec } from './ffmpeg-args.ts';
export { killLeftovers, pidFileName } from './pid-files.ts';
export { parseWorkerPlaylist } from './playlist-watch.ts';
export { reconcile, specsEqual } from './reconcile.ts';
export type { ReconcilePlan } from './reconcile.ts';
export { defaultRestartPolicy } from './restart-policy.ts';
export type { RestartPolicyConfig } from './restart-policy.ts';
export { defaultSourceChoice } from './source-choice.ts';
export type { SourceChoiceConfig } from './source-choice.ts';
export { runnerDefaults, StreamRunner } from './stream-runner.ts';
export type { RunnerEvent, RunnerFigures, RunnerOptions, StreamRunnerComponents, StreamRunnerInit } from './stream-runner.ts';
export { retainStoppedDefaultMs, streamDir, Supervisor } from './supervisor.ts';
export type { SupervisorComponents, SupervisorInit } from './supervisor.ts';
export { workerListSize, workerListSizeMin } from './types.ts';
export type { StreamSpec } from './types.ts';
