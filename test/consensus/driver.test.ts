// Three RaftDrivers over a MemoryNetwork, once with MemoryLogStores and once with real
// LevelLogStores in temp dirs: elections, replication, failover, restart and catch-up (from the
// log and by snapshot), linearizable reads, typed errors, and a store failure stopping the node.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LevelLogStore } from '../../consensus/adapters/level-log-store.ts';
import { MemoryLogStore } from '../../consensus/adapters/memory-log-store.ts';
import { MemoryNetwork, MemoryTransport } from '../../consensus/adapters/memory-transport.ts';
import { NotLeaderError } from '../../consensus/core/index.ts';
import type { Entry, NodeId } from '../../consensus/core/index.ts';
import { RaftDriver, type RaftDriverInit } from '../../consensus/driver.ts';
import { DriverStoppedError, ForwardUnconfirmedError, ProposalLostError, ProposalOutcomeUnknownError, ReadTimeoutError, StoppedInFlightError, TooManyPendingError } from '../../consensus/driver-errors.ts';
import { PendingProposals } from '../../consensus/proposals.ts';
import type { LogStore, LogWrite } from '../../consensus/log-store.ts';
import type { StateMachine } from '../../consensus/state-machine.ts';

const ids: readonly NodeId[] = ['n1', 'n2', 'n3'];
const tickIntervalMs = 10;
const waitMs = 5_000; // every wait is bounded by this; elections take 100-200 ms at 10 ms ticks

