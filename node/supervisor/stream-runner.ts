// Runs one stream on this worker: ffmpeg (through execa, an argument array, never a shell) from the
// chosen source into <dir>/index.m3u8 + seg-<k>.ts, and everything around it: progress and stall
// detection, source failover and return (source-choice.ts), restarts with backoff
// (restart-policy.ts), the stderr tail, new segments, cpu and memory of the ffmpeg process.
// ffmpeg is started through ffmpeg-process.ts, which also makes it die with this process.
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { StreamStatus } from '../gossip/report.ts';
import { buildFfmpegArgs, buildProbeArgs, inputArgs } from './ffmpeg-args.ts';
import { defaultSetpriv, spawnFfmpeg, terminate } from './ffmpeg-process.ts';
import type { FfmpegSubprocess, Stdio } from './ffmpeg-process.ts';
import { LineRing } from './line-ring.ts';
import { writePidFile, removePidFile } from './pid-files.ts';
import { highestSegmentOnDisk, PlaylistWatcher, pruneSegments } from './playlist-watch.ts';
import type { NewSegment } from './playlist-watch.ts';
import { ProcSampler } from './proc-stats.ts';
import { ProgressParser } from './progress.ts';
import type { ProgressBlock } from './progress.ts';
import { runnerDefaults } from './runner-types.ts';
import type { RunnerEvent, RunnerFigures, RunnerOptions, StreamRunnerComponents, StreamRunnerInit } from './runner-types.ts';
import { afterExit, defaultRestartPolicy, initialRestartState } from './restart-policy.ts';
import type { RestartPolicyConfig, RestartState } from './restart-policy.ts';
import { defaultSourceChoice, initialChoice, rankSources, stepChoice } from './source-choice.ts';
import type { ChoiceAction, ChoiceEvent, ChoiceState, SourceChoiceConfig } from './source-choice.ts';
import type { StreamSpec } from './types.ts';

export type { RunnerEvent, RunnerFigures, RunnerOptions, StreamRunnerComponents, StreamRunnerInit } from './runner-types.ts';
export { runnerDefaults } from './runner-types.ts';

/** The stall timer fires this much after the deadline, so that the reducer (which compares
 *  times) sees the deadline passed despite timer rounding. */
const deadlineSlackMs = 5;
/** Segments averaged for the output bitrate. */
const bitrateWindowSegments = 5;
/** Routine ffmpeg lines that would push the ones explaining a failure out of the tail. */
const stderrNoise = /\] \[info\] (?:Opening '|Skip \(')/;

interface Running {
  readonly sub: FfmpegSubprocess;
  readonly pid: number;
  readonly startedAtMs: number;
  readonly startNumber: number;
  /** Set when we end it: its exit is not a failure. */
  stopping: boolean;
  /** Output time reached; media flows while it grows (the first block says 0: header written). */
  lastOutTimeUs: number;
  delivered: boolean;
  readonly done: Promise<void>;
}

export class StreamRunner {
  readonly spec: StreamSpec;
  readonly dir: string;
  readonly #ffmpegPath: string;
  readonly #setprivPath: string | null;
  readonly #random: () => number;
  readonly #options: Required<Omit<RunnerOptions, 'restart' | 'choice'>>;
  readonly #restartConfig: RestartPolicyConfig;
  readonly #choiceConfig: SourceChoiceConfig;
  readonly #onEvent: (event: RunnerEvent) => void;
  readonly #ranks: number[];
  readonly #ring: LineRing;
  #status: StreamStatus = 'starting';
  #choice: ChoiceState;
  #restart: RestartState = initialRestartState;
  #proc: Running | null = null;
  #probe: { sub: FfmpegSubprocess; rank: number } | null = null;
  #sampler: ProcSampler | null = null;
  #watcher: PlaylistWatcher | null = null;
  #tickTimer: NodeJS.Timeout | null = null;
  #launchTimer: NodeJS.Timeout | null = null;
  /** Fires at the start or stall deadline of the running ffmpeg (re-armed by progress), so a
   *  stall is noticed on time rather than at the next sampling tick. */
  #deadlineTimer: NodeJS.Timeout | null = null;
  #launching = false;
  #stopped = false;
  #starts = 0;
  #startsWithoutSegment = 0;
  #lastSegment: number | null = null;
  #recent: NewSegment[] = [];
  #cpuPct: number | undefined;
  #memBytes: number | undefined;

