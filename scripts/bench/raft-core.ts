// The pure core's commit rate, without disk or timers: three RawNodes over MemoryStorage in one
// loop, messages passed synchronously. It bounds what the driver could reach and shows how much
// of the driver's time goes to the core.
import { MemoryStorage, RawNode } from '../../consensus/core/index.ts';
import type { Message, NodeId } from '../../consensus/core/index.ts';

interface CoreNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly raw: RawNode;
  applied: number;
}

/** Compact each node's in-memory log every this many applied entries, keeping a short tail. */
const compactEveryEntries = 10_000;
const compactKeepEntries = 1_000;
/** A pump that does not go quiet within this many rounds is a bug, not a slow machine. */
const maxPumpRounds = 10_000;

export interface CoreResult {
  readonly commits: number;
  readonly elapsedMs: number;
  readonly commitsPerS: number;
}

/** Propose `batch` entries at a time at the leader and pump until all are applied everywhere,
 *  for `durationMs`. */
export function measureCore(durationMs: number, batch: number, payload: Uint8Array): CoreResult {
  const ids = ['c1', 'c2', 'c3'];
  const nodes = ids.map((id): CoreNode => {
    const storage = MemoryStorage.bootstrap({ voters: ids, learners: [] });
    return { id, storage, raw: new RawNode({ id, storage }), applied: 0 };
  });
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const leader = nodes[0]!;
  leader.raw.campaign();
  pump(nodes, byId);
  if (leader.raw.status().role !== 'leader') throw new Error('core bench: c1 did not win its election');

  const start = performance.now();
  let commits = 0;
  while (performance.now() - start < durationMs) {
    const target = leader.applied + batch;
    for (let i = 0; i < batch; i++) leader.raw.propose(payload);
    pump(nodes, byId);
    if (nodes.some((n) => n.applied < target)) throw new Error(`core bench: a batch was not applied everywhere (want ${target})`);
    commits += batch;
  }
  const elapsedMs = performance.now() - start;
  return { commits, elapsedMs, commitsPerS: (commits / elapsedMs) * 1000 };
}

/** Work through every node's Readies (persist = MemoryStorage, send = queue) until all are idle. */
function pump(nodes: readonly CoreNode[], byId: ReadonlyMap<NodeId, CoreNode>): void {
  let queue: Message[] = [];
  for (let round = 0; round < maxPumpRounds; round++) {
    let progressed = false;
    for (const n of nodes) {
      if (!n.raw.hasReady()) continue;
      progressed = true;
      const rd = n.raw.ready();
      if (rd.snapshot !== null) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
      for (const m of rd.messages) queue.push(m);
      for (const e of rd.committedEntries) if (e.type === 'normal' && e.data.byteLength > 0) n.applied++;
      const last = rd.committedEntries.at(-1);
      n.raw.advance(rd);
      if (last !== undefined && last.index - n.storage.firstIndex() >= compactEveryEntries) {
        n.storage.createSnapshot(last.index, n.raw.status().appliedConf, new Uint8Array(), compactKeepEntries);
      }
    }
    const delivering = queue;
    queue = [];
    for (const m of delivering) byId.get(m.to)?.raw.step(m);
    if (!progressed && delivering.length === 0) return;
  }
  throw new Error(`core bench: the cluster did not go quiet within ${maxPumpRounds} rounds`);
}