/** Applied commands in order; the snapshot is that list as JSON. */
class ListMachine implements StateMachine {
  items: string[] = [];
  /** Item counts of the non-empty snapshots restored (a snapshot from the leader, or at start). */
  restored: number[] = [];
  /** Item counts of the snapshots this node took. */
  taken: number[] = [];
  apply(entry: Entry): void {
    this.items.push(new TextDecoder().decode(entry.data));
  }
  snapshot(): Uint8Array {
    this.taken.push(this.items.length);
    return new TextEncoder().encode(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = data.byteLength === 0 ? [] : (JSON.parse(new TextDecoder().decode(data)) as string[]);
    if (data.byteLength > 0) this.restored.push(this.items.length);
  }
}

interface StoreKind {
  readonly name: string;
  /** Stores for one new cluster: nothing shared with earlier clusters. */
  fresh(): Stores;
  cleanup(): Promise<void>;
}

interface Stores {
  open(id: NodeId): Promise<LogStore>;
  /** The same node's store after a restart. */
  reopen(id: NodeId, old: LogStore): Promise<LogStore>;
}

const memoryKind: StoreKind = {
  name: 'memory',
  fresh: () => ({ open: async () => new MemoryLogStore(), reopen: async (_id, old) => (old as MemoryLogStore).reopen() }),
  cleanup: async () => {},
};

async function levelKind(): Promise<StoreKind> {
  const root = await mkdtemp(join(tmpdir(), 'ottmesh-driver-'));
  let clusters = 0;
  return {
    name: 'level',
    fresh: () => {
      const dir = join(root, `cluster-${++clusters}`);
      return { open: (id) => LevelLogStore.open(join(dir, id)), reopen: (id) => LevelLogStore.open(join(dir, id)) };
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

interface Member {
  driver: RaftDriver;
  store: LogStore;
  sm: ListMachine;
  errors: Error[];
}

class Cluster {
  readonly network = new MemoryNetwork();
  readonly members = new Map<NodeId, Member>();
  readonly #stores: Stores;
  readonly #init: Partial<RaftDriverInit>;

  constructor(kind: StoreKind, init: Partial<RaftDriverInit> = {}) {
    this.#stores = kind.fresh();
    this.#init = init;
  }

  /** Start `id`; a member of the initial cluster bootstraps, any other joins with no configuration. */
  async start(id: NodeId, store?: LogStore): Promise<Member> {
    const sm = new ListMachine();
    const s = store ?? (await this.#stores.open(id));
    const transport = new MemoryTransport({ network: this.network }, { id });
    const bootstrap = ids.includes(id) ? { bootstrap: { voters: [...ids], learners: [] } } : {};
    const driver = new RaftDriver({ store: s, transport, stateMachine: sm, logger: { error: () => {} } },
      { id, ...bootstrap, tickIntervalMs, ...this.#init });
    const member: Member = { driver, store: s, sm, errors: [] };
    driver.on('error', (err) => member.errors.push(err));
    await driver.start();
    this.members.set(id, member);
    return member;
  }

  async stop(id: NodeId): Promise<LogStore> {
    const m = this.member(id);
    await m.driver.stop();
    await m.store.close();
    this.members.delete(id);
    return m.store;
  }

  async restart(id: NodeId, old: LogStore): Promise<Member> {
    return this.start(id, await this.#stores.reopen(id, old));
  }

  member(id: NodeId): Member {
    const m = this.members.get(id);
    assert.ok(m, `${id} is not running`);
    return m;
  }

  /** The single leader every running member (but `except`) agrees on. */
  async leader(except?: NodeId): Promise<Member> {
    let found: Member | undefined;
    await waitFor('a leader all running members agree on', () => {
      const views = [...this.members.values()].map((m) => m.driver.status()).filter((s) => s.id !== except);
      const leaders = views.filter((s) => s.role === 'leader');
      if (leaders.length !== 1 || !views.every((s) => s.leaderId === leaders[0]!.id)) return false;
      found = this.members.get(leaders[0]!.id);
      return true;
    });
    return found!;
  }

  async appliedEverywhere(items: readonly string[]): Promise<void> {
    await waitFor(`${JSON.stringify(items)} applied on every member`, () =>
      [...this.members.values()].every((m) => m.sm.items.length === items.length));
    for (const [id, m] of this.members) assert.deepEqual(m.sm.items, items, `state of ${id}`);
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stop(id);
  }
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${waitMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function withCluster(kind: StoreKind, body: (c: Cluster) => Promise<void>, init: Partial<RaftDriverInit> = {}): Promise<void> {
  const c = new Cluster(kind, init);
  try {
    for (const id of ids) await c.start(id);
    await body(c);
    for (const [id, m] of c.members) assert.deepEqual(m.errors, [], `no fatal errors on ${id}`);
  } finally {
    await c.stopAll();
  }
}

for (const makeKind of [async () => memoryKind, levelKind]) {
  const kind = await makeKind();
  describe(`driver over ${kind.name} log stores`, () => {
    after(() => kind.cleanup());

    test('elects a leader and applies a proposal on every node', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const placed = await leader.driver.propose(bytes('x=1'));
      assert.equal(placed.term, leader.driver.status().term);
      await c.appliedEverywhere(['x=1']);
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.driver.propose(bytes(`k${i}`))));
      assert.deepEqual(many.map((p) => p.index), many.map((_, i) => placed.index + 1 + i), 'consecutive indexes, in order');
      await c.appliedEverywhere(['x=1', ...Array.from({ length: 50 }, (_, i) => `k${i}`)]);
    }));

    test('a proposal on a follower rejects with NotLeaderError naming the leader', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const follower = [...c.members.values()].find((m) => m !== leader)!;
      await assert.rejects(follower.driver.propose(bytes('nope')), (err: unknown) => {
        assert.ok(err instanceof NotLeaderError);
        assert.equal(err.leaderId, leader.driver.id);
        return true;
      });
    }));

    test('after the leader stops, a new leader is elected and accepts writes', () => withCluster(kind, async (c) => {
      const first = await c.leader();
      await first.driver.propose(bytes('before'));
      await c.appliedEverywhere(['before']);
      await c.stop(first.driver.id);
      const second = await c.leader();
      assert.notEqual(second.driver.id, first.driver.id);
      await second.driver.propose(bytes('after'));
      await c.appliedEverywhere(['before', 'after']);
    }));

    test('a stopped node restarted from its store catches up', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const victim = ids.find((id) => id !== leader.driver.id)!;
      await leader.driver.propose(bytes('a'));
      await c.appliedEverywhere(['a']);
      const old = await c.stop(victim);
      for (const s of ['b', 'c', 'd']) await leader.driver.propose(bytes(s));
      await c.restart(victim, old);
      await c.appliedEverywhere(['a', 'b', 'c', 'd']);
    }));

    test('a node that missed compacted entries catches up by snapshot after restart', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const victim = ids.find((id) => id !== leader.driver.id)!;
      const old = await c.stop(victim);
      const items = Array.from({ length: 60 }, (_, i) => `s${i}`);
      for (const s of items) await leader.driver.propose(bytes(s));
      const back = await c.restart(victim, old);
      await c.appliedEverywhere(items);
      assert.ok(back.sm.restored.length > 0 && back.sm.restored[0]! > 0, 'the leader sent a snapshot');
    }, { snapshotEveryEntries: 10, snapshotKeepEntries: 2 }));

    test('snapshots: every snapshotEveryEntries entries, at most one per snapshotMinIntervalMs unless snapshotMaxEntries piled up', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const before = leader.sm.items.length;
      for (let i = 0; i < 30; i++) await leader.driver.propose(bytes(`a${i}`));
      assert.equal(leader.sm.taken.length, 1, `one snapshot within the interval (taken at ${leader.sm.taken.join(', ')})`);
      assert.ok(leader.sm.taken[0]! <= before + 5, 'the first one when 5 entries were due');
      for (let i = 0; i < 20; i++) await leader.driver.propose(bytes(`b${i}`));
      assert.equal(leader.sm.taken.length, 2, 'another once 40 entries piled up');
      assert.ok(leader.sm.taken[1]! - leader.sm.taken[0]! >= 40);
    }, { snapshotEveryEntries: 5, snapshotMinIntervalMs: 3_600_000, snapshotMaxEntries: 40 }));

