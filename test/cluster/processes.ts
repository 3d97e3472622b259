// Real ottmesh processes for multi-process tests and benchmarks: start them through the CLI
// (bin/ottmesh), read what they print, call their HTTP API, kill them. A node runs on loopback,
// or inside a network namespace (`via: ['ip', 'netns', 'exec', NS]`, see netns.ts), where the
// test process cannot connect: its HTTP calls then go through curl run in that namespace.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ottmeshBin = resolve(import.meta.dirname, '../../bin/ottmesh');

/** One-shot commands (token create, a join expected to fail) are killed after this by default. */
export const defaultRunTimeoutMs = 90_000;
/** An HTTP call that gets no answer within this counts as no answer (null). */
export const defaultRequestTimeoutMs = 2_000;

/** Every node process still running, killed when this process exits however it ends a test
 *  (a test that timed out, an uncaught error): no orphaned nodes. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (checked by binding it), from 20000-31999. */
export async function freePort(): Promise<number> {
  // Below Linux's ephemeral range (32768-60999), where the kernel never hands a port to an
  // outgoing connection: a port from port 0 could be taken by one between this check and the
  // node's bind (seen: "p2p port 44815 ... is already in use").
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
    if (attempt >= 50) throw new Error('no free port between 20000 and 32000 after 50 tries');
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once('error', () => ok(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => ok(true)));
  });
}

/** Where a node runs: its address, and a command prefix that puts it there (none: here). */
export interface Place {
  readonly host: string;
  readonly via: readonly string[];
  /** Fixed ports (a namespace has its own port space); omitted: free loopback ports. */
  readonly p2pPort?: number;
  readonly httpPort?: number;
  /** True when this process can connect to `host` itself although the node runs `via` a
   *  namespace (this process runs on the lab's bridge too, e.g. the chaos suite's client
   *  host): HTTP calls then go straight there, not through curl. */
  readonly reachable?: boolean;
}

export const loopback: Place = { host: '127.0.0.1', via: [] };

export interface NodeProcess {
  readonly name: string;
  readonly dataDir: string;
  readonly httpUrl: string;
  readonly p2pPort: number;
  readonly httpPort: number;
  readonly place: Place;
  child: ChildProcess;
  /** Everything this run printed (stdout and stderr), for assertions and failure reports. */
  output: string;
  /** What earlier runs of the same node printed (before a restart). */
  history: string;
}

export interface Health {
  ok: boolean;
  nodeId: string;
  name: string;
  role: 'leader' | 'follower' | 'learner';
  leaderId: string | null;
  term: number;
}

export interface ClusterView {
  clusterId: string;
  term: number;
  leader: { id: string; name: string } | null;
  nodes: { id: string; name: string; role: 'voter' | 'learner'; state: 'alive' | 'suspect' | 'down'; enabled: boolean; httpUrl: string }[];
}

export interface RunResult {
  /** Exit code, or null when killed (timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** What a cluster's processes run: bin/ottmesh by default, or e.g. the single executable
 *  (test/exe) with an environment of its own. */
export interface ClusterCommand {
  /** The ottmesh command to run (default bin/ottmesh). */
  readonly bin?: string;
  /** The environment of every node and one-shot command (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Their working directory (default: this process's). */
  readonly cwd?: string;
}

export class ProcessCluster {
  readonly root: string;
  readonly nodes = new Map<string, NodeProcess>();
  /** Test steps (note) and one-shot commands with what they printed, for failure reports. */
  readonly #events: string[] = [];
  readonly #bin: string;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #cwd: string | undefined;

  private constructor(root: string, command: ClusterCommand) {
    this.root = root;
    this.#bin = command.bin ?? ottmeshBin;
    this.#env = command.env;
    this.#cwd = command.cwd;
  }

  static async create(prefix = 'ottmesh-test-', command: ClusterCommand = {}): Promise<ProcessCluster> {
    return new ProcessCluster(await mkdtemp(join(tmpdir(), prefix)), command);
  }

