// The nodes each kind of stream may use at all (state, pins, groups: the static filters of
// feasibility.ts), ordered by group rank, computed once per kind of stream per placement run so
// the hot loop visits only those.
import type { ClusterLoad } from './cluster.ts';
import { eligibilityRejection, stateRejection } from './feasibility.ts';
import { groupRank } from './score.ts';
import type { GroupView, StreamDemand } from './types.ts';

/** The nodes a kind of stream may use, best group rank first (then by node index). */
export interface EligibleSet {
  readonly nodes: Int32Array;
  /** Group rank of nodes[k]: lower is preferred (see score.ts groupRank). */
  readonly ranks: Float64Array;
}

/** EligibleSets per kind of stream (same pins and policy groups), built on first use. */
export class Eligibility {
  readonly #load: ClusterLoad;
  readonly #groups: Readonly<Record<string, GroupView>>;
  /** Per node: its state rejection, computed once. */
  readonly #stateOk: Uint8Array;
  readonly #sets = new Map<string, EligibleSet>();

  constructor(load: ClusterLoad, groups: Readonly<Record<string, GroupView>>) {
    this.#load = load;
    this.#groups = groups;
    this.#stateOk = Uint8Array.from(load.nodes, (node) => (stateRejection(node) === null ? 1 : 0));
  }

  of(stream: StreamDemand): EligibleSet {
    const key = `${stream.pinNode ?? ''}\u0000${stream.pinGroup ?? ''}\u0000${stream.policy.groups.join('\u0000')}`;
    let set = this.#sets.get(key);
    if (set === undefined) {
      set = this.#build(stream);
      this.#sets.set(key, set);
    }
    return set;
  }

  #build(stream: StreamDemand): EligibleSet {
    const found: Array<{ i: number; rank: number }> = [];
    this.#load.nodes.forEach((node, i) => {
      if (this.#stateOk[i] === 1 && eligibilityRejection(node, stream) === null) found.push({ i, rank: groupRank(node, stream.policy.groups, this.#groups) });
    });
    found.sort((a, b) => a.rank - b.rank || a.i - b.i);
    return { nodes: Int32Array.from(found, (f) => f.i), ranks: Float64Array.from(found, (f) => f.rank) };
  }
}
