// The log as the Raft core reads it: synchronous and in memory. Durable stores (see
// consensus/log-store.ts) load into a MemoryStorage at start and the driver appends to it
// after each synced write, so the core never waits on disk.
import { assert, CompactedError, UnavailableError } from './errors.ts';
import type { ConfState, Entry, HardState, Snapshot } from './types.ts';
import { emptyConfState, emptyHardState } from './types.ts';

/** Read access the core needs. Every method is synchronous and must not block. */
export interface RaftStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any, then up to `maxBytes` in total.
   *  Throws CompactedError when lo <= the snapshot index. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry `index`; the snapshot's index is answered from its metadata.
   *  Throws CompactedError below that, UnavailableError past lastIndex(). */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** Bytes an entry counts for in size limits: its payload plus a fixed header estimate. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + 24;
}

/** Entries from the start of `entries` whose total stays within `maxBytes` (always at least one). */
export function limitSize<T extends Entry>(entries: readonly T[], maxBytes: number): T[] {
  let total = 0;
  let n = 0;
  for (const e of entries) {
    total += entrySizeBytes(e);
    if (n > 0 && total > maxBytes) break;
    n++;
  }
  return entries.slice(0, n);
}

export class MemoryStorage implements RaftStorage {
  #hardState: HardState = emptyHardState;
  #snapshot: Snapshot = { meta: { index: 0, term: 0, conf: emptyConfState }, data: new Uint8Array() };
  // #entries[0] is a placeholder standing for the snapshot's last entry (index, term).
  #entries: Entry[] = [{ index: 0, term: 0, type: 'normal', data: new Uint8Array() }];

  /** A brand-new cluster's log: every founding node starts from the same snapshot at index 1,
   *  term 1, holding the initial configuration. Members added later receive it with the first
   *  snapshot the leader sends them (their log starts empty: `new MemoryStorage()`). */
  static bootstrap(conf: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    s.applySnapshot({ meta: { index: 1, term: 1, conf }, data: new Uint8Array() });
    s.#hardState = { term: 1, vote: null, commit: 1 };
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#snapshot.meta.conf };
  }

  setHardState(hardState: HardState): void {
    this.#hardState = hardState;
  }

  #offset(): number {
    return this.#entries[0]!.index;
  }

  firstIndex(): number {
    return this.#offset() + 1;
  }

  lastIndex(): number {
    return this.#offset() + this.#entries.length - 1;
  }

  term(index: number): number {
    const offset = this.#offset();
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    return this.#entries[index - offset]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.#offset();
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    assert(hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) past last index ${this.lastIndex()}`);
    if (lo >= hi) return [];
    // Find the end first: the log may be long and only a message's worth is wanted.
    let end = lo - offset;
    let total = 0;
    while (end < hi - offset) {
      total += entrySizeBytes(this.#entries[end]!);
      if (end > lo - offset && total > maxBytes) break;
      end++;
    }
    return this.#entries.slice(lo - offset, end);
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Replace everything with `snapshot` (a follower receiving one from the leader). */
  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.meta.index >= this.#snapshot.meta.index, 'snapshot older than the one stored');
    this.#snapshot = snapshot;
    this.#entries = [{ index: snapshot.meta.index, term: snapshot.meta.term, type: 'normal', data: new Uint8Array() }];
  }

  /** Record a snapshot the application took at `index` (<= applied) and drop the entries it covers
   *  except `keepEntries` before it (so slightly lagging followers still catch up from the log). */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array, keepEntries = 0): Snapshot {
    assert(index > this.#snapshot.meta.index && index <= this.lastIndex(), `snapshot index ${index} out of range`);
    this.#snapshot = { meta: { index, term: this.term(index), conf }, data };
    this.compact(Math.max(this.#offset(), index - keepEntries));
    return this.#snapshot;
  }

  /** Discard entries up to and including `index` (which stays as the placeholder). */
  compact(index: number): void {
    const offset = this.#offset();
    if (index <= offset) return;
    assert(index <= this.lastIndex(), `compact(${index}) past last index ${this.lastIndex()}`);
    const head = this.#entries[index - offset]!;
    this.#entries = [{ index: head.index, term: head.term, type: 'normal', data: new Uint8Array() }, ...this.#entries.slice(index - offset + 1)];
  }

  /** Append entries, replacing any stored entries at the same or higher index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const offset = this.#offset();
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    // Entries at or below the snapshot are already covered by it.
    const fresh = first <= offset ? entries.slice(offset + 1 - first) : entries;
    if (fresh.length === 0) return;
    this.#entries.length = fresh[0]!.index - offset; // drop the conflicting tail, if any
    for (const e of fresh) this.#entries.push(e);
  }
}
