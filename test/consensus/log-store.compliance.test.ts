// One compliance suite for the LogStore contract (consensus/log-store.ts), run against both
// stores: whatever the memory store does, the level store must do too, and the other way round.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LevelLogStore } from '../../consensus/adapters/level-log-store.ts';
import { MemoryLogStore } from '../../consensus/adapters/memory-log-store.ts';
import type { Entry, HardState, Snapshot } from '../../consensus/core/types.ts';
import { emptyHardState } from '../../consensus/core/types.ts';
import type { LogStore, PersistedState } from '../../consensus/log-store.ts';
import { memoryStorageFrom } from '../../consensus/restore.ts';

interface Fixture {
  store: LogStore;
  /** Close the current store and open a new one over the same durable contents. */
  reopen(): Promise<LogStore>;
  dispose(): Promise<void>;
}
type Factory = () => Promise<Fixture>;

const memoryFactory: Factory = async () => {
  let store = new MemoryLogStore();
  const fx: Fixture = {
    store,
    async reopen() {
      await store.close();
      store = store.reopen();
      return (fx.store = store);
    },
    dispose: () => store.close(),
  };
  return fx;
};

const levelFactory: Factory = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ottmesh-log-'));
  const fx: Fixture = {
    store: await LevelLogStore.open(dir),
    async reopen() {
      await fx.store.close();
      return (fx.store = await LevelLogStore.open(dir));
    },
    async dispose() {
      await fx.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fx;
};

const enc = new TextEncoder();
/** Entries lo..hi (inclusive) at `term`, each carrying its own index and term as data. */
function ents(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push({ index: i, term, type: i % 7 === 0 ? 'conf-change' : 'normal', data: enc.encode(`e${i}t${term}`) });
  return out;
}
const hs = (term: number, commit: number, vote: string | null = 'n1'): HardState => ({ term, vote, commit });
const snap = (index: number, term: number, data = 'app-state'): Snapshot =>
  ({ meta: { index, term, conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } }, data: enc.encode(data) });
const indexesAndTerms = (s: PersistedState): string => s.entries.map((e) => `${e.index}@${e.term}`).join(' ');