  /** Runs `ottmesh <args>` for a node named `name` and keeps it running. A node spawned again
   *  (restart) keeps its data dir, ports and place. */
  async spawnNode(name: string, args: (n: { dataDir: string; p2pPort: number; httpPort: number; host: string }) => string[], place: Place = loopback): Promise<NodeProcess> {
    const existing = this.nodes.get(name);
    const where = existing?.place ?? place;
    const dataDir = existing?.dataDir ?? join(this.root, name);
    const p2pPort = existing?.p2pPort ?? where.p2pPort ?? (await freePort());
    const httpPort = existing?.httpPort ?? where.httpPort ?? (await freePort());
    const argv = [...where.via, this.#bin, ...args({ dataDir, p2pPort, httpPort, host: where.host })];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...this.#spawnOptions() });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const history = existing === undefined ? '' : `${existing.history}${existing.output}[exit ${exitOf(existing.child)}; restarted]\n`;
    const node: NodeProcess = { name, dataDir, p2pPort, httpPort, place: where, httpUrl: `http://${where.host}:${httpPort}`, child, output: '', history };
    child.stdout!.on('data', (b: Buffer) => (node.output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (node.output += b.toString()));
    this.nodes.set(name, node);
    return node;
  }

  init(name: string, place: Place = loopback): Promise<NodeProcess> {
    return this.spawnNode(name, (n) => ['init', '--data-dir', n.dataDir, '--name', name, '--host', n.host, '--p2p-port', String(n.p2pPort), '--http-port', String(n.httpPort)], place);
  }

  join(name: string, token: string, place: Place = loopback): Promise<NodeProcess> {
    return this.spawnNode(name, (n) => ['join', token, '--data-dir', n.dataDir, '--name', name, '--host', n.host, '--p2p-port', String(n.p2pPort), '--http-port', String(n.httpPort)], place);
  }

  restart(name: string): Promise<NodeProcess> {
    return this.spawnNode(name, (n) => ['start', '--data-dir', n.dataDir]);
  }

  /** Waits until node `name` printed a line matching `line` (e.g. /joined cluster/); throws
   *  at once if the process exits first. */
  async waitPrinted(name: string, line: RegExp, timeoutMs: number): Promise<void> {
    await waitFor(`${name} to print ${line}`, () => {
      const node = this.nodes.get(name)!;
      if (node.child.exitCode !== null || node.child.signalCode !== null) throw new Error(`${name} exited (${exitOf(node.child)}) before printing ${line}`);
      return line.test(node.output) ? true : null;
    }, timeoutMs);
  }

  /** Runs a one-shot `ottmesh <args>` to its end (killed after `timeoutMs`). */
  async run(args: readonly string[], options: { via?: readonly string[]; timeoutMs?: number } = {}): Promise<RunResult> {
    const argv = [...(options.via ?? []), this.#bin, ...args];
    const started = performance.now();
    const result = await new Promise<RunResult>((ok) => {
      execFile(argv[0]!, argv.slice(1), { timeout: options.timeoutMs ?? defaultRunTimeoutMs, killSignal: 'SIGKILL', ...this.#spawnOptions() }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        ok({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
      });
    });
    this.#events.push(`${new Date().toISOString()} $ ottmesh ${args.map(shorten).join(' ')}   (exit ${result.code}, ${result.ms} ms)\n${result.stdout}${result.stderr}`);
    return result;
  }

  #spawnOptions(): { env?: NodeJS.ProcessEnv; cwd?: string } {
    return { ...(this.#env === undefined ? {} : { env: this.#env }), ...(this.#cwd === undefined ? {} : { cwd: this.#cwd }) };
  }

  /** Records a test step (kill, cut, heal ...) with the time, for the transcript: the nodes
   *  print ISO times too, so what they did can be lined up with what the test did. */
  note(step: string): void {
    this.#events.push(`${new Date().toISOString()} ${step}`);
  }

  /** `ottmesh token create --data-dir` on node `name` (run where the node runs); the token. */
  async createToken(name: string, flags: readonly string[] = []): Promise<string> {
    const node = this.nodes.get(name)!;
    const res = await this.run(['token', 'create', '--data-dir', node.dataDir, ...flags], { via: node.place.via, timeoutMs: 30_000 });
    const token = res.stdout.trim().split('\n').at(-1) ?? '';
    if (res.code !== 0 || token === '') throw new Error(`token create on ${name} failed (exit ${res.code}): ${res.stderr.trim()}`);
    return token;
  }

  async adminToken(name: string): Promise<string> {
    return (await readFile(join(this.nodes.get(name)!.dataDir, 'admin-token'), 'utf8')).trim();
  }

  /** kill -9 (or `signal`), and wait until the process is gone. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.nodes.get(name)!;
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    const gone = new Promise((r) => node.child.once('exit', r));
    node.child.kill(signal);
    await gone;
  }

  /** One HTTP call to node `name`'s API; null when it does not answer (down, or timed out). */
  async request(name: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, options: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<HttpAnswer | null> {
    const node = this.nodes.get(name)!;
    const url = `${node.httpUrl}${path}`;
    const timeoutMs = options.timeoutMs ?? defaultRequestTimeoutMs;
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (node.place.via.length > 0 && node.place.reachable !== true) return curlIn(node.place.via, method, url, headers, body, timeoutMs);
    try {
      const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, body: await res.text() };
    } catch {
      return null; // not up (yet), or no answer in time: callers poll with a deadline
    }
  }

  async health(name: string): Promise<Health | null> {
    const res = await this.request(name, 'GET', '/api/v1/health', { timeoutMs: 1000 });
    return res?.status === 200 ? (JSON.parse(res.body) as Health) : null;
  }

  /** GET /api/v1/cluster through node `name` (read-index: current), or null. */
  async clusterView(name: string, token: string, timeoutMs = defaultRequestTimeoutMs): Promise<ClusterView | null> {
    const res = await this.request(name, 'GET', '/api/v1/cluster', { token, timeoutMs });
    return res?.status === 200 ? (JSON.parse(res.body) as ClusterView) : null;
  }

  /** The leader's name when every given node answers and names the same leader among them. */
  async agreedLeader(names: readonly string[]): Promise<string | null> {
    const healths = await Promise.all(names.map((n) => this.health(n)));
    const leaderId = healths[0]?.leaderId ?? null;
    if (leaderId === null || healths.some((h) => h === null || h.leaderId !== leaderId)) return null;
    const index = healths.findIndex((h) => h!.nodeId === leaderId && h!.role === 'leader');
    return index < 0 ? null : names[index]!;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((n) => this.kill(n)));
    await rm(this.root, { recursive: true, force: true });
  }

  /** Everything every node and one-shot command printed, for a failing test's message. */
  transcript(): string {
    const nodes = [...this.nodes.values()].map((n) => `--- ${n.name} (${exitOf(n.child)}) ---\n${n.history}${n.output}`);
    const events = this.#events.length === 0 ? [] : ['--- test steps and one-shot commands ---', ...this.#events];
    return [...nodes, ...events].join('\n');
  }
}

function exitOf(child: ChildProcess): string {
  if (child.signalCode !== null) return `killed by ${child.signalCode}`;
  return child.exitCode === null ? 'running' : `exit ${child.exitCode}`;
}

/** Join tokens are long: keep transcripts readable. */
function shorten(arg: string): string {
  return arg.length > 60 ? `${arg.slice(0, 24)}…${arg.slice(-12)}` : arg;
}

/** An HTTP call made by curl inside a network namespace; null when there is no answer. */
async function curlIn(via: readonly string[], method: string, url: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<HttpAnswer | null> {
  const args = [...via, 'curl', '-s', '-X', method, '-m', String(timeoutMs / 1000), '-w', '\n%{http_code}'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (body !== undefined) args.push('--data-binary', body);
  args.push(url);
  return new Promise((ok) => {
    execFile(args[0]!, args.slice(1), { timeout: timeoutMs + 2000 }, (err, stdout) => {
      const cut = stdout.lastIndexOf('\n');
      const status = Number(stdout.slice(cut + 1));
      ok(err !== null || !(status > 0) ? null : { status, body: stdout.slice(0, cut) });
    });
  });
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
