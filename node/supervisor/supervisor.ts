// The worker side of issue 4: keeps one StreamRunner per stream this node should run, as told by
// reconcile(desired) (the node derives `desired` from its applied assignments: fencing is the
// caller's), reports per-stream figures for gossip, and removes the directories of stopped epochs
// once gateways can no longer need them. Layout (docs/streams.md):
//   <streamsRoot>/<streamId>/<epoch>/index.m3u8, seg-<k>.ts, ffmpeg.pid
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StreamFigures } from '../gossip/report.ts';
import { slugPattern } from '../state/stream-rules.ts';
import { InvalidStreamSpecError, UnsafeSourceError } from './errors.ts';
import { epochDirs, killLeftovers } from './pid-files.ts';
import { reconcile } from './reconcile.ts';
import type { ReconcilePlan } from './reconcile.ts';
import { StreamRunner } from './stream-runner.ts';
import type { RunnerEvent, RunnerOptions, StreamRunnerComponents } from './stream-runner.ts';
import type { StreamSpec } from './types.ts';

/** Default time a stopped epoch's directory is kept: a gateway still serving that epoch's
 *  segments from a lagging poll, or a peer filling its cache, can fetch them meanwhile. */
export const retainStoppedDefaultMs = 60_000;

export type SupervisorComponents = StreamRunnerComponents;

export interface SupervisorInit {
  /** `<dataDir>/streams`; created at start. */
  readonly streamsRoot: string;
  /** Default {@link retainStoppedDefaultMs}. */
  readonly retainStoppedMs?: number;
  /** Passed to every runner (defaults in stream-runner.ts runnerDefaults). */
  readonly runner?: RunnerOptions;
  /** Every runner event, synchronously; must not throw. */
  readonly onEvent?: (streamId: string, event: RunnerEvent) => void;
}

/** The directory of one epoch of one stream. Throws InvalidStreamSpecError for an id that is not
 *  a slug or an epoch that is not a whole number: they become path segments. */
export function streamDir(streamsRoot: string, streamId: string, epoch: number): string {
  if (!slugPattern.test(streamId)) throw new InvalidStreamSpecError(streamId, 'its id is not a slug (a-z, 0-9, "-", "_")');
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new InvalidStreamSpecError(streamId, `its epoch ${epoch} is not a whole number`);
  return join(streamsRoot, streamId, String(epoch));
}

/** A stream that could not be started: kept so that it is reported and not retried on every
 *  reconcile with the same spec. */
interface Refused {
  readonly spec: StreamSpec;
  readonly reason: string;
}

/**
 * Lifecycle: start() (kills ffmpeg left from a previous life of this node), then reconcile()
 * whenever the desired set may have changed, stopAll() at shutdown. Calls to reconcile() and
 * stopAll() are queued and run one at a time, in order.
 */
