// `npm run bench -- raft [--json] [--seconds S] [--inflight N] [--payload BYTES]`
// Three RaftDrivers in one process, each on a real LevelLogStore (every save is a synced batch)
// in a temp dir, over a MemoryNetwork. Measures, at the leader (latency = propose() call to its
// resolution, i.e. applied locally):
//   1. commit latency at low load: one proposal in flight, sequential;
//   2. throughput and latency under load: `inflight` proposals kept outstanding for `seconds`;
//   3. the pure core's rate without disk (raft-core.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LevelLogStore } from '../../consensus/adapters/level-log-store.ts';
import { MemoryNetwork, MemoryTransport } from '../../consensus/adapters/memory-transport.ts';
import type { Entry } from '../../consensus/core/index.ts';
import { RaftDriver } from '../../consensus/driver.ts';
import type { LogStore, LogWrite, PersistedState } from '../../consensus/log-store.ts';
import type { StateMachine } from '../../consensus/state-machine.ts';
import { measureCore } from './raft-core.ts';

const ids = ['n1', 'n2', 'n3'];
const warmupProposals = 2_000;
const lowLoadProposals = 2_000;
/** Upper bound on proposals in the load phase, whatever the duration. */
const maxLoadProposals = 2_000_000;
const leaderWaitMs = 10_000;

/** Counts and sums what the bench's state machine sees; snapshots are the two numbers. */
class CountingMachine implements StateMachine {
  count = 0;
  bytes = 0;
  apply(entry: Entry): void {
    this.count++;
    this.bytes += entry.data.byteLength;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([this.count, this.bytes]));
  }
  restore(data: Uint8Array): void {
    [this.count, this.bytes] = data.byteLength === 0 ? [0, 0] : (JSON.parse(new TextDecoder().decode(data)) as [number, number]);
  }
}

/** A LogStore that counts synced saves and the entries they carried. */
class MeteredStore implements LogStore {
  readonly inner: LogStore;
  saves = 0;
  entries = 0;
  /** Duration of each save while `recording` (the load phase only). */
  readonly saveMs: number[] = [];
  recording = false;
  constructor(inner: LogStore) {
    this.inner = inner;
  }
  load(): Promise<PersistedState> {
    return this.inner.load();
  }
  async save(write: LogWrite): Promise<void> {
    const t = performance.now();
    await this.inner.save(write);
    if (this.recording) this.saveMs.push(performance.now() - t);
    this.saves++;
    this.entries += write.entries.length;
  }
  compact(...args: Parameters<LogStore['compact']>): Promise<void> {
    return this.inner.compact(...args);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Node {
  readonly driver: RaftDriver;
  readonly store: MeteredStore;
  readonly sm: CountingMachine;
}

async function startCluster(root: string): Promise<Node[]> {
  const network = new MemoryNetwork();
  const nodes: Node[] = [];
  for (const id of ids) {
    const store = new MeteredStore(await LevelLogStore.open(join(root, id)));
    const sm = new CountingMachine();
    const transport = new MemoryTransport({ network }, { id });
    const driver = new RaftDriver({ store, transport, stateMachine: sm }, { id, bootstrap: { voters: ids, learners: [] } });
    await driver.start();
    nodes.push({ driver, store, sm });
  }
  nodes[0]!.driver.campaign();
  const deadline = Date.now() + leaderWaitMs;
  while (nodes[0]!.driver.status().role !== 'leader') {
    if (Date.now() > deadline) throw new Error(`raft bench: no leader within ${leaderWaitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return nodes;
}

function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!;
}

async function sequential(leader: RaftDriver, count: number, payload: Uint8Array): Promise<number[]> {
  const latMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await leader.propose(payload);
    latMs.push(performance.now() - t);
  }
  return latMs.sort((a, b) => a - b);
}

async function underLoad(leader: RaftDriver, inflight: number, durationMs: number, payload: Uint8Array): Promise<{ latMs: number[]; elapsedMs: number }> {
  const latMs: number[] = [];
  const start = performance.now();
  const deadline = start + durationMs;
  let started = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && started < maxLoadProposals) {
      started++;
      const t = performance.now();
      await leader.propose(payload);
      latMs.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return { latMs: latMs.sort((a, b) => a - b), elapsedMs: performance.now() - start };
}

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      json: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '5' },
      inflight: { type: 'string', default: '1024' },
      payload: { type: 'string', default: '128' },
    },
  });
  const durationMs = Number(values.seconds) * 1000;
  const inflight = Number(values.inflight);
  const payload = new Uint8Array(Number(values.payload)).fill(0x61);
  const root = await mkdtemp(join(tmpdir(), 'ottmesh-bench-raft-'));
  try {
    const nodes = await startCluster(root);
    const leader = nodes[0]!;
    await sequential(leader.driver, warmupProposals, payload);
    const low = await sequential(leader.driver, lowLoadProposals, payload);
    const before = { saves: leader.store.saves, entries: leader.store.entries };
    leader.store.recording = true;
    const load = await underLoad(leader.driver, inflight, durationMs, payload);
    leader.store.recording = false;
    const saves = leader.store.saves - before.saves;
    const savedEntries = leader.store.entries - before.entries;
    const saveMs = leader.store.saveMs.sort((a, b) => a - b);
    const core = measureCore(Math.min(durationMs, 3_000), inflight, payload);
    const applied = nodes.map((n) => n.sm.count);
    for (const n of nodes) await n.driver.stop();
    for (const n of nodes) await n.store.close();

    const result = {
      commits_per_s: Math.round((load.latMs.length / load.elapsedMs) * 1000),
      commit_p50_ms: round3(percentile(low, 50)),
      commit_p99_ms: round3(percentile(low, 99)),
      load_p50_ms: round3(percentile(load.latMs, 50)),
      load_p99_ms: round3(percentile(load.latMs, 99)),
      core_commits_per_s: Math.round(core.commitsPerS),
      inflight,
      payload_bytes: payload.byteLength,
      load_seconds: round3(load.elapsedMs / 1000),
      load_commits: load.latMs.length,
      leader_saves_per_s: Math.round((saves / load.elapsedMs) * 1000),
      leader_entries_per_save: round3(savedEntries / Math.max(1, saves)),
      leader_save_p50_ms: round3(percentile(saveMs, 50)),
      leader_save_p99_ms: round3(percentile(saveMs, 99)),
      applied_per_node: applied,
      node_version: process.version,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    };
    printTable(result);
    if (values.json) console.log(JSON.stringify(result));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function printTable(r: Record<string, unknown>): void {
  const rows: Array<[string, string]> = [
    ['low load (1 in flight): commit p50', `${String(r.commit_p50_ms)} ms`],
    ['low load (1 in flight): commit p99', `${String(r.commit_p99_ms)} ms`],
    [`under load (${String(r.inflight)} in flight): commits/s`, String(r.commits_per_s)],
    ['under load: commit p50', `${String(r.load_p50_ms)} ms`],
    ['under load: commit p99', `${String(r.load_p99_ms)} ms`],
    ['under load: leader synced saves/s', String(r.leader_saves_per_s)],
    ['under load: entries per leader save', String(r.leader_entries_per_save)],
    ['under load: leader save (synced batch) p50', `${String(r.leader_save_p50_ms)} ms`],
    ['under load: leader save (synced batch) p99', `${String(r.leader_save_p99_ms)} ms`],
    ['core only (no disk, no timers): commits/s', String(r.core_commits_per_s)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`raft bench: 3 drivers in one process, level stores with sync, memory transport, ${String(r.payload_bytes)}-byte proposals`);
  console.log(`node ${String(r.node_version)} on ${String(r.machine)}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