    test('linearizable reads on the leader and on a follower see every acknowledged write', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const follower = [...c.members.values()].find((m) => m !== leader)!;
      const placed = await leader.driver.propose(bytes('w'));
      const leaderRead = await leader.driver.read();
      assert.ok(leaderRead >= placed.index);
      assert.deepEqual(leader.sm.items, ['w']);
      const followerRead = await follower.driver.read();
      assert.ok(followerRead >= placed.index);
      assert.ok(follower.driver.appliedIndex >= placed.index);
      assert.deepEqual(follower.sm.items, ['w'], 'the follower applied the write before its read resolved');
    }));

    test('a proposal stranded on an isolated leader rejects with ProposalLostError once it rejoins', () => withCluster(kind, async (c) => {
      const old = await c.leader();
      c.network.isolate(old.driver.id);
      const stranded = old.driver.propose(bytes('stranded'));
      stranded.catch(() => {}); // observed below, after the partition heals
      const next = await c.leader(old.driver.id);
      await next.driver.propose(bytes('winner'));
      c.network.healAll();
      await assert.rejects(stranded, ProposalLostError);
      await c.appliedEverywhere(['winner']);
    }));

    test('a read on a leader cut off from its quorum times out instead of answering', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      c.network.isolate(leader.driver.id);
      await assert.rejects(leader.driver.read(), ReadTimeoutError);
      c.network.healAll();
    }, { readTimeoutTicks: 5 }));

    test('leadership moves to the node it is transferred to', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const target = ids.find((id) => id !== leader.driver.id)!;
      leader.driver.transferLeadership(target);
      await waitFor(`${target} leading`, () => c.member(target).driver.status().role === 'leader');
      await c.member(target).driver.propose(bytes('on the new leader'));
      await c.appliedEverywhere(['on the new leader']);
    }));

    test('a new node joins as a learner, catches up, and is promoted to voter', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      for (const s of ['a', 'b']) await leader.driver.propose(bytes(s));
      await leader.driver.proposeConfChange({ type: 'add-learner', node: 'n4' });
      assert.deepEqual(leader.driver.status().conf.learners, ['n4'], 'the change is in effect when the promise resolves');
      const joiner = await c.start('n4');
      await c.appliedEverywhere(['a', 'b']);
      await leader.driver.proposeConfChange({ type: 'promote', node: 'n4' });
      assert.ok(leader.driver.status().conf.voters.includes('n4'));
      await waitFor('n4 sees itself as a voter', () => joiner.driver.status().conf.voters.includes('n4'));
      await leader.driver.propose(bytes('c'));
      await c.appliedEverywhere(['a', 'b', 'c']);
    }));

    test('with forwarding on, a proposal on a follower goes to the leader and resolves once the follower applied it', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const follower = [...c.members.values()].find((m) => m !== leader)!;
      const placed = await Promise.all(['f1', 'f2', 'f3'].map((s) => follower.driver.propose(bytes(s))));
      assert.ok(follower.driver.appliedIndex >= Math.max(...placed.map((p) => p.index)), 'applied here when it resolves');
      assert.deepEqual(follower.sm.items, ['f1', 'f2', 'f3']);
      assert.ok(placed.every((p) => p.term === leader.driver.status().term), "placed in the leader's term");
      await c.appliedEverywhere(['f1', 'f2', 'f3']);
    }, { forwardProposals: true }));

    test('with forwarding on, one turn of proposals larger than a MsgProp may carry goes in several, in order', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const follower = [...c.members.values()].find((m) => m !== leader)!;
      const items = Array.from({ length: 6 }, (_, i) => `${i}:${'x'.repeat(400 * 1024)}`);
      const placed = await Promise.all(items.map((s) => follower.driver.propose(bytes(s))));
      assert.deepEqual(placed.map((p) => p.index - placed[0]!.index), [0, 1, 2, 3, 4, 5], 'consecutive, in the order proposed');
      assert.deepEqual(follower.sm.items, items);
    }, { forwardProposals: true }));

    test('with forwarding on, a proposal the leader never answers rejects with ForwardUnconfirmedError', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const follower = [...c.members.values()].find((m) => m !== leader)!;
      c.network.isolate(leader.driver.id);
      const started = Date.now();
      await assert.rejects(follower.driver.propose(bytes('unheard')), ForwardUnconfirmedError);
      assert.ok(Date.now() - started < waitMs);
      c.network.healAll();
    }, { forwardProposals: true, readTimeoutTicks: 30 }));

    test('msSinceHeardFrom: small for a peer in touch, growing for one cut off, Infinity for one never heard', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const follower = [...c.members.values()].find((m) => m !== leader)!;
      await leader.driver.propose(bytes('x'));
      const inTouchMs = 20 * tickIntervalMs;
      assert.ok(leader.driver.msSinceHeardFrom(follower.driver.id) < inTouchMs, `leader hears follower: ${leader.driver.msSinceHeardFrom(follower.driver.id)}`);
      assert.ok(follower.driver.msSinceHeardFrom(leader.driver.id) < inTouchMs, `follower hears leader: ${follower.driver.msSinceHeardFrom(leader.driver.id)}`);
      assert.equal(leader.driver.msSinceHeardFrom('nobody'), Infinity);
      c.network.isolate(follower.driver.id);
      const cutMs = 300;
      await new Promise((resolve) => setTimeout(resolve, cutMs));
      assert.ok(leader.driver.msSinceHeardFrom(follower.driver.id) >= cutMs - inTouchMs, `cut off: ${leader.driver.msSinceHeardFrom(follower.driver.id)}`);
      c.network.healAll();
    }));

    test('a commit index kept back from its own write is stored at the next tick, and at a stop', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      await leader.driver.propose(bytes('a'));
      await c.appliedEverywhere(['a']);
      const follower = [...c.members.values()].find((m) => m !== leader)!;
      const id = follower.driver.id;
      // Ticks every 10 ms: within a few, the commit index that reached the follower is stored.
      await new Promise((resolve) => setTimeout(resolve, 5 * tickIntervalMs));
      const applied = follower.driver.appliedIndex;
      const store = await c.stop(id);
      const reopened = await (await c.restart(id, store)).store.load();
      assert.ok(reopened.hardState.commit >= applied, `stored commit ${reopened.hardState.commit} >= applied ${applied}`);
      await c.appliedEverywhere(['a']);
    }));

    test('proposals beyond the pending bound reject with TooManyPendingError', () => withCluster(kind, async (c) => {
      const leader = await c.leader();
      const accepted = Array.from({ length: 4 }, (_, i) => leader.driver.propose(bytes(`p${i}`)));
      await assert.rejects(leader.driver.propose(bytes('one too many')), TooManyPendingError);
      await Promise.all(accepted);
    }, { maxPendingProposals: 4 }));
  });
}

