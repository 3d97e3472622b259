// `npm start` (until the ottmesh command lands with issue 3): a three-node Raft cluster in one
// process, each node on its own synced level store, talking over the in-memory transport. It
// elects a leader, commits writes, loses the leader, fails over, brings the old leader back and
// shows it catching up, printing what happens and how long each step took. Then it stops.
//   node scripts/demo.ts [--data-dir DIR] [--writes N]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LevelLogStore } from '../consensus/adapters/level-log-store.ts';
import { MemoryNetwork, MemoryTransport } from '../consensus/adapters/memory-transport.ts';
import type { Entry } from '../consensus/core/index.ts';
import { RaftDriver } from '../consensus/driver.ts';
import type { StateMachine } from '../consensus/state-machine.ts';

const ids = ['node-a', 'node-b', 'node-c'];
const waitLimitMs = 15_000;

/** The replicated state: a list of messages, the same on every node. */
class Journal implements StateMachine {
  lines: string[] = [];
  apply(entry: Entry): void {
    this.lines.push(new TextDecoder().decode(entry.data));
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.lines));
  }
  restore(data: Uint8Array): void {
    this.lines = data.byteLength === 0 ? [] : (JSON.parse(new TextDecoder().decode(data)) as string[]);
  }
}

interface Member { id: string; dir: string; store: LevelLogStore; journal: Journal; driver: RaftDriver }

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, writes: { type: 'string', default: '1000' } } });
const writes = Number(values.writes);
if (!Number.isInteger(writes) || writes < 1 || writes > 1_000_000) {
  console.error('--writes must be a whole number from 1 to 1000000');
  process.exit(2);
}
const root = values['data-dir'] ?? (await mkdtemp(join(tmpdir(), 'ottmesh-demo-')));
const network = new MemoryNetwork();
const t0 = performance.now();
const log = (what: string) => console.log(`${((performance.now() - t0) / 1000).toFixed(3).padStart(7)} s  ${what}`);

async function startMember(id: string): Promise<Member> {
  const dir = join(root, id);
  const store = await LevelLogStore.open(dir);
  const journal = new Journal();
  const driver = new RaftDriver(
    { store, transport: new MemoryTransport({ network }, { id }), stateMachine: journal },
    { id, bootstrap: { voters: ids, learners: [] }, snapshotEveryEntries: 500 },
  );
  driver.on('error', (err) => { console.error(`${id} stopped: ${err.message}`); process.exitCode = 1; });
  await driver.start();
  return { id, dir, store, journal, driver };
}

async function stopMember(m: Member): Promise<void> {
  await m.driver.stop();
  await m.store.close();
}

async function until<T>(what: string, probe: () => T | null | undefined): Promise<T> {
  const deadline = performance.now() + waitLimitMs;
  for (;;) {
    const got = probe();
    if (got !== null && got !== undefined) return got;
    if (performance.now() > deadline) throw new Error(`timed out after ${waitLimitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const leaderOf = (members: Member[]) => members.find((m) => m.driver.status().role === 'leader') ?? null;

async function writeBatch(leader: Member, from: number, count: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => leader.driver.propose(new TextEncoder().encode(`write ${from + i}`))));
  return performance.now() - started;
}

let members: Member[] = [];
try {
  log(`starting ${ids.join(', ')} with their logs in ${root}`);
  members = await Promise.all(ids.map(startMember));
  let leader = await until('a leader', () => leaderOf(members));
  log(`${leader.id} was elected leader in term ${leader.driver.status().term}`);

  const ms = await writeBatch(leader, 0, writes);
  log(`${writes} writes committed on a quorum and applied in ${ms.toFixed(0)} ms (each on disk, synced, before it counted)`);
  const readIndex = await members[2]!.driver.read();
  log(`a linearizable read through ${members[2]!.id} (a follower) is safe at index ${readIndex}`);

  const old = leader;
  await stopMember(old);
  const killedAt = performance.now();
  log(`stopped the leader ${old.id}`);
  const survivors = members.filter((m) => m !== old);
  leader = await until('a new leader', () => leaderOf(survivors));
  log(`${leader.id} took over in term ${leader.driver.status().term}, ${(performance.now() - killedAt).toFixed(0)} ms after the old leader stopped`);
  await writeBatch(leader, writes, writes);
  log(`${writes} more writes committed with one node down`);

  const back = await startMember(old.id);
  members = [...survivors, back];
  log(`restarted ${old.id} from its own log on disk (${back.journal.lines.length} writes from its snapshot)`);
  const target = leader.driver.appliedIndex;
  await until(`${old.id} to catch up`, () => (back.driver.appliedIndex >= target ? true : null));
  log(`${old.id} caught up: applied index ${back.driver.appliedIndex}, ${back.journal.lines.length} writes in its state`);

  const same = members.every((m) => JSON.stringify(m.journal.lines) === JSON.stringify(leader.journal.lines));
  log(same ? `all three nodes hold the same ${leader.journal.lines.length} writes in the same order` : 'the nodes DIFFER: this is a bug');
  if (!same) process.exitCode = 1;
} finally {
  await Promise.all(members.map((m) => stopMember(m).catch(() => undefined)));
  if (values['data-dir'] === undefined) await rm(root, { recursive: true, force: true });
}
