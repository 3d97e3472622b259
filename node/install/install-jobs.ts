// The install jobs of this node, in memory (they are not replicated: the dashboard follows a job
// on the node that runs it, and a restart forgets them). A job is queued, connecting, running,
// then succeeded or failed; its progress lines carry the time they arrived. Everything is
// bounded: jobs kept, jobs running at once, jobs waiting, lines per job. The login key is held
// only until the job logs in (runInstall zeroes it) and is never part of a view.
import type { Actor } from '../state/index.ts';
import { InstallFailure } from './ssh-errors.ts';
import type { InstallErrorKind } from './ssh-errors.ts';
import { wipe } from './ssh-install.ts';
import type { InstallReport, InstallSecrets, InstallSpec } from './ssh-install.ts';

export const installJobStates = ['queued', 'connecting', 'running', 'succeeded', 'failed'] as const;
export type InstallJobState = typeof installJobStates[number];

export interface InstallJobView {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The name asked for (null: the server's host name). */
  readonly name: string | null;
  readonly groups: string[];
  /** The URL the server downloads install.sh and the executable from. */
  readonly nodeUrl: string;
  readonly hostKeyFingerprint: string;
  readonly state: InstallJobState;
  /** Who started it. */
  readonly startedBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Oldest first; the oldest are dropped past the bound (`progressDropped` counts them). */
  readonly progress: { readonly at: string; readonly line: string }[];
  readonly progressDropped: number;
  /** Set when failed. */
  readonly error: { readonly kind: InstallErrorKind; readonly message: string } | null;
  /** The new node's id, once it is a member. */
  readonly nodeId: string | null;
}

/** Runs one job (runInstall with this node's dependencies) for `actor`, who the join token is
 *  created as; throws InstallFailure. */
export type InstallRunner = (spec: InstallSpec, secrets: InstallSecrets, actor: Actor, report: InstallReport, signal: AbortSignal) => Promise<{ nodeId: string }>;

export interface InstallJobsInit {
  readonly nowMs: () => number;
  readonly newId: () => string;
  /** Finished jobs beyond this are forgotten, oldest first. Default 50. */
  readonly jobsMax?: number;
  /** Jobs running at once; more wait as queued. Default 2. */
  readonly runningMax?: number;
  /** Jobs waiting; more are refused (JobsBusyError). Default 8. */
  readonly queuedMax?: number;
  /** Progress lines kept per job. Default 2000. */
  readonly progressLinesMax?: number;
  /** A runner's unexpected error (a bug): logged here, the job says only its name. */
  readonly onInternalError?: (err: unknown) => void;
}

/** Too many jobs waiting: answer 429. */
export class JobsBusyError extends Error {
  override readonly name = 'JobsBusyError';
}

/** A job to the same host and port is not finished: answer 409. */
export class HostBusyError extends Error {
  override readonly name = 'HostBusyError';
}

interface Job {
  view: InstallJobView;
  spec: InstallSpec;
  actor: Actor;
  secrets: InstallSecrets | null;
  progress: { at: string; line: string }[];
  dropped: number;
  done: Promise<void> | null;
}

export class InstallJobs {
  readonly #runner: InstallRunner;
  readonly #nowMs: () => number;
  readonly #newId: () => string;
  readonly #jobsMax: number;
  readonly #runningMax: number;
  readonly #queuedMax: number;
  readonly #linesMax: number;
  readonly #onInternalError: (err: unknown) => void;
  /** Insertion order is creation order. */
  readonly #jobs = new Map<string, Job>();
  readonly #abort = new AbortController();
  #running = 0;

  constructor(runner: InstallRunner, init: InstallJobsInit) {
    this.#runner = runner;
    this.#nowMs = init.nowMs;
    this.#newId = init.newId;
    this.#jobsMax = init.jobsMax ?? 50;
    this.#runningMax = init.runningMax ?? 2;
    this.#queuedMax = init.queuedMax ?? 8;
    this.#linesMax = init.progressLinesMax ?? 2000;
    this.#onInternalError = init.onInternalError ?? ((err) => console.error('install job failed unexpectedly', err));
  }

