// Proposals a follower forwarded to its leader (etcd's MsgProp, one message for all the
// proposals of an event-loop turn): first waiting for the leader's MsgPropResp that says where it
// placed the first entry (index, term; the others follow it), then for the follower itself to
// apply each index. Settled as PendingProposals settles the leader's own proposals: applied
// with the same term means done; another term there means lost; covered by a snapshot means
// unknown unless the snapshot ends exactly at it with its term. Unanswered ones expire (the
// MsgProp or its answer can be lost) and are given up on when leadership changes.
import { ForwardUnconfirmedError, ProposalLostError, ProposalOutcomeUnknownError } from './driver-errors.ts';
import type { Placed } from './proposals.ts';
import type { SnapshotMeta } from './core/types.ts';

interface Waiter {
  readonly resolve: (placed: Placed) => void;
  readonly reject: (error: Error) => void;
}

interface Unanswered {
  readonly issuedTick: number;
  /** The leader the MsgProp went to. */
  readonly leader: string;
  /** One per entry of the MsgProp, in order. */
  readonly waiters: readonly Waiter[];
}

interface Placing extends Placed {
  readonly resolve: (placed: Placed) => void;
  readonly reject: (error: Error) => void;
}

export class PendingForwards {
  readonly #timeoutTicks: number;
  readonly #unanswered = new Map<string, Unanswered>(); // insertion order = issue order
  #unansweredCount = 0;
  readonly #byIndex = new Map<number, Placing[]>();
  #placed = 0;

  constructor(timeoutTicks: number) {
    this.#timeoutTicks = timeoutTicks;
  }

  get size(): number {
    return this.#unansweredCount + this.#placed;
  }

  /** Track the MsgProp of one entry sent with `context` to `leader` at tick `nowTick`. */
  add(context: string, nowTick: number, leader: string): Promise<Placed> {
    return this.addBatch(context, 1, nowTick, leader)[0]!;
  }

  /** Track the MsgProp of `count` entries sent with `context` to `leader` at tick `nowTick`: a
   *  promise each. */
  addBatch(context: string, count: number, nowTick: number, leader: string): Promise<Placed>[] {
    const waiters: Waiter[] = [];
    const promises: Promise<Placed>[] = [];
    for (let i = 0; i < count; i++) {
      const { promise, resolve, reject } = Promise.withResolvers<Placed>();
      waiters.push({ resolve, reject });
      promises.push(promise);
    }
    this.#unanswered.set(context, { issuedTick: nowTick, leader, waiters });
    this.#unansweredCount += count;
    return promises;
  }

  #take(context: string): readonly Waiter[] | null {
    const unanswered = this.#unanswered.get(context);
    if (unanswered === undefined) return null;
    this.#unanswered.delete(context);
    this.#unansweredCount -= unanswered.waiters.length;
    return unanswered.waiters;
  }

  /** The leader placed the entries sent with `context` from (index, term) on. `termAt` tells the
   *  term of an index this node applied already (null when it no longer knows it). */
  placed(context: string, first: Placed, appliedIndex: number, termAt: (index: number) => number | null): void {
    const waiters = this.#take(context);
    if (waiters === null) return; // expired, or not ours
    waiters.forEach((waiting, i) => this.#place(waiting, { index: first.index + i, term: first.term }, appliedIndex, termAt));
  }

  #place(waiting: Waiter, at: Placed, appliedIndex: number, termAt: (index: number) => number | null): void {
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

  /** The leader refused the proposals sent with `context`. */
  refused(context: string, error: Error): void {
    for (const waiting of this.#take(context) ?? []) waiting.reject(error);
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
    for (const [context, u] of this.#unanswered) {
      if (nowTick - u.issuedTick < this.#timeoutTicks) break; // later ones are younger
      for (const w of this.#take(context)!) w.reject(new ForwardUnconfirmedError(`no answer within ${this.#timeoutTicks} ticks`));
    }
  }

  /** This node now follows `leader` (null: none): answers from any other will not come. The
   *  MsgProps already sent to `leader` itself stay (a follower that learns of its leader in the
   *  Ready after it forwarded to it must not give up on them). */
  leaderChanged(leader: string | null): void {
    const gone: Waiter[] = [];
    for (const [context, u] of this.#unanswered) {
      if (u.leader === leader) continue;
      gone.push(...this.#take(context)!);
    }
    for (const w of gone) w.reject(new ForwardUnconfirmedError('leadership changed before the leader answered'));
  }

  rejectAll(error: Error): void {
    const all: { reject: (error: Error) => void }[] = [...this.#unanswered.values()].flatMap((u) => u.waiters);
    for (const list of this.#byIndex.values()) all.push(...list);
    this.#unanswered.clear();
    this.#unansweredCount = 0;
    this.#byIndex.clear();
    this.#placed = 0;
    for (const w of all) w.reject(error);
  }
}
