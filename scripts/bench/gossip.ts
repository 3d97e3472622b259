// The gossip bench: `node test/gossip/gossip-bench.ts [--seconds S] [--nodes N] [--skip-idle] [--json]`
// (meant to become `npm run bench -- gossip`: it exports the suite's `run(args)`).
// Runs N node processes (gossip-node.ts) on loopback, fully connected, twice: first with
// TelemetryGossip reporting every second, then as bare libp2p hosts with gossipsub and no
// reports. Measures the time for a report to reach every other node (p50/p99/max, across
// processes by the shared wall clock), each process's cpu (% of one core) and rss, and, at the
// end of the gossip phase, the time from kill -9 of one node until the others mark it down.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface NodeResult {
  elapsedMs: number; cpuPct: number; rssBytes: number; rssMaxBytes: number; states: string[]; downs: number; suspects: number;
  published: Array<[string, number]>; arrived: Array<[string, number]>;
}

const childPath = fileURLToPath(new URL('./gossip-node.ts', import.meta.url));
const warmupMs = 3000;
const detectTimeoutMs = 10_000;

function startChild(dataDir: string, gossip: boolean) {
  const child = spawn(process.execPath, [childPath, '--data-dir', dataDir, ...(gossip ? ['--gossip'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(type: string): Promise<T> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done === true) throw new Error(`bench node exited while waiting for "${type}"`);
      const msg = JSON.parse(value as string) as { type: string };
      if (msg.type === type) return msg as T;
    }
  };
  return { child, next, send: (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`) };
}

interface PhaseResult {
  readonly nodes: NodeResult[];
  /** With gossip: for each survivor, ms from kill -9 of node 0 until it marked node 0 down. */
  readonly downDetectMs: number[];
}

async function phase(nodes: number, seconds: number, gossip: boolean, dataDir: string): Promise<PhaseResult> {
  const children = Array.from({ length: nodes }, () => startChild(dataDir, gossip));
  try {
    const ready = await Promise.all(children.map((c) => c.next<{ id: string; addrs: string[] }>('ready')));
    const ids = ready.map((r) => r.id);
    // Node i dials every node after it: a full mesh, each link dialed once.
    await Promise.all(children.map((c, i) => { c.send({ type: 'peers', ids, addrs: ready.slice(i + 1).flatMap((r) => r.addrs) }); return c.next('started'); }));
    await new Promise((resolve) => setTimeout(resolve, warmupMs));
    for (const c of children) c.send({ type: 'measure' });
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    for (const c of children) c.send({ type: 'result' });
    const results = await Promise.all(children.map((c) => c.next<NodeResult>('result')));
    const downDetectMs = gossip ? await killAndDetect(children, ids[0] ?? '') : [];
    for (const c of children) c.send({ type: 'exit' });
    return { nodes: results, downDetectMs };
  } finally {
    for (const c of children) c.child.kill();
  }
}

/** kill -9 the first node; each survivor's time until it reports that node down. */
async function killAndDetect(children: ReadonlyArray<ReturnType<typeof startChild>>, victimId: string): Promise<number[]> {
  const killedAtMs = performance.timeOrigin + performance.now();
  children[0]?.child.kill('SIGKILL');
  const untilDown = async (c: ReturnType<typeof startChild>): Promise<number> => {
    for (let i = 0; i < 100; i++) {
      const t = await c.next<{ id: string; to: string; atMs: number }>('transition');
      if (t.id === victimId && t.to === 'down') return t.atMs - killedAtMs;
    }
    throw new Error('no down transition among 100');
  };
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`node not marked down within ${detectTimeoutMs} ms`)), detectTimeoutMs).unref());
  return Promise.race([Promise.all(children.slice(1).map(untilDown)), timeout]);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Time from publish to arrival at the last of the other nodes, per report seen by all. */
function reachAllMs(results: readonly NodeResult[]): number[] {
  const arrivals = new Map<string, number[]>();
  for (const r of results) for (const [key, atMs] of r.arrived) arrivals.set(key, [...(arrivals.get(key) ?? []), atMs]);
  const out: number[] = [];
  for (const r of results) {
    for (const [key, sentMs] of r.published) {
      const got = arrivals.get(key) ?? [];
      if (got.length === results.length - 1) out.push(Math.max(...got) - sentMs);
    }
  }
  return out.sort((a, b) => a - b);
}

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({ args: [...args], options: {
    json: { type: 'boolean', default: false }, 'skip-idle': { type: 'boolean', default: false }, seconds: { type: 'string', default: '30' }, nodes: { type: 'string', default: '3' },
  } });
  const seconds = Number(values.seconds);
  const nodes = Number(values.nodes);
  if (!(seconds > 0) || !Number.isInteger(nodes) || nodes < 2) throw new Error('--seconds must be > 0 and --nodes an integer >= 2');
  const dataDir = await mkdtemp(join(tmpdir(), 'ottmesh-gossip-bench-'));
  try {
    const { nodes: withGossip, downDetectMs } = await phase(nodes, seconds, true, dataDir);
    const { nodes: bare } = values['skip-idle'] ? { nodes: [] } : await phase(nodes, seconds, false, dataDir);
    const latency = reachAllMs(withGossip);
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const mib = (b: number) => b / 2 ** 20;
    const result = {
      nodes, seconds, reports_reached_all: latency.length,
      gossip_reach_all_p50_ms: percentile(latency, 50), gossip_reach_all_p99_ms: percentile(latency, 99), gossip_reach_all_max_ms: latency.at(-1) ?? Number.NaN,
      node_cpu_pct_gossip: mean(withGossip.map((r) => r.cpuPct)), node_cpu_pct_idle: mean(bare.map((r) => r.cpuPct)),
      node_rss_mib_gossip: mean(withGossip.map((r) => mib(r.rssMaxBytes))), node_rss_mib_idle: mean(bare.map((r) => mib(r.rssMaxBytes))),
      down_detect_max_ms: Math.max(...downDetectMs),
      false_downs: withGossip.reduce((n, r) => n + r.downs, 0), false_suspects: withGossip.reduce((n, r) => n + r.suspects, 0),
      all_alive: withGossip.every((r) => r.states.length === nodes && r.states.every((s) => s === 'alive')),
    };
    const f = (n: number) => n.toFixed(2);
    console.log(`gossip over ${nodes} node processes on loopback, ${seconds} s measured per phase`);
    console.log(`  report reached all nodes (${latency.length} reports): p50 ${f(result.gossip_reach_all_p50_ms)} ms, p99 ${f(result.gossip_reach_all_p99_ms)} ms, max ${f(result.gossip_reach_all_max_ms)} ms`);
    console.log(`  per node, with 1 s telemetry: cpu ${f(result.node_cpu_pct_gossip)} % of a core, rss ${f(result.node_rss_mib_gossip)} MiB (max)`);
    if (bare.length > 0) console.log(`  per node, libp2p + gossipsub, no reports: cpu ${f(result.node_cpu_pct_idle)} % of a core, rss ${f(result.node_rss_mib_idle)} MiB (max)`);
    console.log(`  while all ran: ${result.false_downs} false down, ${result.false_suspects} false suspect transitions`);
    console.log(`  kill -9 of one node: marked down by the others after ${downDetectMs.map(f).join(', ')} ms`);
    console.log(`  every view saw every node alive at the end: ${result.all_alive}`);
    if (values.json) console.log(JSON.stringify(result));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run(process.argv.slice(2));
