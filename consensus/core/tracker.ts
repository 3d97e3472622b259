// The configuration with each member's progress and votes, and the majority arithmetic over it.
// Only voters count towards a quorum; learners receive the log and nothing else.
import { assert } from './errors.ts';
import { Progress } from './progress.ts';
import type { ConfState, NodeId, PeerProgress } from './types.ts';

export type VoteResult = 'won' | 'lost' | 'pending';

/** The index that a majority of `matches` has reached (the median from the top). */
export function quorumIndex(matches: readonly number[]): number {
  if (matches.length === 0) return 0;
  const sorted = [...matches].sort((a, b) => b - a);
  return sorted[Math.floor(matches.length / 2)]!;
}

/** Outcome of an election from the votes cast so far (true = granted). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const majority = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  if (granted >= majority) return 'won';
  if (granted + missing >= majority) return 'pending';
  return 'lost';
}

export class ProgressTracker {
  #conf: ConfState;
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  readonly #maxInflightMsgs: number;

  constructor(conf: ConfState, maxInflightMsgs: number) {
    this.#conf = conf;
    this.#maxInflightMsgs = maxInflightMsgs;
  }

  get conf(): ConfState {
    return this.#conf;
  }

  isVoter(id: NodeId): boolean {
    return this.#conf.voters.includes(id);
  }

  isLearner(id: NodeId): boolean {
    return this.#conf.learners.includes(id);
  }

  /** Every member, voters first. */
  members(): NodeId[] {
    return [...this.#conf.voters, ...this.#conf.learners];
  }

  /** Switch to `conf`, keeping the progress of members that stay; new members start probing at `nextIndex`. */
  setConf(conf: ConfState, nextIndex: number): void {
    this.#conf = conf;
    const members = new Set(this.members());
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      const learner = conf.learners.includes(id);
      const pr = this.progress.get(id);
      if (pr) {
        pr.learner = learner;
      } else {
        const fresh = new Progress(nextIndex, this.#maxInflightMsgs, learner);
        // A new member gets a full election timeout before check-quorum counts it as silent.
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      }
    }
  }

  /** Forget all progress: every member probes again from `nextIndex`; `self` matches `lastIndex`.
   *  Nobody but `self` counts as recently active: a new term's leader must hear from a quorum
   *  within its first election timeout to keep leading. */
  resetProgress(self: NodeId, nextIndex: number, lastIndex: number): void {
    this.progress.clear();
    this.setConf(this.#conf, nextIndex);
    for (const [id, pr] of this.progress) pr.recentActive = id === self;
    const own = this.progress.get(self);
    if (own) own.match = lastIndex;
  }

  /** The highest index stored on a majority of voters. */
  committed(): number {
    return quorumIndex(this.#conf.voters.map((id) => this.progress.get(id)?.match ?? 0));
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.#conf.voters, this.votes);
  }

  /** True when a majority of voters (counting `self`) was heard from since the last call;
   *  then starts a new round. */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.#conf.voters) {
      const pr = this.progress.get(id);
      assert(pr !== undefined, `voter ${id} has no progress`);
      if (id === self || pr.recentActive) active++;
    }
    for (const [id, pr] of this.progress) if (id !== self) pr.recentActive = false;
    return active >= Math.floor(this.#conf.voters.length / 2) + 1;
  }

  view(): Map<NodeId, PeerProgress> {
    const out = new Map<NodeId, PeerProgress>();
    for (const [id, pr] of this.progress) {
      out.set(id, { match: pr.match, next: pr.next, state: pr.state, inflight: pr.inflights.count, recentActive: pr.recentActive, learner: pr.learner });
    }
    return out;
  }
}
