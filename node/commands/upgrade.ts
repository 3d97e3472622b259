// `ottmesh upgrade`: roll an executable out to every node, one at a time (docs/upgrade.md).
// Uploads --executable PATH to the node asked (else that node rolls out the executable it runs),
// shows the plan, asks (unless --yes), starts the rollout there and prints each change until it
// is done (exit 0) or failed (exit 1). The node asked coordinates, and restarts itself last: the
// progress is read again once it is back.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Readable } from 'node:stream';

import type { ApiFlags } from '../cli.ts';
import { CommandError, UsageError } from '../cli.ts';
import { buildText, progressLines } from '../upgrade/rollout.ts';
import type { Rollout } from '../upgrade/rollout.ts';
import { callApi, resolveTarget } from './api-client.ts';
import type { ApiTarget } from './api-client.ts';

export interface UpgradeOptions {
  readonly api: ApiFlags;
  /** The executable to roll out; null: the one the node asked runs. */
  readonly executable: string | null;
  /** How long each restarted node may take to be healthy; null: the node's default (60 s). */
  readonly healthTimeoutS: number | null;
  /** Start without asking. */
  readonly yes: boolean;
}

/** Bound on the upload (an executable of 300 MB at 1 MB/s). */
const uploadTimeoutMs = 10 * 60_000;
/** How often the progress is read. */
const pollIntervalMs = 500;
/** How long the node asked may not answer (it restarts itself, last) before giving up. */
const unreachableMaxMs = 180_000;

interface Executable {
  readonly sha256: string;
  readonly version: string;
  readonly commit: string;
  readonly bytes: number;
}

/** The view of a rollout GET /api/v1/upgrade gives (Rollout, with startedBy for its actor). */
type RolloutView = Omit<Rollout, 'actor'> & { readonly startedBy: string | null };

export async function upgradeCommand(options: UpgradeOptions, out: (line: string) => void): Promise<void> {
  const target = await resolveTarget(options.api);
  const sha256 = options.executable === null ? undefined : (await upload(target, options.executable, out)).sha256;
  const body = { ...(sha256 === undefined ? {} : { sha256 }), ...(options.healthTimeoutS === null ? {} : { healthTimeoutS: options.healthTimeoutS }) };
  const planned = (await callApi<{ rollout: RolloutView }>(target, 'POST', '/api/v1/upgrade', { ...body, dryRun: true })).rollout;
  for (const line of planLines(planned)) out(line);
  if (planned.steps.every((s) => !s.upgrade)) {
    out(`every node runs ${buildText(planned.target)} already: nothing to do`);
    return;
  }
  if (!options.yes && !(await confirm(`upgrade ${planned.steps.filter((s) => s.upgrade).length} node(s), one at a time? [y/N] `))) {
    throw new CommandError('not started');
  }
  const started = (await callApi<{ rollout: RolloutView }>(target, 'POST', '/api/v1/upgrade', body)).rollout;
  out(`rollout ${started.id} started on ${started.coordinatorName}`);
  const ended = await follow(target, started, out);
  if (ended.status === 'failed') throw new CommandError(`the upgrade failed: ${ended.message ?? 'no reason given'}`);
}

/** Pure: the plan as lines. */
export function planLines(rollout: Pick<RolloutView, 'target' | 'steps' | 'coordinatorName'>): string[] {
  return [
    `target ${buildText(rollout.target)}, sha256 ${rollout.target.sha256}; coordinated by ${rollout.coordinatorName}`,
    'order (one node at a time; the leader hands over leadership before it restarts):',
    ...rollout.steps.map((s, i) => `  ${i + 1}. ${s.name}: ${s.upgrade ? `${buildText(s.from)} -> ${buildText(s.to)}` : 'runs the target already: skipped'}`),
  ];
}

async function upload(target: ApiTarget, path: string, out: (line: string) => void): Promise<Executable> {
  let bytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`--executable ${path} is not a file`);
    bytes = info.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--executable ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  out(`uploading ${path} (${(bytes / (1024 * 1024)).toFixed(1)} MB) to ${target.baseUrl}`);
  const url = `${target.baseUrl}/api/v1/upgrade/executable`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
      body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
      duplex: 'half',
      signal: AbortSignal.timeout(uploadTimeoutMs),
    } as RequestInit);
  } catch (err) {
    throw new CommandError(`cannot upload to ${target.baseUrl} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}): is the node running, and is the address right?`);
  }
  const text = await res.text();
  if (res.status !== 201) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: the text is the message
    }
    throw new CommandError(`the upload was refused (${res.status}): ${message}`);
  }
  const stored = JSON.parse(text) as Executable;
  out(`uploaded: ${buildText(stored)}, sha256 ${stored.sha256}`);
  return stored;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('add --yes to start the rollout without a question (stdin is not a terminal)');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Prints the rollout's changes until it ends; tolerates the node not answering while it
 *  restarts itself (bounded). */
async function follow(target: ApiTarget, started: RolloutView, out: (line: string) => void): Promise<RolloutView> {
  let last: RolloutView | null = null;
  let unreachableSinceMs: number | null = null;
  const stamp = () => new Date().toISOString().slice(11, 19);
  for (;;) {
    let answer: { rollout: RolloutView | null } | null = null;
    try {
      answer = await callApi<{ rollout: RolloutView | null }>(target, 'GET', '/api/v1/upgrade');
      unreachableSinceMs = null;
    } catch (err) {
      // The node restarting itself (its own step, the last), or a moment of trouble: bounded.
      unreachableSinceMs ??= Date.now();
      if (Date.now() - unreachableSinceMs > unreachableMaxMs) {
        throw new CommandError(`${target.baseUrl} has not answered for ${unreachableMaxMs / 1000} s (${(err as Error).message}): look at that node; GET /api/v1/upgrade there shows how far the rollout got`);
      }
    }
    if (answer !== null) {
      const view = answer.rollout;
      if (view === null) throw new CommandError(`${started.coordinatorName} no longer knows rollout ${started.id} (was its data dir replaced?): check the nodes' versions with 'ottmesh status'`);
      if (view.id !== started.id) throw new CommandError(`another rollout (${view.id}) replaced this one on ${started.coordinatorName}: follow it with GET /api/v1/upgrade`);
      for (const line of progressLines(last, view)) out(`${stamp()} ${line}`);
      last = view;
      if (view.status !== 'running') return view;
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}