/** A store whose writes fail once armed: a full disk, an I/O error. */
class FailingStore extends MemoryLogStore {
  armed = false;
  override save(write: LogWrite): Promise<void> {
    if (this.armed) return Promise.reject(new Error('EIO: simulated write failure'));
    return super.save(write);
  }
}

test('a failed durable write stops the node loudly: a proposal in flight gets StoppedInFlightError (its outcome is unknown), a later one DriverStoppedError', async () => {
  const c = new Cluster(memoryKind);
  try {
    const stores = new Map(ids.map((id) => [id, new FailingStore()] as const));
    for (const id of ids) await c.start(id, stores.get(id));
    const leader = await c.leader();
    stores.get(leader.driver.id)!.armed = true;
    const failed = new Promise<Error>((resolve) => leader.driver.once('error', resolve));
    await assert.rejects(leader.driver.propose(bytes('lost')), (err: unknown) => {
      assert.ok(err instanceof StoppedInFlightError, String(err));
      assert.match(String((err as Error).cause), /EIO/);
      assert.match((err as Error).message, /whether the cluster applies it is unknown/);
      return true;
    });
    assert.match((await failed).message, /EIO/);
    await assert.rejects(leader.driver.propose(bytes('after')), DriverStoppedError);
  } finally {
    await c.stopAll();
  }
});

