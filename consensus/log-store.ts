// The durable log: the contract both stores (memory and level) implement and one compliance
// suite checks (test/consensus/log-store.compliance.test.ts).
import type { Entry, HardState, Snapshot } from './core/types.ts';

/** Everything a node persisted, as read back at start. `entries` follow the snapshot
 *  (first index = snapshot index + 1) and are contiguous. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
}

/** One Ready's durable part. */
export interface LogWrite {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  /** False when the write may reach the disk later (Ready.mustSync false: only the commit index
   *  moved, which Raft recovers from its peers after a crash). The write is still atomic and
   *  ordered: a later synced write makes it durable too. Default true. */
  readonly sync?: boolean;
}

/**
 * A durable Raft log. Calls are made one at a time by the driver (no overlapping writes).
 * - `save` is one atomic, synced write: the snapshot first (replacing every entry up to its
 *   index; later entries stay only if the stored entry at its index has the snapshot's term,
 *   else they are dropped), then `entries` (replacing stored entries at the same or higher index), then the
 *   hard state. When it resolves, all of it survives a crash; if it rejects or the process dies
 *   first, none or all of it does, never a part.
 * - `load` reads it back and verifies it; a torn or inconsistent store throws
 *   CorruptLogError naming the file and what the operator should do. Never repairs silently.
 */
export interface LogStore {
  load(): Promise<PersistedState>;
  save(write: LogWrite): Promise<void>;
  /** Store a snapshot the application took (index <= applied) and delete the entries it covers. */
  compact(snapshot: Snapshot): Promise<void>;
  close(): Promise<void>;
}

/** The stored log cannot be trusted. `path` names what is damaged; the message says what to do. */
export class CorruptLogError extends Error {
  override readonly name = 'CorruptLogError';
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}. The Raft log of this node is damaged. Stop this node, move its data directory aside, ` +
      `and rejoin it to the cluster with a new join token (the other members still hold the log); ` +
      `if this was the only node, restore the data directory from a backup.`);
    this.path = path;
  }
}
