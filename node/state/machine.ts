// The Raft driver's view of the cluster state: decode each committed command, apply it, keep
// its result for the proposer, snapshot and restore. No I/O: the driver calls it synchronously.
import type { Entry } from '../../consensus/core/index.ts';
import type { StateMachine } from '../../consensus/state-machine.ts';
import { apply } from './apply.ts';
import { decodeCommand, decodeState, encodeState } from './codec.ts';
import { emptyState } from './state.ts';
import type { ApplyResult, ClusterState, Command } from './types.ts';

/** Results kept for proposers, by entry index; the oldest is dropped beyond this. A proposer
 *  asks right after its entry is applied, so only thousands of entries applied in between
 *  (one huge Ready) could evict one before it is fetched. */
export const resultsKeptMax = 4096;

/** Called after the state changed: `command` is what changed it, null after a restore. Runs
 *  inside the driver's apply step, so it must be quick and must not throw (a throw stops the
 *  node, as any apply failure does). To do slow work, schedule it. */
export type ChangeListener = (state: ClusterState, previous: ClusterState, command: Command | null) => void;

export class ClusterStateMachine implements StateMachine {
  #state: ClusterState = emptyState();
  /** The last resultsKeptMax results, by entry index modulo the bound: a ring, not a Map, as
   *  every node records one per entry (Map inserts and deletes showed in write profiles). */
  readonly #resultIndexes = new Array<number>(resultsKeptMax).fill(-1);
  readonly #results = new Array<ApplyResult | null>(resultsKeptMax).fill(null);
  readonly #listeners = new Set<ChangeListener>();

  /** Throws UnknownCommandError / CorruptCommandError for an entry that does not decode: the
   *  node must stop rather than skip it (see errors.ts). */
  apply(entry: Entry): void {
    const command = decodeCommand(entry.data, entry.index);
    const previous = this.#state;
    const { state, result } = apply(previous, command);
    this.#remember(entry.index, result);
    if (state === previous) return;
    this.#state = state;
    this.#emit(previous, command);
  }

  snapshot(): Uint8Array {
    return encodeState(this.#state);
  }

  /** Throws CorruptSnapshotError when `data` is not a snapshot of this format. */
  restore(data: Uint8Array): void {
    const previous = this.#state;
    this.#state = data.length === 0 ? emptyState() : decodeState(data);
    // Results belong to entries of the replaced history; a proposer still waiting on one is
    // told by the driver (ProposalOutcomeUnknownError), not by us.
    this.#resultIndexes.fill(-1);
    this.#results.fill(null);
    this.#emit(previous, null);
  }

  /** The state as of the last applied entry. Immutable: keep it as long as you like. */
  current(): ClusterState {
    return this.#state;
  }

  /** What applying the entry at `index` did, or null when that entry was not applied here
   *  (yet), was not a command, or its result is older than the last `resultsKeptMax`. */
  resultAt(index: number): ApplyResult | null {
    const slot = index % resultsKeptMax;
    return this.#resultIndexes[slot] === index ? this.#results[slot]! : null;
  }

  /** Calls `listener` after every change; returns a function that unsubscribes. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #remember(index: number, result: ApplyResult): void {
    const slot = index % resultsKeptMax;
    this.#resultIndexes[slot] = index;
    this.#results[slot] = result;
  }

  #emit(previous: ClusterState, command: Command | null): void {
    for (const listener of this.#listeners) listener(this.#state, previous, command);
  }
}
