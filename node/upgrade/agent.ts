// A node's own side of a rollout: what it says about itself (build, executable, whether it may
// replace it, whether it is caught up in Raft), and upgrading itself when the coordinator says
// so: fetch the executable from the coordinator, check its sha256 and its `--version`, put it in
// place of its own (the old one kept as `<path>.previous`), stop, and come back on the new one.
import { createReadStream, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

import { runningExecutable } from '../exe-path.ts';
import { buildInfo, sameBuild } from '../version.ts';
import { UpgradeError } from './errors.ts';
import { buildOfExecutable, directoryWritable, installExecutable, receiveFile, sha256File } from './executable.ts';
import type { UpgradeNode } from './host.ts';
import type { BuildId, SelfReport, TargetBuild } from './plan.ts';
import { restartInto, restartPlan } from './restart.ts';

/** How long the read barrier may take before a node counts as not caught up. */
const caughtUpTimeoutMs = 3_000;
/** Bound on fetching the executable from the coordinator. */
export const downloadTimeoutMs = 180_000;
/** Between the answer to the coordinator and the restart, so the answer leaves first. */
const restartDelayMs = 200;

/** What GET /internal/v1/upgrade/node answers. */
export interface NodeReport extends SelfReport {
  readonly nodeId: string;
  readonly name: string;
  /** A read barrier (read-index through the leader) completed just now. */
  readonly caughtUp: boolean;
}

export const sourcesMessage = 'this node runs from sources: upgrade it with git pull / npm run build';

export class UpgradeAgent {
  readonly #node: UpgradeNode;
  readonly #dataDir: string;
  #busy: string | null = null;
  #restarting = false;
  #sha256: Promise<string> | null = null;

  constructor(node: UpgradeNode, dataDir: string) {
    this.#node = node;
    this.#dataDir = dataDir;
  }

  /** What this node is part of now (set by the coordinator for its own rollout, too). */
  get busy(): string | null {
    return this.#busy;
  }

  set busy(value: string | null) {
    this.#busy = value;
  }

  get restarting(): boolean {
    return this.#restarting;
  }

  /** The build, executable and sha256 of this process. */
  async self(): Promise<SelfReport> {
    const executable = runningExecutable();
    const build: BuildId = buildInfo();
    if (executable === null) return { build, executable: null, sha256: null, writable: false, busy: this.#busy };
    return { build, executable, sha256: await this.executableSha256(executable), writable: await directoryWritable(executable), busy: this.#busy };
  }

  async report(): Promise<NodeReport> {
    return { nodeId: this.#node.peerId, name: this.#node.config.name, ...(await this.self()), caughtUp: await this.caughtUp() };
  }

  /** Whether a read-index barrier completes: this node has a leader and has applied what the
   *  leader had committed when asked. */
  async caughtUp(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), caughtUpTimeoutMs); });
    const read = this.#node.driver.read().then(() => true, () => false);
    return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
  }

  /** sha256 of the executable this process runs from, computed once: on Linux through
   *  /proc/self/exe, which stays this process's own file even after an upgrade renamed a new
   *  one over its path. */
  async executableSha256(path: string): Promise<string> {
    this.#sha256 ??= sha256File(existsSync('/proc/self/exe') ? '/proc/self/exe' : path).catch((err: unknown) => {
      this.#sha256 = null;
      throw err;
    });
    return this.#sha256;
  }

  /**
   * Upgrades this node to `target`, fetched from `url` (the coordinator's
   * /internal/v1/upgrade/executable) with the internal token, or copied from `localFile` (the
   * coordinator upgrading itself). Resolves once the new executable is in place; the caller
   * answers and then calls restartSoon(). Throws UpgradeError: 409 when this node runs
   * from sources or is being upgraded already, 422 when the file is wrong, 502 when the
   * download fails.
   */
  async install(target: TargetBuild, from: { url: string; token: string } | { localFile: string }, by: string): Promise<void> {
    const executable = runningExecutable();
    if (executable === null) throw new UpgradeError(409, sourcesMessage);
    if (this.#restarting) throw new UpgradeError(409, 'this node is restarting into a new executable already');
    if (this.#busy !== null && !this.#busy.startsWith('coordinating')) throw new UpgradeError(409, `this node is busy: ${this.#busy}`);
    if (!(await directoryWritable(executable))) {
      throw new UpgradeError(409, `this node cannot write ${dirname(executable)} to replace ${executable}: install the executable in a directory the node's user owns`);
    }
    const previousBusy = this.#busy;
    this.#busy ??= `being upgraded by ${by}`;
    let file: string | null = null;
    try {
      const received = await receiveFile(await this.#source(from), dirname(executable));
      file = received.path;
      if (received.sha256 !== target.sha256) {
        throw new UpgradeError(422, `the executable received has sha256 ${received.sha256}, not ${target.sha256} as announced (damaged on the way?): run the upgrade again`);
      }
      const build = await buildOfExecutable(received.path);
      if (!sameBuild(build, target)) {
        throw new UpgradeError(422, `the executable received says it is ${build.version} (commit ${build.commit}), not ${target.version} (commit ${target.commit})`);
      }
      await installExecutable(received.path, executable);
      file = null;
      this.#node.logLine(`upgrade: ${executable} is now ${target.version} (commit ${target.commit}); the previous one is kept as ${executable}.previous`);
    } catch (err) {
      this.#busy = previousBusy;
      throw err;
    } finally {
      if (file !== null) await rm(file, { force: true });
    }
  }

  async #source(from: { url: string; token: string } | { localFile: string }): Promise<Readable | ReadableStream<Uint8Array>> {
    if ('localFile' in from) return createReadStream(from.localFile);
    let res: Response;
    try {
      res = await fetch(from.url, { headers: { authorization: `Bearer ${from.token}` }, signal: AbortSignal.timeout(downloadTimeoutMs) });
    } catch (err) {
      throw new UpgradeError(502, `could not fetch the executable from ${from.url}: ${(err as Error).message}`);
    }
    if (res.status !== 200 || res.body === null) {
      const text = await res.text().catch(() => '');
      throw new UpgradeError(502, `fetching the executable from ${from.url} answered ${res.status}: ${text.slice(0, 200)}`);
    }
    return res.body;
  }

  /** On the leader: hand leadership to voter `to` (it restarts next). Throws UpgradeError 409
   *  when this node does not lead or `to` is not a voter. */
  async transferLeadership(to: string): Promise<void> {
    const raft = this.#node.driver.status();
    if (raft.role !== 'leader') throw new UpgradeError(409, 'this node does not lead (any more): ask the leader');
    if (!raft.conf.voters.includes(to)) throw new UpgradeError(409, `${to} is not a voter: leadership can only go to a voter`);
    this.#node.driver.transferLeadership(to);
    this.#node.logLine(`upgrade: handing leadership to ${to} before this node restarts`);
  }

  log(line: string): void {
    this.#node.logLine(line);
  }

  /** Stops this node and starts it again on the executable now in place (see restart.ts). */
  restartSoon(): void {
    const executable = runningExecutable();
    if (executable === null || this.#restarting) return;
    this.#restarting = true;
    const plan = restartPlan(executable, this.#dataDir, process.env);
    const parts = { stop: () => this.#node.stop(), closeConnections: () => this.#node.http.server.closeAllConnections() };
    setTimeout(() => void restartInto(plan, parts, (line) => this.#node.logLine(line)), restartDelayMs);
  }
}
