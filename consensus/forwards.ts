// Proposals a follower forwarded to its leader (etcd's MsgProp): first waiting for the leader's
// MsgPropResp that says where it placed the entry (index, term), then for the follower itself to
// apply that index. Settled as PendingProposals settles the leader's own proposals: applied
// with the same term means done; another term there means lost; covered by a snapshot means
// unknown unless the snapshot ends exactly at it with its term. Unanswered ones expire (the
// MsgProp or its answer can be lost) and are given up on when leadership changes.
import { ForwardUnconfirmedError, ProposalLostError, ProposalOutcomeUnknownError } from './driver-errors.ts';
import type { Placed } from './proposals.ts';
import type { SnapshotMeta } from './core/types.ts';

interface Unanswered {
  readonly issuedTick: number;
  readonly resolve: (placed: Placed) => void;
  readonly reject: (error: Error) => void;
}

interface Placing extends Placed {
  readonly resolve: (placed: Placed) => void;
  readonly reject: (error: Error) => void;
}

export class PendingForwards {
  readonly #timeoutTicks: number;
  readonly #unanswered = new Map<string, Unanswered>(); // insertion order = issue order
  readonly #byIndex = new Map<number, Placing[]>();
  #placed = 0;

  constructor(timeoutTicks: number) {
    this.#timeoutTicks = timeoutTicks;
  }

  get size(): number {
    return this.#unanswered.size + this.#placed;
  }

  /** Track the MsgProp sent with `context` at tick `nowTick`. */
  add(context: string, nowTick: number): Promise<Placed> {
    const { promise, resolve, reject } = Promise.withResolvers<Placed>();
    this.#unanswered.set(context, { issuedTick: nowTick, resolve, reject });
    return promise;
  }

  /** The leader placed the proposal sent with `context` at (index, term). `termAt` tells the term
   *  of an index this node applied already (null when it no longer knows it). */
  placed(context: string, at: Placed, appliedIndex: number, termAt: (index: number) => number | null): void {
    const waiting = this.#unanswered.get(context);
    if (waiting === undefined) return; // expired, or not ours
    this.#unanswered.delete(context);
    if (at.index <= appliedIndex) {
      const term = termAt(at.index);
      if (term === at.term) waiting.resolve(at);
      else if (term === null) waiting.reject(new ProposalOutcomeUnknownError(at.index, at.term, appliedIndex, 0));
      else waiting.reject(new ProposalLostError(at.index, at.term, term));
      return;
    }
    const list = this.#byIndex.get(at.index) ?? [];
    list.push({ index: at.index, term: at.term, resolve: waiting.resolve, reject: waiting.reject });
    this.#byIndex.set(at.index, list);
    this.#placed++;
  }

  /** The leader refused the proposal sent with `context`. */
  refused(context: string, error: Error): void {
    const waiting = this.#unanswered.get(context);
    if (waiting === undefined) return;
    this.#unanswered.delete(context);
    waiting.reject(error);
  }

  /** The entry (index, term) was applied locally. */
  applied(index: number, term: number): void {
    if (this.#placed === 0) return;
    const list = this.#byIndex.get(index);
    if (list === undefined) return;
    this.#byIndex.delete(index);
    this.#placed -= list.length;
    for (const w of list) {
      if (w.term === term) w.resolve({ index, term });
      else w.reject(new ProposalLostError(index, w.term, term));
    }
  }

  /** A snapshot replaced the log up to `meta.index` (see PendingProposals.snapshotApplied). */
  snapshotApplied(meta: SnapshotMeta): void {
    if (this.#placed === 0) return;
    for (const [index, list] of this.#byIndex) {
      if (index > meta.index) continue;
      this.#byIndex.delete(index);
      this.#placed -= list.length;
      for (const w of list) {
        if (index === meta.index && w.term === meta.term) w.resolve({ index, term: w.term });
        else if (w.term > meta.term) w.reject(new ProposalLostError(index, w.term, meta.term));
        else w.reject(new ProposalOutcomeUnknownError(index, w.term, meta.index, meta.term));
      }
    }
  }

  /** Reject proposals the leader has not answered for the timeout. */
  expire(nowTick: number): void {
    for (const [context, w] of this.#unanswered) {
      if (nowTick - w.issuedTick < this.#timeoutTicks) break; // later ones are younger
      this.#unanswered.delete(context);
      w.reject(new ForwardUnconfirmedError(`no answer within ${this.#timeoutTicks} ticks`));
    }
  }

  /** This node's leader changed: answers from the old one will not come. */
  leaderChanged(): void {
    const all = [...this.#unanswered.values()];
    this.#unanswered.clear();
    for (const w of all) w.reject(new ForwardUnconfirmedError('leadership changed before the leader answered'));
  }

  rejectAll(error: Error): void {
    const all: { reject: (error: Error) => void }[] = [...this.#unanswered.values()];
    for (const list of this.#byIndex.values()) all.push(...list);
    this.#unanswered.clear();
    this.#byIndex.clear();
    this.#placed = 0;
    for (const w of all) w.reject(error);
  }
}
