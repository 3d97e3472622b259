// What the driver applies committed entries to: the application's replicated state.
import type { Entry } from './core/types.ts';

/**
 * The application's state, built only from committed entries in log order. Every method is
 * synchronous and called from the driver's Ready loop, one at a time; a throw is treated as a
 * bug that stops the node (a replica that skipped an entry would diverge).
 */
export interface StateMachine {
  /** Apply one committed `normal` entry with non-empty data. The leader's no-op entries (empty
   *  data) and conf-change entries are handled by the driver and never reach here. */
  apply(entry: Entry): void;
  /** The whole state as of the last applied entry. The driver owns the returned bytes. */
  snapshot(): Uint8Array;
  /** Replace the whole state with a snapshot's data (at start, or when the leader sent one).
   *  Empty `data` is the new cluster's initial snapshot: reset to the initial, empty state. */
  restore(data: Uint8Array): void;
}
