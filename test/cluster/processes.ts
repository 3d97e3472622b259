// Real ottmesh processes on loopback for multi-process tests and benchmarks: start them through
// the CLI (bin/ottmesh), read what they print, wait on their HTTP health, kill them.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ottmeshBin = resolve(import.meta.dirname, '../../bin/ottmesh');

/** A free TCP port on 127.0.0.1 below the ephemeral range is not guaranteed; ask the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

export interface NodeProcess {
  readonly name: string;
  readonly dataDir: string;
  readonly httpUrl: string;
  readonly p2pPort: number;
  readonly httpPort: number;
  child: ChildProcess;
  /** Everything it printed (stdout and stderr), for assertions and for failure reports. */
  output: string;
}

export interface Health {
  ok: boolean;
  nodeId: string;
  name: string;
  role: 'leader' | 'follower' | 'learner';
  leaderId: string | null;
  term: number;
}

export class ProcessCluster {
  readonly root: string;
  readonly nodes = new Map<string, NodeProcess>();

  private constructor(root: string) {
    this.root = root;
  }

  static async create(prefix = 'ottmesh-test-'): Promise<ProcessCluster> {
    return new ProcessCluster(await mkdtemp(join(tmpdir(), prefix)));
  }

  /** Runs `ottmesh <args>` for a node named `name` and keeps it running. */
  async spawnNode(name: string, args: (n: { dataDir: string; p2pPort: number; httpPort: number }) => string[]): Promise<NodeProcess> {
    const existing = this.nodes.get(name);
    const dataDir = existing?.dataDir ?? join(this.root, name);
    const p2pPort = existing?.p2pPort ?? (await freePort());
    const httpPort = existing?.httpPort ?? (await freePort());
    const child = spawn(ottmeshBin, args({ dataDir, p2pPort, httpPort }), { stdio: ['ignore', 'pipe', 'pipe'] });
    const node: NodeProcess = { name, dataDir, p2pPort, httpPort, httpUrl: `http://127.0.0.1:${httpPort}`, child, output: '' };
    child.stdout!.on('data', (b: Buffer) => (node.output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (node.output += b.toString()));
    this.nodes.set(name, node);
    return node;
  }

  init(name: string): Promise<NodeProcess> {
    return this.spawnNode(name, (n) => ['init', '--data-dir', n.dataDir, '--name', name, '--host', '127.0.0.1', '--p2p-port', String(n.p2pPort), '--http-port', String(n.httpPort)]);
  }

  join(name: string, token: string): Promise<NodeProcess> {
    return this.spawnNode(name, (n) => ['join', token, '--data-dir', n.dataDir, '--name', name, '--host', '127.0.0.1', '--p2p-port', String(n.p2pPort), '--http-port', String(n.httpPort)]);
  }

  restart(name: string): Promise<NodeProcess> {
    return this.spawnNode(name, (n) => ['start', '--data-dir', n.dataDir]);
  }

  async adminToken(name: string): Promise<string> {
    return (await readFile(join(this.nodes.get(name)!.dataDir, 'admin-token'), 'utf8')).trim();
  }

  /** kill -9, and wait until the process is gone. */
  async kill(name: string): Promise<void> {
    const node = this.nodes.get(name)!;
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    const gone = new Promise((r) => node.child.once('exit', r));
    node.child.kill('SIGKILL');
    await gone;
  }

  async health(name: string): Promise<Health | null> {
    try {
      const res = await fetch(`${this.nodes.get(name)!.httpUrl}/api/v1/health`, { signal: AbortSignal.timeout(1000) });
      return res.ok ? ((await res.json()) as Health) : null;
    } catch {
      return null; // not up (yet): callers poll with a deadline
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((n) => this.kill(n)));
    await rm(this.root, { recursive: true, force: true });
  }

  /** Everything every node printed, for a failing test's message. */
  transcript(): string {
    return [...this.nodes.values()].map((n) => `--- ${n.name} ---\n${n.output}`).join('\n');
  }
}

/** Polls `probe` every `everyMs` until it returns non-null, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null> | T | null, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== null) return got;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
