// The durable Raft log on LevelDB (the `level` package). One synced batch per write, so a crash
// leaves all of a Ready's durable part or none of it; every value carries a CRC32 (the layout is
// in level-records.ts), and load() refuses a store that is damaged or inconsistent instead of
// repairing it.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { decodeEntry, decodeSnapshot, encodeEntry, encodeHardState, encodeSnapshot } from '../codec.ts';
import { assert } from '../core/errors.ts';
import type { Entry, Snapshot } from '../core/types.ts';
import { CorruptLogError } from '../log-store.ts';
import type { LogStore, LogWrite, PersistedState } from '../log-store.ts';
import { levelOpenError, levelReadError, missingCurrentProblem } from './level-errors.ts';
import type { Db } from './level-records.ts';
import { decodeRecord, ENTRY_END, ENTRY_PREFIX, entryKey, FORMAT_VERSION, KEY_FORMAT, KEY_HARD_STATE, KEY_SNAPSHOT, parseEntryKey, seal, sealInPlace, verifyLog } from './level-records.ts';

export { LogLockedError } from './level-errors.ts';

type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** Where the log ends, kept in memory so a write knows exactly which keys to delete. */
interface Bounds {
  snapshotIndex: number;
  snapshotTerm: number;
  lastIndex: number; // = snapshotIndex when no entries are stored
}

export class LevelLogStore implements LogStore {
  readonly #dir: string;
  readonly #db: Db;
  #bounds: Bounds;
  #busy = false; // the contract: one call at a time

  private constructor(dir: string, db: Db, bounds: Bounds) {
    this.#dir = dir;
    this.#db = db;
    this.#bounds = bounds;
  }

