// A cluster of real node processes, each run from its own copy of the single executable (a node
// replaces its own file when upgraded), on loopback. A node restarting itself into a new
// executable starts its successor detached with the same output pipes, so what a node prints
// keeps arriving here across its restarts; the successor is not our child, so stop() ends every
// process whose command line names this cluster's own temporary directory (and only those).
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, waitFor } from '../cluster/processes.ts';

export interface ExeNode {
  readonly name: string;
  /** This node's own copy of the executable (the file an upgrade replaces). */
  readonly exe: string;
  readonly dataDir: string;
  readonly httpUrl: string;
  readonly httpPort: number;
  readonly p2pPort: number;
  /** Everything it printed, across restarts. */
  output: string;
  child: ChildProcess;
}

export interface Health {
  nodeId: string;
  name: string;
  role: 'leader' | 'follower' | 'learner';
  leaderId: string | null;
  version: string;
  commit: string;
}

export class ExeCluster {
  readonly root: string;
  readonly nodes = new Map<string, ExeNode>();
  readonly #events: string[] = [];

  private constructor(root: string) {
    this.root = root;
  }

  static async create(prefix: string): Promise<ExeCluster> {
    return new ExeCluster(await mkdtemp(join(tmpdir(), prefix)));
  }

  /** Copies `exe` to this node's own directory and runs `<copy> <args(node)>`. */
  async spawn(name: string, exe: string, args: (n: { dataDir: string; httpPort: number; p2pPort: number }) => string[]): Promise<ExeNode> {
    const dir = join(this.root, name);
    await mkdir(join(dir, 'bin'), { recursive: true });
    const own = join(dir, 'bin', 'ottmesh');
    await copyFile(exe, own);
    const [httpPort, p2pPort] = [await freePort(), await freePort()];
    const dataDir = join(dir, 'data');
    const child = spawn(own, args({ dataDir, httpPort, p2pPort }), { stdio: ['ignore', 'pipe', 'pipe'] });
    const node: ExeNode = { name, exe: own, dataDir, httpPort, p2pPort, httpUrl: `http://127.0.0.1:${httpPort}`, output: '', child };
    this.#collect(node, child);
    this.nodes.set(name, node);
    return node;
  }

  /** Starts node `name` again from its own executable file (`start --data-dir`). */
  async restart(name: string): Promise<void> {
    const node = this.nodes.get(name)!;
    node.child = spawn(node.exe, ['start', '--data-dir', node.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#collect(node, node.child);
  }

  /** What `child` prints goes to `node.output` (the last 400 kB). */
  #collect(node: ExeNode, child: ChildProcess): void {
    const append = (chunk: Buffer) => {
      node.output = (node.output + chunk.toString()).slice(-400_000);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
  }

  async waitPrinted(name: string, line: RegExp, timeoutMs: number): Promise<void> {
    await waitFor(`${name} to print ${line}`, () => (line.test(this.nodes.get(name)!.output) ? true : null), timeoutMs, 100);
  }

  /** Runs `<exe> <args>` to its end. */
  run(exe: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const startedAt = new Date().toISOString();
      execFile(exe, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
        this.#events.push(`${startedAt} $ ${exe} ${args.join(' ')} (exit ${err === null ? 0 : err.code})\n${stdout}${stderr}`);
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
      });
    });
  }

  note(line: string): void {
    this.#events.push(`${new Date().toISOString()} ${line}`);
  }

  async request(name: string, method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<{ status: number; body: string } | null> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(`${this.nodes.get(name)!.httpUrl}${path}`, {
        method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }), signal: AbortSignal.timeout(options.timeoutMs ?? 2_000),
      });
      return { status: res.status, body: await res.text() };
    } catch {
      return null; // restarting, or no answer in time: callers poll
    }
  }

  async health(name: string): Promise<Health | null> {
    const res = await this.request(name, 'GET', '/api/v1/health', { timeoutMs: 1_000 });
    return res?.status === 200 ? (JSON.parse(res.body) as Health) : null;
  }

  /** Ends every process of this cluster, found by its command line naming this cluster's
   *  directory (a restarted node is not our child), then removes the directory. */
  async stop(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const pids = await this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await rm(this.root, { recursive: true, force: true });
  }

  /** Processes of this cluster (of node `name` only, when given: its executable, its ffmpegs). */
  async pids(name?: string): Promise<number[]> {
    const mark = name === undefined ? `${this.root}/` : `${join(this.root, name)}/`;
    const out: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(mark)) out.push(Number(entry));
    }
    return out;
  }

  transcript(): string {
    return [...[...this.nodes.values()].map((n) => `--- ${n.name} ---\n${n.output}`), '--- test steps ---', ...this.#events].join('\n');
  }
}