export class Supervisor {
  readonly streamsRoot: string;
  readonly retainStoppedMs: number;
  readonly #components: SupervisorComponents;
  readonly #runnerOptions: RunnerOptions;
  readonly #onEvent: (streamId: string, event: RunnerEvent) => void;
  readonly #runners = new Map<string, StreamRunner>();
  readonly #refused = new Map<string, Refused>();
  /** Epoch directory -> its pending removal. */
  readonly #removals = new Map<string, NodeJS.Timeout>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(components: SupervisorComponents, init: SupervisorInit) {
    this.streamsRoot = init.streamsRoot;
    this.retainStoppedMs = init.retainStoppedMs ?? retainStoppedDefaultMs;
    this.#components = components;
    this.#runnerOptions = init.runner ?? {};
    this.#onEvent = init.onEvent ?? (() => undefined);
  }

  /** Kills leftover ffmpeg processes (see killLeftovers) and schedules the removal of every
   *  existing epoch directory (cancelled for one that a stream starts in). Returns the pids killed. */
  async start(): Promise<number[]> {
    await mkdir(this.streamsRoot, { recursive: true });
    const killed = await killLeftovers(this.streamsRoot);
    for (const dir of await epochDirs(this.streamsRoot)) this.#scheduleRemoval(dir);
    return killed;
  }

  /** Make the running set match `desired` (stream id -> spec). Resolves with what it did, once
   *  stopped streams have exited and new ones have been started. */
  reconcile(desired: ReadonlyMap<string, StreamSpec>): Promise<ReconcilePlan> {
    return this.#enqueue(() => this.#reconcile(desired));
  }

  /** Figures per stream, in stream id order, as gossip reports them. */
  streams(): StreamFigures[] {
    const out: StreamFigures[] = [];
    for (const id of [...this.#runners.keys(), ...this.#refused.keys()].sort()) {
      const runner = this.#runners.get(id);
      if (runner === undefined) {
        out.push({ id, status: 'failed', restarts: 0 });
        continue;
      }
      const f = runner.figures();
      out.push({
        id, status: f.status, restarts: f.restarts, source: String(f.source),
        ...(f.cpuPct !== undefined ? { cpuPct: f.cpuPct } : {}),
        ...(f.memBytes !== undefined ? { memBytes: f.memBytes } : {}),
        ...(f.inKbps !== undefined ? { inKbps: f.inKbps } : {}),
        ...(f.outKbps !== undefined ? { outKbps: f.outKbps } : {}),
        ...(f.lastSegment !== undefined ? { lastSegment: f.lastSegment } : {}),
      });
    }
    return out;
  }

  /** The stream's epoch, or null if it does not run here. */
  epochOf(streamId: string): number | null {
    return this.#runners.get(streamId)?.spec.epoch ?? null;
  }

  /** The last lines of the stream's ffmpeg stderr (or why it was refused); null if unknown here. */
  stderrTail(streamId: string): string[] | null {
    const runner = this.#runners.get(streamId);
    if (runner !== undefined) return runner.stderrTail();
    const refused = this.#refused.get(streamId);
    return refused === undefined ? null : [`[supervisor] not started: ${refused.reason}`];
  }

  /** Stops every stream (SIGTERM, SIGKILL after the grace) and cancels pending removals: the
   *  next start() schedules them again. Further reconcile() calls do nothing. */
  stopAll(): Promise<void> {
    return this.#enqueue(async () => {
      this.#closed = true;
      await Promise.all([...this.#runners.values()].map((r) => r.stop()));
      this.#runners.clear();
      this.#refused.clear();
      for (const timer of this.#removals.values()) clearTimeout(timer);
      this.#removals.clear();
    });
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    // The queue goes on after a failed task; the caller still sees the failure.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reconcile(desired: ReadonlyMap<string, StreamSpec>): Promise<ReconcilePlan> {
    if (this.#closed) return { starts: [], stops: [], restarts: [] };
    const running = new Map<string, StreamSpec>();
    for (const [id, runner] of this.#runners) running.set(id, runner.spec);
    for (const [id, refused] of this.#refused) running.set(id, refused.spec);
    const plan = reconcile(desired, running);
    await Promise.all([...plan.stops, ...plan.restarts.map((s) => s.streamId)].map((id) => this.#stop(id)));
    await Promise.all([...plan.starts, ...plan.restarts].map((spec) => this.#start(spec)));
    return plan;
  }

  async #stop(streamId: string): Promise<void> {
    this.#refused.delete(streamId);
    const runner = this.#runners.get(streamId);
    if (runner === undefined) return;
    this.#runners.delete(streamId);
    await runner.stop();
    this.#scheduleRemoval(runner.dir);
  }

  async #start(spec: StreamSpec): Promise<void> {
    let runner: StreamRunner;
    try {
      const dir = streamDir(this.streamsRoot, spec.streamId, spec.epoch);
      runner = new StreamRunner(this.#components, { ...this.#runnerOptions, spec, dir, onEvent: (e) => this.#onEvent(spec.streamId, e) });
    } catch (err) {
      if (!(err instanceof UnsafeSourceError || err instanceof InvalidStreamSpecError)) throw err;
      this.#refused.set(spec.streamId, { spec, reason: err.message });
      return;
    }
    this.#cancelRemoval(runner.dir);
    this.#runners.set(spec.streamId, runner);
    try {
      await runner.start();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === undefined) throw err;
      // The directory cannot be made (permissions, disk): reported as failed.
      this.#runners.delete(spec.streamId);
      await runner.stop();
      this.#refused.set(spec.streamId, { spec, reason: `its directory ${runner.dir} cannot be used: ${(err as Error).message}` });
    }
  }

  #scheduleRemoval(dir: string): void {
    this.#cancelRemoval(dir);
    const timer = setTimeout(() => {
      this.#removals.delete(dir);
      if ([...this.#runners.values()].some((r) => r.dir === dir)) return;
      removeEpochDir(dir).catch((err: unknown) => {
        // Not removable now (permissions, busy mount): the next start() schedules it again.
        if ((err as NodeJS.ErrnoException).code === undefined) throw err;
      });
    }, this.retainStoppedMs);
    timer.unref();
    this.#removals.set(dir, timer);
  }

  #cancelRemoval(dir: string): void {
    const timer = this.#removals.get(dir);
    if (timer !== undefined) clearTimeout(timer);
    this.#removals.delete(dir);
  }
}

/** Remove an epoch directory, and its stream directory if that is now empty. */
async function removeEpochDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  try {
    await rmdir(dirname(dir));
  } catch (err) {
    // Another epoch of the stream is still there (ENOTEMPTY), or it is already gone.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw err;
  }
}