  /** Starts (or queues) a job; the registry owns `secrets` from here. Throws HostBusyError or
   *  JobsBusyError (then the secrets are wiped). */
  start(spec: InstallSpec, secrets: InstallSecrets, actor: Actor): InstallJobView {
    const unfinished = [...this.#jobs.values()].filter((j) => !isFinished(j.view.state));
    const sameHost = unfinished.find((j) => j.spec.host === spec.host && j.spec.port === spec.port);
    if (sameHost !== undefined) {
      wipe(secrets);
      throw new HostBusyError(`an install on ${spec.host}:${spec.port} is under way (job ${sameHost.view.id}): wait for it to end`);
    }
    if (unfinished.filter((j) => j.view.state === 'queued').length >= this.#queuedMax) {
      wipe(secrets);
      throw new JobsBusyError(`${this.#queuedMax} installs are already waiting: wait for some to end`);
    }
    if (this.#abort.signal.aborted) {
      wipe(secrets);
      throw new JobsBusyError('this node is shutting down');
    }
    const at = this.#iso();
    const id = this.#newId();
    const job: Job = {
      spec, actor, secrets, progress: [], dropped: 0, done: null,
      view: {
        id, host: spec.host, port: spec.port, user: spec.user, name: spec.name, groups: [...spec.groups], nodeUrl: spec.baseUrl,
        hostKeyFingerprint: spec.hostKeyFingerprint, state: 'queued', startedBy: actor.user, createdAt: at, updatedAt: at,
        progress: [], progressDropped: 0, error: null, nodeId: null,
      },
    };
    this.#jobs.set(id, job);
    this.#forgetOld();
    this.#startWaiting();
    return this.get(id)!;
  }

  get(id: string): InstallJobView | null {
    const job = this.#jobs.get(id);
    return job === undefined ? null : { ...job.view, progress: [...job.progress], progressDropped: job.dropped };
  }

  /** Newest first, without their progress lines (GET one job for those). */
  list(): InstallJobView[] {
    return [...this.#jobs.values()].reverse().map((j) => ({ ...j.view, progress: [], progressDropped: j.dropped + j.progress.length }));
  }

  /** Stops every job (their connections close) and waits for them to end. */
  async close(): Promise<void> {
    this.#abort.abort();
    for (const job of this.#jobs.values()) {
      if (job.view.state === 'queued') this.#finish(job, new InstallFailure('canceled', 'this node shut down before the install started: run it again'), null);
    }
    await Promise.all([...this.#jobs.values()].map((j) => j.done));
  }

  #startWaiting(): void {
    for (const job of this.#jobs.values()) {
      if (this.#running >= this.#runningMax) return;
      if (job.view.state !== 'queued' || job.done !== null) continue;
      this.#running += 1;
      job.done = this.#run(job).finally(() => {
        this.#running -= 1;
        this.#startWaiting();
      });
    }
  }

  async #run(job: Job): Promise<void> {
    const secrets = job.secrets!;
    job.secrets = null;
    const report: InstallReport = {
      progress: (line) => this.#progress(job, line),
      state: (state) => this.#update(job, { state }),
    };
    try {
      const { nodeId } = await this.#runner(job.spec, secrets, job.actor, report, this.#abort.signal);
      this.#finish(job, null, nodeId);
    } catch (err) {
      if (err instanceof InstallFailure) {
        this.#finish(job, err, null);
      } else {
        this.#onInternalError(err);
        this.#finish(job, new InstallFailure('error', `an internal error stopped the install (${(err as Error).name ?? 'unknown'}): see this node's log`), null);
      }
    } finally {
      wipe(secrets);
    }
  }

  #finish(job: Job, failure: InstallFailure | null, nodeId: string | null): void {
    if (job.secrets !== null) wipe(job.secrets);
    job.secrets = null;
    if (failure === null) {
      this.#progress(job, 'install succeeded');
      this.#update(job, { state: 'succeeded', nodeId });
    } else {
      this.#progress(job, `install failed (${failure.kind}): ${failure.message}`);
      this.#update(job, { state: 'failed', error: { kind: failure.kind, message: failure.message } });
    }
    this.#forgetOld();
  }

  #progress(job: Job, line: string): void {
    job.progress.push({ at: this.#iso(), line });
    if (job.progress.length > this.#linesMax) {
      job.progress.shift();
      job.dropped += 1;
    }
    this.#update(job, {});
  }

  #update(job: Job, change: Partial<Pick<InstallJobView, 'state' | 'error' | 'nodeId'>>): void {
    job.view = { ...job.view, ...change, updatedAt: this.#iso() };
  }

  /** Forgets the oldest finished jobs beyond the bound. */
  #forgetOld(): void {
    let excess = this.#jobs.size - this.#jobsMax;
    for (const [id, job] of this.#jobs) {
      if (excess <= 0) return;
      if (!isFinished(job.view.state)) continue;
      this.#jobs.delete(id);
      excess -= 1;
    }
  }

  #iso(): string {
    return new Date(this.#nowMs()).toISOString();
  }
}

function isFinished(state: InstallJobState): boolean {
  return state === 'succeeded' || state === 'failed';
}
