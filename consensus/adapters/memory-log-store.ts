// A LogStore held in memory: for the simulator and tests, where "durable" means "survives a
// simulated crash" (the simulator keeps the store and restarts the node from durableState()).
// It keeps the exact semantics of the level store (the compliance suite runs against both).
import { assert } from '../core/errors.ts';
import type { Entry, HardState, Snapshot } from '../core/types.ts';
import { emptyHardState } from '../core/types.ts';
import type { LogStore, LogWrite, PersistedState } from '../log-store.ts';

/**
 * Every write takes effect synchronously inside the call (before the returned promise resolves),
 * so a deterministic simulator can treat `save` as done when it returns. Inputs and outputs are
 * copied (entry data included): callers mutating their arrays cannot change what is stored.
 * Calls after close() throw.
 */
export class MemoryLogStore implements LogStore {
  #hardState: HardState = emptyHardState;
  #snapshot: Snapshot | null = null;
  /** Contiguous; the first follows the snapshot (index snapshot + 1, or 1 without one). */
  #entries: Entry[] = [];
  #closed = false;

  constructor(initial?: PersistedState) {
    if (initial === undefined) return;
    this.#hardState = { ...initial.hardState };
    this.#snapshot = initial.snapshot === null ? null : copySnapshot(initial.snapshot);
    this.#entries = initial.entries.map(copyEntry);
    checkContiguous(this.#entries, this.#snapshotIndex() + 1);
  }

  /** What survives a crash: everything saved so far. Works after close() too. */
  durableState(): PersistedState {
    return {
      hardState: { ...this.#hardState },
      snapshot: this.#snapshot === null ? null : copySnapshot(this.#snapshot),
      entries: this.#entries.map(copyEntry),
    };
  }

  /** A new store over the same durable contents (a restart of the node). */
  reopen(): MemoryLogStore {
    return new MemoryLogStore(this.durableState());
  }

  load(): Promise<PersistedState> {
    this.#checkOpen();
    return Promise.resolve(this.durableState());
  }

  save(write: LogWrite): Promise<void> {
    this.#checkOpen();
    let snapshot = this.#snapshot;
    let entries = this.#entries;
    if (write.snapshot !== null) {
      const s = write.snapshot;
      assert(s.meta.index >= this.#snapshotIndex(), () => `snapshot at ${s.meta.index} is older than the stored one`);
      // Later entries survive only if they continue the snapshot's log (same term at its index);
      // otherwise they came from a diverged leader and the snapshot replaces the whole log.
      const keep = this.#termAt(s.meta.index) === s.meta.term;
      entries = keep ? entries.slice(s.meta.index - this.#snapshotIndex()) : [];
      snapshot = copySnapshot(s);
    }
    const snapshotIndex = snapshot?.meta.index ?? 0;
    entries = appendTail(entries, snapshotIndex, write.entries);
    // Commit only after every check passed: a failed assertion leaves the store as it was.
    this.#snapshot = snapshot;
    this.#entries = entries;
    if (write.hardState !== null) this.#hardState = { ...write.hardState };
    return Promise.resolve();
  }

  /** A snapshot no newer than the stored one is ignored (a leader's snapshot arrived meanwhile). */
  compact(snapshot: Snapshot): Promise<void> {
    this.#checkOpen();
    const old = this.#snapshotIndex();
    const index = snapshot.meta.index;
    if (index <= old) return Promise.resolve();
    assert(index <= this.#lastIndex(), () => `compact at ${index} past the last index ${this.#lastIndex()}`);
    assert(this.#termAt(index) === snapshot.meta.term, () => `compact at ${index}: snapshot term differs from the entry's`);
    this.#entries = this.#entries.slice(index - old);
    this.#snapshot = copySnapshot(snapshot);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('MemoryLogStore is closed');
  }
  #snapshotIndex(): number {
    return this.#snapshot?.meta.index ?? 0;
  }
  #lastIndex(): number {
    return this.#snapshotIndex() + this.#entries.length;
  }
  /** Term of the stored entry (or snapshot) at `index`, null when there is none. */
  #termAt(index: number): number | null {
    const snapshotIndex = this.#snapshotIndex();
    if (index === snapshotIndex) return this.#snapshot?.meta.term ?? 0;
    return this.#entries[index - snapshotIndex - 1]?.term ?? null;
  }
}

/** `stored` (following `snapshotIndex`) with `fresh` written over it from fresh[0].index on. */
function appendTail(stored: Entry[], snapshotIndex: number, fresh: readonly Entry[]): Entry[] {
  if (fresh.length === 0) return stored;
  const first = fresh[0]!.index;
  checkContiguous(fresh, first);
  assert(first <= snapshotIndex + stored.length + 1, () => `entries at ${first} leave a gap after ${snapshotIndex + stored.length}`);
  // Entries at or below the snapshot are already covered by it.
  const uncovered = fresh.slice(Math.max(0, snapshotIndex + 1 - first));
  if (uncovered.length === 0) return stored;
  const kept = stored.slice(0, uncovered[0]!.index - snapshotIndex - 1);
  for (const e of uncovered) kept.push(copyEntry(e));
  return kept;
}

function checkContiguous(entries: readonly Entry[], first: number): void {
  entries.forEach((e, i) => assert(e.index === first + i, () => `entry ${e.index} where ${first + i} was expected`));
}

function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: new Uint8Array(e.data) };
}

function copySnapshot(s: Snapshot): Snapshot {
  const conf = { voters: [...s.meta.conf.voters], learners: [...s.meta.conf.learners] };
  return { meta: { index: s.meta.index, term: s.meta.term, conf }, data: new Uint8Array(s.data) };
}