function complianceSuite(name: string, factory: Factory): void {
  describe(`LogStore compliance: ${name}`, () => {
    /** Run `body` on a fresh store, then check that a reopened store reads back the same state. */
    async function withStore(body: (fx: Fixture) => Promise<PersistedState | void>): Promise<void> {
      const fx = await factory();
      try {
        const before = await body(fx);
        if (before) assert.deepEqual(await (await fx.reopen()).load(), before, 'reopen changed the state');
      } finally {
        await fx.dispose();
      }
    }

    it('an empty store loads as empty', () => withStore(async ({ store }) => {
      assert.deepEqual(await store.load(), { hardState: emptyHardState, snapshot: null, entries: [] });
    }));

    it('saves entries and a hard state, and loads them back', () => withStore(async ({ store }) => {
      await store.save({ hardState: hs(2, 3), entries: ents(1, 5, 2), snapshot: null });
      await store.save({ hardState: null, entries: ents(6, 7, 2), snapshot: null });
      const got = await store.load();
      assert.deepEqual(got, { hardState: hs(2, 3), snapshot: null, entries: ents(1, 7, 2) });
      return got;
    }));

    it('overwrites the tail on a conflict, with a shorter and then a longer replacement', () => withStore(async ({ store }) => {
      await store.save({ hardState: hs(1, 2), entries: ents(1, 8, 1), snapshot: null });
      await store.save({ hardState: hs(2, 2), entries: ents(4, 5, 2), snapshot: null });
      assert.equal(indexesAndTerms(await store.load()), '1@1 2@1 3@1 4@2 5@2');
      await store.save({ hardState: null, entries: ents(3, 9, 3), snapshot: null });
      const got = await store.load();
      assert.deepEqual(got.entries, [...ents(1, 2, 1), ...ents(3, 9, 3)]);
      return got;
    }));

    it('a snapshot replaces the entries it covers and keeps later ones that continue it', () => withStore(async ({ store }) => {
      await store.save({ hardState: hs(2, 6), entries: [...ents(1, 3, 1), ...ents(4, 8, 2)], snapshot: null });
      await store.save({ hardState: null, entries: [], snapshot: snap(5, 2) });
      await store.save({ hardState: null, entries: ents(4, 5, 2), snapshot: null }); // covered: changes nothing
      const got = await store.load();
      assert.deepEqual(got, { hardState: hs(2, 6), snapshot: snap(5, 2), entries: ents(6, 8, 2) });
      return got;
    }));

    it('a snapshot drops later entries from a diverged log, and entries in the same write follow it', () => withStore(async ({ store }) => {
      await store.save({ hardState: hs(2, 3), entries: ents(1, 8, 2), snapshot: null });
      await store.save({ hardState: hs(3, 5), entries: [], snapshot: snap(5, 3) }); // entry 5 has term 2, not 3
      assert.deepEqual(await store.load(), { hardState: hs(3, 5), snapshot: snap(5, 3), entries: [] });
      await store.save({ hardState: hs(4, 20), entries: ents(19, 22, 4), snapshot: snap(20, 4) }); // past the end
      const got = await store.load();
      assert.equal(indexesAndTerms(got), '21@4 22@4');
      assert.deepEqual(got.snapshot, snap(20, 4));
      return got;
    }));

    it('compact stores the snapshot, deletes covered entries, ignores one no newer', () => withStore(async ({ store }) => {
      await store.save({ hardState: hs(1, 10), entries: ents(1, 10, 1), snapshot: null });
      await store.compact(snap(7, 1));
      await store.compact(snap(4, 1, 'older'));
      await store.compact(snap(7, 1, 'same index'));
      await store.save({ hardState: hs(1, 11), entries: ents(11, 11, 1), snapshot: null });
      const got = await store.load();
      assert.deepEqual(got, { hardState: hs(1, 11), snapshot: snap(7, 1), entries: ents(8, 11, 1) });
      return got;
    }));

    it('reopening after close gives the same state', () => withStore(async (fx) => {
      await fx.store.save({ hardState: hs(5, 12, 'n3'), entries: ents(1, 15, 5), snapshot: null });
      await fx.store.compact(snap(10, 5));
      const before = await fx.store.load();
      const again = await fx.reopen();
      assert.deepEqual(await again.load(), before);
      await again.save({ hardState: null, entries: ents(14, 14, 6), snapshot: null }); // writes still work
      return await again.load();
    }));

    it('saves and truncates large batches (10,000 entries)', () => withStore(async ({ store }) => {
      const many = ents(1, 10_000, 1);
      await store.save({ hardState: hs(1, 10_000), entries: many, snapshot: null });
      assert.deepEqual((await store.load()).entries, many);
      await store.save({ hardState: hs(2, 4_000), entries: ents(5_001, 5_002, 2), snapshot: null });
      const got = await store.load();
      assert.equal(got.entries.length, 5_002);
      assert.deepEqual(got.entries.at(-1), ents(5_002, 5_002, 2)[0]);
      return got;
    }));

    it('saves a hard state alone', () => withStore(async ({ store }) => {
      await store.save({ hardState: hs(3, 0, null), entries: [], snapshot: null });
      const got = await store.load();
      assert.deepEqual(got, { hardState: hs(3, 0, null), snapshot: null, entries: [] });
      return got;
    }));

    it('saves a snapshot alone', () => withStore(async ({ store }) => {
      await store.save({ hardState: null, entries: [], snapshot: snap(0, 0, '') }); // a bootstrap configuration
      await store.save({ hardState: null, entries: [], snapshot: snap(9, 2) });
      const got = await store.load();
      assert.deepEqual(got, { hardState: emptyHardState, snapshot: snap(9, 2), entries: [] });
      return got;
    }));

    it('keeps copies: mutating what was saved or loaded changes nothing stored', () => withStore(async ({ store }) => {
      const saved = ents(1, 3, 1);
      const snapshot = snap(0, 0);
      await store.save({ hardState: hs(1, 1), entries: saved, snapshot });
      saved[0]!.data.fill(0);
      saved.length = 0;
      snapshot.data.fill(0);
      const loaded = await store.load();
      loaded.entries[1]!.data.fill(0);
      const got = await store.load();
      assert.deepEqual(got, { hardState: hs(1, 1), snapshot: snap(0, 0), entries: ents(1, 3, 1) });
      return got;
    }));

    it('restores into the MemoryStorage the core reads', () => withStore(async ({ store }) => {
      await store.save({ hardState: hs(2, 9), entries: [...ents(1, 4, 1), ...ents(5, 12, 2)], snapshot: null });
      await store.compact(snap(6, 2));
      const storage = memoryStorageFrom(await store.load());
      assert.deepEqual(storage.initialState(), { hardState: hs(2, 9), confState: snap(6, 2).meta.conf });
      assert.deepEqual([storage.firstIndex(), storage.lastIndex(), storage.term(6), storage.term(12)], [7, 12, 2, 2]);
      assert.deepEqual(storage.entries(7, 13, Infinity), ents(7, 12, 2));
    }));
  });
}

complianceSuite('memory', memoryFactory);
complianceSuite('level', levelFactory);