  /** Throws UnsafeSourceError if any source may not be given to ffmpeg: nothing is started. */
  constructor(components: StreamRunnerComponents, init: StreamRunnerInit) {
    this.spec = init.spec;
    this.dir = init.dir;
    for (const source of init.spec.sources) inputArgs(source);
    this.#ffmpegPath = components.ffmpegPath ?? 'ffmpeg';
    this.#setprivPath = components.setprivPath === undefined ? defaultSetpriv() : components.setprivPath;
    this.#random = components.random ?? Math.random;
    this.#options = {
      stallTimeoutMs: init.stallTimeoutMs ?? runnerDefaults.stallTimeoutMs,
      startTimeoutMs: init.startTimeoutMs ?? runnerDefaults.startTimeoutMs,
      stderrLines: init.stderrLines ?? runnerDefaults.stderrLines,
      sampleIntervalMs: init.sampleIntervalMs ?? runnerDefaults.sampleIntervalMs,
      pollMs: init.pollMs ?? runnerDefaults.pollMs,
      stopGraceMs: init.stopGraceMs ?? runnerDefaults.stopGraceMs,
      probeS: init.probeS ?? runnerDefaults.probeS,
      probeTimeoutMs: init.probeTimeoutMs ?? runnerDefaults.probeTimeoutMs,
      failedAfterStarts: init.failedAfterStarts ?? runnerDefaults.failedAfterStarts,
    };
    this.#restartConfig = { ...defaultRestartPolicy, ...init.restart };
    this.#choiceConfig = {
      ...defaultSourceChoice, ...init.choice, stallTimeoutMs: this.#options.stallTimeoutMs, startTimeoutMs: this.#options.startTimeoutMs,
    };
    this.#onEvent = init.onEvent ?? (() => undefined);
    this.#ranks = rankSources(init.spec.sources);
    this.#ring = new LineRing(this.#options.stderrLines, stderrNoise);
    this.#choice = initialChoice(this.#ranks.length, performance.now(), this.#choiceConfig);
  }

  get status(): StreamStatus {
    return this.#status;
  }

  /** Index into spec.sources of the source in use. */
  get sourceIndex(): number {
    return this.#ranks[this.#choice.active]!;
  }

  /** The pid of the running ffmpeg, if one runs. */
  get pid(): number | null {
    return this.#proc?.pid ?? null;
  }

  /** Creates the directory and starts ffmpeg on the best source. Rejects only if the directory
   *  cannot be created or read. */
  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const onDisk = await highestSegmentOnDisk(this.dir);
    this.#lastSegment = onDisk;
    this.#watcher = new PlaylistWatcher({ dir: this.dir, pollMs: this.#options.pollMs, afterIndex: onDisk ?? -1, onSegment: (s) => this.#onSegment(s) });
    this.#watcher.start();
    this.#tickTimer = setInterval(() => this.#tick(), this.#options.sampleIntervalMs);
    this.#emit({ type: 'source', index: this.sourceIndex, reason: 'initial' });
    await this.#launch();
  }

  /** SIGTERM to ffmpeg (and a running probe), SIGKILL after stopGraceMs; resolves when it exited. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#tickTimer !== null) clearInterval(this.#tickTimer);
    if (this.#launchTimer !== null) clearTimeout(this.#launchTimer);
    this.#disarm();
    this.#watcher?.stop();
    this.#probe?.sub.kill();
    const proc = this.#proc;
    if (proc !== null) {
      proc.stopping = true;
      terminate(proc.sub, proc.done);
      await proc.done;
    }
    this.#setStatus('stopped');
  }

  /** ffmpeg's last stderr lines (oldest first), with the supervisor's own notes. */
  stderrTail(): string[] {
    return this.#ring.lines();
  }

  figures(): RunnerFigures {
    const running = this.#proc !== null;
    const outKbps = this.#status === 'running' ? this.#outKbps() : undefined;
    return {
      status: this.#status,
      restarts: Math.max(0, this.#starts - 1),
      source: this.sourceIndex,
      ...(running && this.#cpuPct !== undefined ? { cpuPct: this.#cpuPct } : {}),
      ...(running && this.#memBytes !== undefined ? { memBytes: this.#memBytes } : {}),
      ...(outKbps !== undefined ? { outKbps } : {}),
      // Remuxing passes the input through: what comes out is what came in (within a few % of
      // container overhead). A transcode's input rate is not visible to the supervisor.
      ...(outKbps !== undefined && this.spec.profile === 'copy' ? { inKbps: outKbps } : {}),
      ...(this.#lastSegment !== null ? { lastSegment: this.#lastSegment } : {}),
      ...(this.#proc !== null ? { pid: this.#proc.pid } : {}),
    };
  }

  async #launch(): Promise<void> {
    if (this.#stopped || this.#proc !== null || this.#launching) return;
    this.#launching = true;
    try {
      // The previous ffmpeg's final playlist may list a last (short) segment: report it first.
      await this.#watcher?.refresh();
      const onDisk = await highestSegmentOnDisk(this.dir);
      const startNumber = Math.max(this.#lastSegment ?? -1, onDisk ?? -1) + 1;
      // Segments well out of any playlist a gateway can still hold, and temp files of a killed
      // ffmpeg, would otherwise pile up across restarts within one epoch.
      await pruneSegments(this.dir, startNumber - this.spec.listSize);
      if (this.#stopped) return;
      const source = this.spec.sources[this.sourceIndex]!;
      const args = buildFfmpegArgs({ source, profile: this.spec.profile, dir: this.dir, segmentS: this.spec.segmentS, listSize: this.spec.listSize, startNumber });
      const sub = this.#spawn(args, { stdout: 'pipe', stderr: 'pipe' });
      this.#starts++;
      this.#startsWithoutSegment++;
      const startedAtMs = performance.now();
      let resolveDone: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      const proc: Running = { sub, pid: sub.pid ?? -1, startedAtMs, startNumber, stopping: false, lastOutTimeUs: 0, delivered: false, done };
      this.#proc = proc;
      const parser = new ProgressParser();
      sub.stdout?.setEncoding('utf8');
      sub.stdout?.on('data', (text: string) => {
        for (const block of parser.push(text)) this.#onProgress(proc, block);
      });
      sub.stderr?.setEncoding('utf8');
      sub.stderr?.on('data', (text: string) => this.#ring.write(text));
      void sub
        .then((result) => {
          const spawnError = result.exitCode === undefined && result.signal === undefined ? (result.shortMessage ?? 'failed to start') : null;
          return this.#onExit(proc, result.exitCode ?? null, result.signal ?? null, spawnError);
        })
        .finally(resolveDone);
      this.#step({ type: 'started', nowMs: startedAtMs });
      this.#arm(this.#options.startTimeoutMs);
      if (sub.pid !== undefined) {
        this.#sampler = new ProcSampler(sub.pid);
        await writePidFile(this.dir, sub.pid);
        this.#emit({ type: 'started', pid: sub.pid, startNumber });
      }
    } finally {
      this.#launching = false;
    }
  }

  #spawn(args: string[], stdio: Stdio, timeoutMs = 0): FfmpegSubprocess {
    return spawnFfmpeg(this.#ffmpegPath, this.#setprivPath, args, { cwd: this.dir, stdio, timeoutMs, stopGraceMs: this.#options.stopGraceMs });
  }

  #onProgress(proc: Running, block: ProgressBlock): void {
    if (this.#proc !== proc || block.outTimeUs === null || block.outTimeUs <= proc.lastOutTimeUs) return;
    proc.lastOutTimeUs = block.outTimeUs;
    this.#step({ type: 'data', nowMs: performance.now() });
    // Re-arming by refresh() costs less than a new timer, twice a second per stream.
    if (!proc.delivered || this.#deadlineTimer === null) this.#arm(this.#options.stallTimeoutMs);
    else this.#deadlineTimer.refresh();
    proc.delivered = true;
  }

  #arm(timeoutMs: number): void {
    this.#disarm();
    this.#deadlineTimer = setTimeout(() => {
      this.#deadlineTimer = null;
      if (!this.#stopped) this.#step({ type: 'tick', nowMs: performance.now() });
    }, timeoutMs + deadlineSlackMs);
  }

  #disarm(): void {
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
  }

  async #onExit(proc: Running, code: number | null, signal: string | null, spawnError: string | null): Promise<void> {
    this.#ring.flush();
    const runMs = Math.round(performance.now() - proc.startedAtMs);
    this.#ring.push(`[supervisor] ffmpeg ${spawnError ?? `exited (code ${code}, signal ${signal})`} after ${runMs} ms${proc.stopping ? ', as asked' : ''}`);
    if (this.#proc === proc) {
      this.#proc = null;
      this.#sampler = null;
      this.#disarm();
    }
    // Before anything starts the next ffmpeg, which writes its own pid file.
    await removePidFile(this.dir);
    this.#emit({ type: 'exit', code, signal, runMs, expected: proc.stopping });
    if (proc.stopping || this.#stopped) return;
    const decision = afterExit(this.#restart, runMs, this.#random(), this.#restartConfig);
    this.#restart = decision.state;
    this.#setStatus(this.#failedNow() ? 'failed' : 'restarting');
    this.#step({ type: 'exited', nowMs: performance.now() }, decision.delayMs);
  }

  #onSegment(segment: NewSegment): void {
    if (this.#lastSegment !== null && segment.index <= this.#lastSegment) return;
    this.#lastSegment = segment.index;
    this.#recent.push(segment);
    if (this.#recent.length > bitrateWindowSegments) this.#recent.shift();
    const proc = this.#proc;
    if (proc !== null && segment.index >= proc.startNumber) {
      this.#startsWithoutSegment = 0;
      this.#setStatus('running');
    }
    this.#emit({ type: 'segment', index: segment.index });
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#step({ type: 'tick', nowMs: performance.now() });
    const sampler = this.#sampler;
    if (sampler !== null) {
      void sampler.sample().then((figures) => {
        if (figures === null || this.#sampler !== sampler) return;
        this.#cpuPct = figures.cpuPct;
        this.#memBytes = figures.rssBytes;
      });
    }
  }

  /** Feed the source choice and carry out what it decides. `delayMs`: before a restart. */
  #step(event: ChoiceEvent, delayMs = 0): void {
    const step = stepChoice(this.#choice, event, this.#choiceConfig);
    this.#choice = step.state;
    if (this.#probe !== null && step.state.probing !== this.#probe.rank) {
      this.#probe.sub.kill();
      this.#probe = null;
    }
    this.#act(step.action, delayMs);
  }

  #act(action: ChoiceAction, delayMs: number): void {
    switch (action.kind) {
      case 'none':
        return;
      case 'restart':
        this.#scheduleLaunch(delayMs);
        return;
      case 'switch': {
        const index = this.#ranks[action.to]!;
        this.#ring.push(`[supervisor] switching to source ${index} (${action.reason})`);
        this.#emit({ type: 'source', index, reason: action.reason });
        const proc = this.#proc;
        if (proc === null) {
          this.#scheduleLaunch(delayMs);
          return;
        }
        proc.stopping = true;
        this.#setStatus(this.#failedNow() ? 'failed' : 'restarting');
        terminate(proc.sub, proc.done);
        void proc.done.then(() => this.#scheduleLaunch(delayMs));
        return;
      }
      case 'probe':
        this.#startProbe(action.rank);
        return;
    }
  }

  #scheduleLaunch(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#launchTimer !== null) clearTimeout(this.#launchTimer);
    this.#launchTimer = setTimeout(() => {
      this.#launchTimer = null;
      this.#launch().catch((err: unknown) => this.#launchFailed(err));
    }, delayMs);
  }

  /** The directory became unusable (removed, disk full): note it and retry like an exit. */
  #launchFailed(err: unknown): void {
    if ((err as NodeJS.ErrnoException).code === undefined) throw err;
    this.#ring.push(`[supervisor] could not start ffmpeg: ${(err as Error).message}`);
    const decision = afterExit(this.#restart, 0, this.#random(), this.#restartConfig);
    this.#restart = decision.state;
    this.#scheduleLaunch(decision.delayMs);
  }

  #startProbe(rank: number): void {
    const index = this.#ranks[rank]!;
    const sub = this.#spawn(buildProbeArgs(this.spec.sources[index]!, this.#options.probeS), { stdout: 'ignore', stderr: 'ignore' }, this.#options.probeTimeoutMs);
    this.#probe = { sub, rank };
    void sub.then((result) => {
      if (this.#probe?.sub !== sub) return;
      this.#probe = null;
      const ok = result.exitCode === 0 && !result.timedOut;
      this.#ring.push(`[supervisor] probe of source ${index}: ${ok ? 'delivers' : `no (code ${result.exitCode}${result.timedOut ? ', timed out' : ''})`}`);
      if (!this.#stopped) this.#step({ type: 'probed', rank, ok, nowMs: performance.now() });
    });
  }

  #failedNow(): boolean {
    return this.#startsWithoutSegment >= this.#options.failedAfterStarts;
  }

  #outKbps(): number | undefined {
    const seconds = this.#recent.reduce((sum, s) => sum + s.durationS, 0);
    if (seconds <= 0) return undefined;
    const bytes = this.#recent.reduce((sum, s) => sum + s.bytes, 0);
    return Math.round((bytes * 8) / seconds / 1000);
  }

  #setStatus(status: StreamStatus): void {
    if (this.#status === status || this.#status === 'stopped') return;
    this.#status = status;
    this.#emit({ type: 'status', status });
  }

  #emit(event: RunnerEvent): void {
    this.#onEvent(event);
  }
}
