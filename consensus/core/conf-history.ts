// The configurations the log holds: the snapshot's, then one per membership change entry after
// it. A configuration takes effect as soon as its entry is in the log, committed or not (Raft
// thesis §4.1), and is undone if that entry is replaced; so survivors of a leader that died right
// after committing a change use the new configuration even before they learn it committed.
import { applyConfChange, decodeConfChange } from './conf-change.ts';
import type { ConfState, Entry } from './types.ts';

export class ConfHistory {
  /** The configuration as of the oldest index still asked about. */
  #base: ConfState;
  /** Changes after that, ascending by index. */
  #changes: { readonly index: number; readonly conf: ConfState }[] = [];

  constructor(base: ConfState) {
    this.#base = base;
  }

  latest(): ConfState {
    return this.#changes.at(-1)?.conf ?? this.#base;
  }

  /** The configuration in effect at `index` (which must not be below what prune() dropped). */
  at(index: number): ConfState {
    for (let i = this.#changes.length - 1; i >= 0; i--) if (this.#changes[i]!.index <= index) return this.#changes[i]!.conf;
    return this.#base;
  }

  /** Entries were appended from entries[0].index on, replacing any there: forget the changes
   *  they replaced, add theirs. True when the latest configuration changed. */
  appended(entries: readonly Entry[]): boolean {
    const before = this.latest();
    const first = entries[0]?.index ?? Infinity;
    while (this.#changes.length > 0 && this.#changes.at(-1)!.index >= first) this.#changes.pop();
    for (const e of entries) {
      if (e.type === 'conf-change') this.#changes.push({ index: e.index, conf: applyConfChange(this.latest(), decodeConfChange(e.data)) });
    }
    return this.latest() !== before;
  }

  /** A snapshot replaced the log: its configuration is all there is. */
  reset(base: ConfState): void {
    this.#base = base;
    this.#changes = [];
  }

  /** Nothing at or below `index` will be asked about again (it is applied): fold those changes
   *  into the base, so the history stays as short as the unapplied part of the log. */
  prune(index: number): void {
    while (this.#changes.length > 0 && this.#changes[0]!.index <= index) this.#base = this.#changes.shift()!.conf;
  }
}
