// What a stopped node holds: open its Raft log (level) read-back and replay the snapshot and the
// committed entries through the same state machine the node runs. The API has no route that
// lists join tokens, so "no committed write lost" is checked here, on every node's own disk.
import { LevelLogStore } from '../../consensus/adapters/level-log-store.ts';
import { dataDirPaths } from '../../node/data-dir.ts';
import { ClusterStateMachine } from '../../node/state/index.ts';
import type { ClusterState } from '../../node/state/index.ts';

export interface StoredState {
  readonly state: ClusterState;
  /** The commit index the node had persisted. */
  readonly commit: number;
  readonly lastIndex: number;
}

/** The node must be stopped (the log is locked while it runs). */
export async function readStoredState(dataDir: string): Promise<StoredState> {
  const store = await LevelLogStore.open(dataDirPaths(dataDir).raftLog);
  try {
    const persisted = await store.load();
    const machine = new ClusterStateMachine();
    if (persisted.snapshot !== null) machine.restore(persisted.snapshot.data);
    const commit = persisted.hardState.commit;
    for (const entry of persisted.entries) {
      if (entry.index > commit) break;
      if (entry.type === 'normal' && entry.data.byteLength > 0) machine.apply(entry);
    }
    const lastIndex = persisted.entries.at(-1)?.index ?? persisted.snapshot?.meta.index ?? 0;
    return { state: machine.current(), commit, lastIndex };
  } finally {
    await store.close();
  }
}
