// The caller's handle on the state machine: feed it ticks, messages and requests; take a Ready,
// do what it says in order (persist, send, apply), then advance. See Ready in types.ts.
import { assert } from './errors.ts';
import { Raft } from './raft.ts';
import type { RaftConfig } from './raft.ts';
import type { ConfChange, HardState, Message, NodeId, Ready, SoftState, Status } from './types.ts';

export type { RaftConfig };

export class RawNode {
  readonly #raft: Raft;
  #prevSoft: SoftState;
  #prevHard: HardState;
  /** The Ready handed out and not yet advanced: at most one at a time. */
  #outstanding: Ready | null = null;

  constructor(config: RaftConfig) {
    this.#raft = new Raft(config);
    this.#prevSoft = this.#raft.softState();
    this.#prevHard = this.#raft.hardState();
  }

  get id(): NodeId {
    return this.#raft.id;
  }

  tick(): void {
    this.#raft.tick();
  }

  campaign(): void {
    this.#raft.campaign(false);
  }

  /** Append `data` to the log if this node leads. Returns where the entry will be, if it commits.
   *  Throws NotLeaderError (with the leader's id, if known) or ProposalDroppedError (transfer under way). */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.#raft.propose(data);
  }

  /** One membership change at a time. Throws NotLeaderError, or ProposalDroppedError when a change
   *  is pending or this one does not apply (already a member, last voter, the leader itself). */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.#raft.proposeConfChange(cc);
  }

  /** Ask the leader to hand leadership to `to`. Completes when `to` wins an election; abandoned
   *  after an election timeout. Throws NotLeaderError on a node that knows no leader. */
  transferLeadership(to: NodeId): void {
    this.#raft.transferLeadership(to);
  }

  /** Request a linearizable read. Its answer comes in a later Ready's readStates with the same
   *  context: serve the read once applied >= that index. `context` must be unique among pending
   *  reads (a repeat is ignored). Throws NotLeaderError when no leader is known. No answer comes
   *  if leadership is lost meanwhile: callers time out and retry. */
  readIndex(context: string): void {
    this.#raft.readIndex(context);
  }

  /** A message from a peer. Stale and unexpected ones are dropped: the network may do anything. */
  step(m: Message): void {
    assert(m.to === this.#raft.id, () => `message for ${m.to} stepped into ${this.#raft.id}`);
    this.#raft.step(m);
  }

  reportUnreachable(id: NodeId): void {
    this.#raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.#raft.reportSnapshot(id, ok);
  }

  hasReady(): boolean {
    const r = this.#raft;
    if (this.#outstanding !== null) return false;
    if (r.msgs.length > 0 || r.readStates.length > 0 || r.hasPendingFlush()) return true;
    if (r.log.unstable.entries.length > 0 || r.log.unstable.snapshot !== null) return true;
    if (r.log.hasNextCommittedEntries()) return true;
    if (!sameSoft(r.softState(), this.#prevSoft) || !sameHard(r.hardState(), this.#prevHard)) return true;
    return false;
  }

  /** What to do next. Call advance(ready) once done; no other ready() before that. */
  ready(): Ready {
    assert(this.#outstanding === null, 'ready() called again before advance()');
    const r = this.#raft;
    r.flush();
    const soft = r.softState();
    const hard = r.hardState();
    const hardChanged = !sameHard(hard, this.#prevHard);
    const entries = [...r.log.unstable.entries];
    const snapshot = r.log.unstable.snapshot;
    const rd: Ready = {
      softState: sameSoft(soft, this.#prevSoft) ? null : soft,
      hardState: hardChanged ? hard : null,
      entries,
      snapshot,
      committedEntries: r.log.nextCommittedEntries(r.maxCommittedSizePerReadyBytes),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || snapshot !== null || (hardChanged && (hard.term !== this.#prevHard.term || hard.vote !== this.#prevHard.vote)),
    };
    r.msgs = [];
    r.readStates = [];
    this.#outstanding = rd;
    return rd;
  }

  /** The caller persisted, sent and applied `rd`. (Membership changes took effect when their
   *  entries entered the log.) */
  advance(rd: Ready): void {
    assert(this.#outstanding === rd, 'advance() with a Ready that is not the outstanding one');
    this.#outstanding = null;
    const r = this.#raft;
    if (rd.softState) this.#prevSoft = rd.softState;
    if (rd.hardState) this.#prevHard = rd.hardState;
    if (rd.snapshot) {
      r.log.unstable.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > r.log.applied) r.log.appliedTo(rd.snapshot.meta.index);
    }
    const lastEntry = rd.entries.at(-1);
    if (lastEntry) r.log.unstable.stableTo(lastEntry.index, lastEntry.term);
    const lastCommitted = rd.committedEntries.at(-1);
    // Entries at or below applied were covered by a snapshot applied meanwhile.
    if (lastCommitted && lastCommitted.index > r.log.applied) r.log.appliedTo(lastCommitted.index);
    r.onApplied();
  }

  status(): Status {
    return this.#raft.status();
  }

  /** Role and leader now (cheaper than status(), which copies the leader's progress). */
  softState(): SoftState {
    return this.#raft.softState();
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.leaderId === b.leaderId && a.role === b.role;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