test('a follower whose disk fails after forwarding a proposal says its outcome is unknown: the others commit it', async () => {
  const c = new Cluster(memoryKind, { forwardProposals: true });
  try {
    const stores = new Map(ids.map((id) => [id, new FailingStore()] as const));
    for (const id of ids) await c.start(id, stores.get(id));
    const leader = await c.leader();
    const follower = [...c.members.values()].find((m) => m.driver.id !== leader.driver.id)!;
    stores.get(follower.driver.id)!.armed = true;
    await assert.rejects(follower.driver.propose(bytes('forwarded')), StoppedInFlightError);
    // Committed by the leader and the other follower all the same: a refusal would have been a lie.
    await waitFor('the leader to apply the forwarded proposal', () => leader.sm.items.includes('forwarded'));
  } finally {
    await c.stopAll();
  }
});

describe('PendingProposals', () => {
  const placed = (index: number, term: number) => ({ index, term });

  test('resolves on the same term at its index, rejects on another term', async () => {
    const p = new PendingProposals();
    const a = p.add(placed(5, 2));
    const b = p.add(placed(6, 2));
    p.applied(5, 2);
    assert.deepEqual(await a, placed(5, 2));
    p.applied(6, 3);
    await assert.rejects(b, ProposalLostError);
    assert.equal(p.size, 0);
  });

  test('an applied entry of a newer term rejects later proposals of older terms at once', async () => {
    const p = new PendingProposals();
    const later = [p.add(placed(10, 2)), p.add(placed(11, 2))];
    p.applied(8, 3); // a new leader's no-op below them: terms only grow along the log
    for (const w of later) await assert.rejects(w, ProposalLostError);
  });

  test('a proposal re-using an index rejects the older-term one there and after it', async () => {
    const p = new PendingProposals();
    const old = [p.add(placed(7, 1)), p.add(placed(8, 1))];
    const fresh = p.add(placed(7, 3));
    for (const w of old) await assert.rejects(w, ProposalLostError);
    p.applied(7, 3);
    assert.deepEqual(await fresh, placed(7, 3));
  });

  test('a snapshot settles what it covers by term', async () => {
    const p = new PendingProposals();
    const same = p.add(placed(3, 2));
    const older = p.add(placed(4, 2));
    const beyond = p.add(placed(9, 2));
    p.snapshotApplied({ index: 4, term: 2, conf: { voters: [], learners: [] } });
    assert.deepEqual(await same, placed(3, 2));
    assert.deepEqual(await older, placed(4, 2));
    assert.equal(p.size, 1);
    p.snapshotApplied({ index: 6, term: 4, conf: { voters: [], learners: [] } });
    await assert.rejects(beyond, ProposalLostError);
    const unknown = new PendingProposals();
    const u = unknown.add(placed(2, 1));
    unknown.snapshotApplied({ index: 5, term: 3, conf: { voters: [], learners: [] } });
    await assert.rejects(u, ProposalOutcomeUnknownError);
  });

  test('stays correct past the compaction threshold', async () => {
    const p = new PendingProposals();
    const all = Array.from({ length: 3000 }, (_, i) => p.add(placed(i + 1, 1)));
    for (let i = 1; i <= 3000; i++) p.applied(i, 1);
    assert.deepEqual((await Promise.all(all)).map((x) => x.index), Array.from({ length: 3000 }, (_, i) => i + 1));
    assert.equal(p.size, 0);
  });
});
