// Restart: turn what the durable log store read back into the MemoryStorage the Raft core reads.
import { MemoryStorage } from './core/storage.ts';
import type { PersistedState } from './log-store.ts';

/**
 * The MemoryStorage for a node restarting from `state` (as returned by LogStore.load(), so
 * already verified: entries follow the snapshot, contiguous). Order matters: the snapshot
 * resets the log, the entries follow it, then the hard state (its commit lies within them).
 * A brand-new node has nothing persisted; its caller bootstraps instead
 * (MemoryStorage.bootstrap), and should persist that bootstrap snapshot so a restart finds it.
 */
export function memoryStorageFrom(state: PersistedState): MemoryStorage {
  const storage = new MemoryStorage();
  if (state.snapshot !== null) storage.applySnapshot(state.snapshot);
  storage.append(state.entries);
  storage.setHardState(state.hardState);
  return storage;
}