  /** Open (creating if missing) the log in `dir`. Throws LogLockedError when another process
   *  has it open, CorruptLogError when LevelDB's own files or our records are damaged. */
  static async open(location: string): Promise<LevelLogStore> {
    const dir = resolve(location); // LevelDB names files by the path it was given
    const missing = missingCurrentProblem(existsSync(dir) ? readdirSync(dir) : []);
    if (missing !== null) throw new CorruptLogError(join(dir, 'CURRENT'), missing);
    const db: Db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      throw levelOpenError(dir, err);
    }
    try {
      return new LevelLogStore(dir, db, await LevelLogStore.#prepare(dir, db));
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Write the format record into a new store; read where an existing one's log ends. */
  static async #prepare(dir: string, db: Db): Promise<Bounds> {
    try {
      const format = await db.get(KEY_FORMAT);
      if (format === undefined) {
        const [any] = await db.keys({ limit: 1 }).all();
        if (any !== undefined) throw new CorruptLogError(dir, `the format record is missing but key "${any}" exists: this is not an ottmesh Raft log, or it was damaged`);
        await db.put(KEY_FORMAT, seal(Uint8Array.of(FORMAT_VERSION)), { sync: true });
        return { snapshotIndex: 0, snapshotTerm: 0, lastIndex: 0 };
      }
      const raw = await db.get(KEY_SNAPSHOT);
      const snapshot = raw === undefined ? null : decodeRecord(dir, KEY_SNAPSHOT, raw, decodeSnapshot);
      const [lastKey] = await db.keys({ gte: ENTRY_PREFIX, lt: ENTRY_END, reverse: true, limit: 1 }).all();
      const snapshotIndex = snapshot?.meta.index ?? 0;
      const lastIndex = lastKey === undefined ? snapshotIndex : parseEntryKey(dir, lastKey);
      return { snapshotIndex, snapshotTerm: snapshot?.meta.term ?? 0, lastIndex: Math.max(lastIndex, snapshotIndex) };
    } catch (err) {
      throw levelReadError(dir, err);
    }
  }

  /** Read and verify everything (see verifyLog in level-records.ts for what is checked). */
  async load(): Promise<PersistedState> {
    this.#enter();
    try {
      const state = await verifyLog(this.#dir, this.#db);
      const snapshotIndex = state.snapshot?.meta.index ?? 0;
      this.#bounds = { snapshotIndex, snapshotTerm: state.snapshot?.meta.term ?? 0, lastIndex: snapshotIndex + state.entries.length };
      return state;
    } catch (err) {
      throw levelReadError(this.#dir, err);
    } finally {
      this.#busy = false;
    }
  }

  /** One batch, synced unless `write.sync` is false: snapshot (deleting the entries it covers,
   *  and any later ones that do not continue it), then entries (deleting stored ones past the new
   *  tail), then the hard state. */
  async save(write: LogWrite): Promise<void> {
    this.#enter();
    try {
      const ops: Op[] = [];
      const b = { ...this.#bounds };
      if (write.snapshot !== null) await this.#planSnapshot(ops, b, write.snapshot);
      planEntries(ops, b, write.entries);
      if (write.hardState !== null) ops.push({ type: 'put', key: KEY_HARD_STATE, value: seal(encodeHardState(write.hardState)) });
      if (ops.length > 0) await this.#db.batch(ops, { sync: write.sync ?? true });
      this.#bounds = b; // only once the batch is written
    } finally {
      this.#busy = false;
    }
  }

  /** One synced batch: the application's snapshot, and the deletion of the entries it covers.
   *  A snapshot no newer than the stored one is ignored (a leader's snapshot arrived meanwhile). */
  async compact(snapshot: Snapshot): Promise<void> {
    this.#enter();
    try {
      const b = { ...this.#bounds };
      const index = snapshot.meta.index;
      if (index <= b.snapshotIndex) return;
      assert(index <= b.lastIndex, () => `compact at ${index} past the last index ${b.lastIndex}`);
      assert((await this.#termAt(b, index)) === snapshot.meta.term, () => `compact at ${index}: snapshot term differs from the entry's`);
      const ops: Op[] = [];
      for (let i = b.snapshotIndex + 1; i <= index; i++) ops.push({ type: 'del', key: entryKey(i) });
      ops.push({ type: 'put', key: KEY_SNAPSHOT, value: seal(encodeSnapshot(snapshot)) });
      await this.#db.batch(ops, { sync: true });
      this.#bounds = { snapshotIndex: index, snapshotTerm: snapshot.meta.term, lastIndex: b.lastIndex };
    } finally {
      this.#busy = false;
    }
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  #enter(): void {
    assert(!this.#busy, 'LevelLogStore: overlapping calls (the driver must wait for each one)');
    this.#busy = true;
  }

  async #planSnapshot(ops: Op[], b: Bounds, s: Snapshot): Promise<void> {
    assert(s.meta.index >= b.snapshotIndex, () => `snapshot at ${s.meta.index} is older than the stored one at ${b.snapshotIndex}`);
    // Later entries survive only if they continue the snapshot's log (same term at its index);
    // otherwise they came from a diverged leader and the snapshot replaces the whole log.
    const keep = (await this.#termAt(b, s.meta.index)) === s.meta.term;
    const deleteTo = keep ? s.meta.index : b.lastIndex;
    for (let i = b.snapshotIndex + 1; i <= deleteTo; i++) ops.push({ type: 'del', key: entryKey(i) });
    ops.push({ type: 'put', key: KEY_SNAPSHOT, value: seal(encodeSnapshot(s)) });
    b.lastIndex = keep ? b.lastIndex : s.meta.index;
    b.snapshotIndex = s.meta.index;
    b.snapshotTerm = s.meta.term;
  }

  /** Term of the stored entry (or snapshot) at `index`, null when there is none. */
  async #termAt(b: Bounds, index: number): Promise<number | null> {
    if (index === b.snapshotIndex) return b.snapshotTerm;
    if (index < b.snapshotIndex || index > b.lastIndex) return null;
    const key = entryKey(index);
    const raw = await this.#db.get(key);
    if (raw === undefined) throw new CorruptLogError(this.#dir, `entry ${index} is missing from the log`);
    return decodeRecord(this.#dir, key, raw, decodeEntry).term;
  }
}

/** Put `entries` over the stored tail from entries[0].index on; delete stored ones past the new end. */
function planEntries(ops: Op[], b: Bounds, entries: readonly Entry[]): void {
  if (entries.length === 0) return;
  const first = entries[0]!.index;
  entries.forEach((e, i) => assert(e.index === first + i, () => `entry ${e.index} where ${first + i} was expected`));
  assert(first <= b.lastIndex + 1, () => `entries at ${first} leave a gap after ${b.lastIndex}`);
  const fresh = entries.filter((e) => e.index > b.snapshotIndex); // the rest is covered by the snapshot
  if (fresh.length === 0) return;
  for (const e of fresh) ops.push({ type: 'put', key: entryKey(e.index), value: sealInPlace(encodeEntry(e, 4)) });
  const newLast = fresh[fresh.length - 1]!.index;
  for (let i = newLast + 1; i <= b.lastIndex; i++) ops.push({ type: 'del', key: entryKey(i) });
  b.lastIndex = newLast;
}
