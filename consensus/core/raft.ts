// The Raft state machine: messages and ticks in, state changes and messages out. No I/O, no
// clock: RawNode (raw-node.ts) turns its state into Ready batches for the caller.
//
// Implemented: elections with pre-vote and check-quorum (a follower that heard from a leader
// within the election timeout ignores vote requests: the leader lease), pipelined replication
// with flow control, commit by quorum of current-term entries only, the leader's no-op,
// snapshots, learners, single-server membership changes, leadership transfer and read-index.
import { confChangeProblem, encodeConfChange } from './conf-change.ts';
import { ConfHistory } from './conf-history.ts';
import { assert, NotLeaderError, ProposalDroppedError } from './errors.ts';
import { RaftLog } from './log.ts';
import { hashString, seededRandom } from './rand.ts';
import { maxPendingReads, ReadOnly } from './read-only.ts';
import type { RaftStorage } from './storage.ts';
import { ProgressTracker } from './tracker.ts';
import type { ConfChange, Entry, HardState, Message, NodeId, ReadState, Role, SoftState, Status } from './types.ts';
import { message } from './types.ts';

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  /** Followers start an election after a randomized timeout in [electionTicks, 2 * electionTicks). Default 10. */
  readonly electionTicks?: number;
  /** The leader sends heartbeats every heartbeatTicks. Must be < electionTicks. Default 1. */
  readonly heartbeatTicks?: number;
  /** The leader steps down when it has not heard from a quorum within an election timeout. Default true. */
  readonly checkQuorum?: boolean;
  /** Ask "would you vote for me" before raising the term, so a node that cannot win does not disrupt. Default true. */
  readonly preVote?: boolean;
  /** Upper bound of entry bytes in one append message. Default 1 MiB. */
  readonly maxSizePerMsgBytes?: number;
  /** Unacknowledged appends per peer in replicate state. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Upper bound of committed entry bytes in one Ready. Default 64 MiB. */
  readonly maxCommittedSizePerReadyBytes?: number;
  /** Ticks a peer may stay in snapshot state without news before the leader probes it again
   *  (the backstop when a snapshot is lost and the transport does not report it). Default 10 * electionTicks. */
  readonly snapshotTimeoutTicks?: number;
  /** Seeds the randomized election timeout. Default: a hash of the id. */
  readonly seed?: number;
}

const defaults = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxSizePerMsgBytes: 1024 * 1024,
  maxInflightMsgs: 256,
  maxCommittedSizePerReadyBytes: 64 * 1024 * 1024,
};

/** The context a vote request carries when leadership transfer forces the election. */
const transferContext = 'transfer';

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: Role = 'follower';
  readonly log: RaftLog;
  readonly trk: ProgressTracker;
  /** Outgoing messages, taken by RawNode.ready(). */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  leadTransferee: NodeId | null = null;
  /** The leader may not propose a membership change until this index is applied. */
  pendingConfIndex = 0;

  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxSizePerMsgBytes: number;
  readonly maxCommittedSizePerReadyBytes: number;
  readonly snapshotTimeoutTicks: number;
  readonly #random: () => number;
  readonly #confs: ConfHistory;

  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  #readOnly = new ReadOnly();
  /** Reads that arrived before this leader committed an entry of its term; served right after. */
  #readsAwaitingCommit: { from: NodeId; context: string }[] = [];
  /** Appends and heartbeats are coalesced until the caller takes a Ready (see flush()). */
  #broadcastPending = false;
  #readHeartbeatPending = false;

  constructor(config: RaftConfig) {
    this.id = config.id;
    this.electionTicks = config.electionTicks ?? defaults.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks ?? defaults.heartbeatTicks;
    assert(this.heartbeatTicks > 0 && this.heartbeatTicks < this.electionTicks, 'heartbeatTicks must be in (0, electionTicks)');
    this.checkQuorum = config.checkQuorum ?? true;
    this.preVote = config.preVote ?? true;
    this.maxSizePerMsgBytes = config.maxSizePerMsgBytes ?? defaults.maxSizePerMsgBytes;
    this.maxCommittedSizePerReadyBytes = config.maxCommittedSizePerReadyBytes ?? defaults.maxCommittedSizePerReadyBytes;
    this.snapshotTimeoutTicks = config.snapshotTimeoutTicks ?? 10 * this.electionTicks;
    this.#random = seededRandom(config.seed ?? hashString(config.id));
    this.log = new RaftLog(config.storage);
    const { hardState, confState } = config.storage.initialState();
    this.#confs = new ConfHistory(confState);
    const [first, last] = [config.storage.firstIndex(), config.storage.lastIndex()];
    if (last >= first) this.#confs.appended(config.storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER));
    this.log.onAppend = (entries) => {
      if (this.#confs.appended(entries)) this.#confChanged();
    };
    this.trk = new ProgressTracker(this.#confs.latest(), config.maxInflightMsgs ?? defaults.maxInflightMsgs);
    if (hardState.term > 0 || hardState.commit > 0) this.#loadHardState(hardState);
    this.becomeFollower(this.term, null);
  }

  #loadHardState(hs: HardState): void {
    assert(hs.commit >= this.log.committed && hs.commit <= this.log.lastIndex(),
      () => `stored commit ${hs.commit} is outside the stored log [${this.log.committed}, ${this.log.lastIndex()}]`);
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leaderId: this.lead, role: this.role };
  }

  // ---- roles -------------------------------------------------------------------------------

  #reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#randomizedElectionTimeout = this.electionTicks + Math.floor(this.#random() * this.electionTicks);
    this.leadTransferee = null;
    this.trk.resetVotes();
    this.trk.resetProgress(this.id, this.log.lastIndex() + 1, this.log.lastIndex());
    this.pendingConfIndex = 0;
    this.#readOnly = new ReadOnly();
    this.#readsAwaitingCommit = [];
    this.#broadcastPending = false;
    this.#readHeartbeatPending = false;
  }

  becomeFollower(term: number, lead: NodeId | null): void {
    this.#reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  #becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become pre-candidate');
    // Term and vote stay: a pre-vote changes nothing durable.
    this.trk.resetVotes();
    this.lead = null;
    this.role = 'pre-candidate';
  }

  #becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become candidate');
    this.#reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  #becomeLeader(): void {
    assert(this.role === 'candidate', 'only a candidate becomes leader');
    this.#reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.trk.progress.get(this.id)!.becomeReplicate();
    const noop = this.#appendEntries([{ type: 'normal', data: new Uint8Array() }]);
    // No membership change until this term's no-op is applied: a new leader may not yet know of
    // a change its predecessor committed, and until an entry of its own term commits, an older
    // uncommitted change might still commit (the single-server change bug, raft-dev 2015).
    this.pendingConfIndex = noop.index;
  }

  // ---- ticks --------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.#tickLeader();
    else this.#tickElection();
  }

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#promotable() && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.campaign(false);
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.electionTicks) {
      this.#electionElapsed = 0;
      if (this.checkQuorum && !this.trk.quorumActive(this.id)) {
        this.becomeFollower(this.term, null);
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = null;
    }
    for (const [id, pr] of this.trk.progress) {
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= this.snapshotTimeoutTicks && id !== this.id) pr.becomeProbe();
    }
    if (this.#heartbeatElapsed >= this.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#broadcastHeartbeat(this.#readOnly.lastContext());
    }
  }

  #promotable(): boolean {
    return this.trk.isVoter(this.id);
  }

  // ---- elections ----------------------------------------------------------------------------

  /** Start an election now (transfer: forced by the leader's MsgTimeoutNow, skipping pre-vote and
   *  the voters' leases). Does nothing on a leader, a learner, or while a committed membership
   *  change is not applied yet (this node might not know the current voters). */
  campaign(transfer: boolean): void {
    if (this.role === 'leader' || !this.#promotable()) return;
    this.#campaign(transfer ? 'transfer' : this.preVote ? 'pre-vote' : 'election');
  }

  #campaign(kind: 'pre-vote' | 'election' | 'transfer'): void {
    const pre = kind === 'pre-vote';
    if (pre) this.#becomePreCandidate();
    else this.#becomeCandidate();
    const term = pre ? this.term + 1 : this.term;
    if (this.#poll(this.id, true) === 'won') return; // a single voter wins alone
    for (const id of this.trk.conf.voters) {
      if (id === this.id) continue;
      this.#send(message({
        type: pre ? 'MsgPreVote' : 'MsgVote', from: this.id, to: id, term,
        index: this.log.lastIndex(), logTerm: this.log.lastTerm(), context: kind === 'transfer' ? transferContext : '',
      }));
    }
  }

  /** Count a vote; on a win, move on to the real election or to leadership. */
  #poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    const result = this.trk.recordVote(from, granted);
    if (result === 'won') {
      if (this.role === 'pre-candidate') this.#campaign('election');
      else {
        this.#becomeLeader();
        this.#broadcastPending = true;
      }
    } else if (result === 'lost') {
      this.becomeFollower(this.term, null);
    }
    return result;
  }

  // ---- messages in ------------------------------------------------------------------------

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const inLease = this.checkQuorum && this.lead !== null && this.#electionElapsed < this.electionTicks;
        if (inLease && m.context !== transferContext) return; // a live leader exists: don't disrupt it
      }
      if (m.type === 'MsgPreVote' || (m.type === 'MsgPreVoteResp' && !m.reject)) {
        // A pre-vote never changes our term; a granted pre-vote answer carries the future term.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      this.#stepStale(m);
      return;
    }
    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      this.#stepVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.#stepLeader(m);
        break;
      case 'candidate':
      case 'pre-candidate':
        this.#stepCandidate(m);
        break;
      case 'follower':
        this.#stepFollower(m);
        break;
    }
  }

  /** A message from an older term. Mostly ignored; some answers unstick the sender. */
  #stepStale(m: Message): void {
    if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
      // A deposed leader (e.g. back from a partition) learns our term and steps down. Without
      // this, with check-quorum, nodes it keeps in lease could never elect anyone.
      this.#send(message({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term }));
    } else if (m.type === 'MsgPreVote') {
      // Tell a pre-candidate at a lower term that it cannot win, so it catches up.
      this.#send(message({ type: 'MsgPreVoteResp', from: this.id, to: m.from, term: this.term, reject: true }));
    }
  }

  #stepVoteRequest(m: Message): void {
    const pre = m.type === 'MsgPreVote';
    const canVote = this.vote === m.from || (this.vote === null && this.lead === null) || (pre && m.term > this.term);
    const grant = canVote && this.log.isUpToDate(m.index, m.logTerm);
    // A granted pre-vote answers in the candidate's future term so it can count it.
    this.#send(message({ type: pre ? 'MsgPreVoteResp' : 'MsgVoteResp', from: this.id, to: m.from, term: grant ? m.term : this.term, reject: !grant }));
    if (grant && !pre) {
      this.#electionElapsed = 0;
      this.vote = m.from;
    }
  }

  #stepCandidate(m: Message): void {
    switch (m.type) {
      case 'MsgApp':
      case 'MsgHeartbeat':
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from); // a leader of this term exists
        this.#stepFollower(m);
        break;
      case 'MsgPreVoteResp':
        if (this.role === 'pre-candidate') this.#poll(m.from, !m.reject);
        break;
      case 'MsgVoteResp':
        if (this.role === 'candidate') this.#poll(m.from, !m.reject);
        break;
      default:
        break; // no leader to forward to
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case 'MsgApp':
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.#handleAppend(m);
        break;
      case 'MsgHeartbeat':
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.#send(message({ type: 'MsgHeartbeatResp', from: this.id, to: m.from, term: this.term, context: m.context }));
        break;
      case 'MsgSnap':
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.#handleSnapshot(m);
        break;
      case 'MsgTimeoutNow':
        this.campaign(true);
        break;
      case 'MsgTransferLeader':
      case 'MsgReadIndex':
        if (this.lead !== null) this.#send({ ...m, to: this.lead, term: this.term });
        break;
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        break;
      default:
        break;
    }
  }

  #handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.#send(message({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== null) {
      this.#send(message({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: lastNew }));
      return;
    }
    // Mismatch: hint the last index at which our log could match the leader's (skipping terms).
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.#send(message({
      type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: m.index,
      reject: true, rejectHint: hint.index, rejectTerm: hint.term,
    }));
  }

  #handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    assert(snap !== null, 'MsgSnap without a snapshot');
    const restored = this.#restore(snap);
    this.#send(message({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: restored ? this.log.lastIndex() : this.log.committed }));
  }

  /** Install a leader's snapshot. False when we already have everything it covers. */
  #restore(snap: Message['snapshot'] & object): boolean {
    const { index, term, conf } = snap.meta;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We hold that entry, so (log matching) everything before it too: just commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snap);
    this.#confs.reset(conf);
    this.trk.setConf(conf, this.log.lastIndex() + 1);
    return true;
  }

  #stepLeader(m: Message): void {
    switch (m.type) {
      case 'MsgAppResp':
        this.#handleAppendResponse(m);
        break;
      case 'MsgHeartbeatResp':
        this.#handleHeartbeatResponse(m);
        break;
      case 'MsgTransferLeader':
        this.#handleTransfer(m.from);
        break;
      case 'MsgReadIndex':
        this.#handleReadIndex(m.from, m.context);
        break;
      default:
        break;
    }
  }

  #handleAppendResponse(m: Message): void {
    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      const probeFrom = m.rejectTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.rejectTerm).index : m.rejectHint;
      if (pr.maybeDecrTo(m.index, probeFrom)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.#sendAppend(m.from, false);
      }
      return;
    }
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

    if (this.#maybeCommit()) this.#broadcastPending = true;
    // Keep the pipeline full while there is more to send.
    while (this.#sendAppend(m.from, false));
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.#send(message({ type: 'MsgTimeoutNow', from: this.id, to: m.from, term: this.term }));
    }
  }

  #handleHeartbeatResponse(m: Message): void {
    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends may have been lost: a full pipeline makes room for one more, and an append (empty
    // if need be) lets the follower say where its log really ends.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.match < this.log.lastIndex()) this.#sendAppend(m.from, true);
    if (m.context === '' || pr.learner) return;
    const acks = this.#readOnly.ack(m.from, m.context);
    if (acks === null) return;
    const votersAcked = this.trk.conf.voters.filter((id) => id === this.id || acks.has(id)).length;
    if (votersAcked < Math.floor(this.trk.conf.voters.length / 2) + 1) return;
    for (const req of this.#readOnly.confirm(m.context)) this.#answerRead(req.from, req.context, req.index);
  }

  // ---- messages out -------------------------------------------------------------------------

  #send(m: Message): void {
    assert(m.to !== this.id, () => `sending ${m.type} to self`);
    this.msgs.push(m);
  }

  /** Send `to` the entries it needs (or a snapshot). False when nothing was sent. */
  #sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    assert(prevIndex <= this.log.lastIndex(), () => `${to} is to get entries after ${prevIndex}, past our last ${this.log.lastIndex()}`);
    const prevTerm = this.log.termOrNull(prevIndex);
    if (prevTerm === null) return this.#sendSnapshot(to); // what it needs was compacted
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.maxSizePerMsgBytes);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.#send(message({ type: 'MsgApp', from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed }));
    pr.sentEntries(entries.length, entries.at(-1)?.index ?? 0);
    return true;
  }

  #sendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    if (!pr.recentActive) return false; // don't ship a snapshot to a peer that may be down
    const snap = this.log.snapshot();
    assert(snap.meta.index > 0, 'the log is compacted but there is no snapshot');
    pr.becomeSnapshot(snap.meta.index);
    this.#send(message({ type: 'MsgSnap', from: this.id, to, term: this.term, snapshot: snap }));
    return true;
  }

  #broadcastAppend(): void {
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.#sendAppend(id, true);
  }

  #broadcastHeartbeat(context: string): void {
    for (const [id, pr] of this.trk.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to hold.
      this.#send(message({ type: 'MsgHeartbeat', from: this.id, to: id, term: this.term, commit: Math.min(pr.match, this.log.committed), context }));
    }
  }

  /** Send what was coalesced since the last Ready. Called by RawNode before it builds one. */
  flush(): void {
    if (this.role !== 'leader') return;
    if (this.#broadcastPending) {
      this.#broadcastPending = false;
      this.#broadcastAppend();
    }
    if (this.#readHeartbeatPending) {
      this.#readHeartbeatPending = false;
      this.#broadcastHeartbeat(this.#readOnly.lastContext());
    }
  }

  hasPendingFlush(): boolean {
    return this.role === 'leader' && (this.#broadcastPending || this.#readHeartbeatPending);
  }

  // ---- the leader's log ----------------------------------------------------------------------

  #appendEntries(entries: readonly { type: Entry['type']; data: Uint8Array }[]): { index: number; term: number } {
    let index = this.log.lastIndex();
    const stamped = entries.map((e) => ({ term: this.term, index: ++index, type: e.type, data: e.data }));
    const last = this.log.append(stamped);
    this.trk.progress.get(this.id)?.maybeUpdate(last);
    this.#maybeCommit();
    return { index: last, term: this.term };
  }

  /** Advance the commit index to what a quorum holds, if that entry is of this term. */
  #maybeCommit(): boolean {
    const committedBefore = this.log.committed;
    if (!this.log.maybeCommit(this.trk.committed(), this.term)) return false;
    if (this.log.termOrNull(committedBefore) !== this.term) this.#releaseReadsAwaitingCommit();
    return true;
  }

  propose(data: Uint8Array): { index: number; term: number } {
    this.#checkLeaderAcceptsProposals();
    const at = this.#appendEntries([{ type: 'normal', data }]);
    this.#broadcastPending = true;
    return at;
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.#checkLeaderAcceptsProposals();
    if (this.pendingConfIndex > this.log.applied) {
      throw new ProposalDroppedError('a membership change is already in progress (or this leader has not applied its first entry yet): retry when it is applied');
    }
    const problem = confChangeProblem(this.trk.conf, cc);
    if (problem !== null) throw new ProposalDroppedError(`membership change refused: ${problem}`);
    if (cc.type === 'remove' && cc.node === this.id) {
      throw new ProposalDroppedError('the leader cannot remove itself: transfer leadership to another voter first');
    }
    const at = this.#appendEntries([{ type: 'conf-change', data: encodeConfChange(cc) }]);
    this.pendingConfIndex = at.index;
    this.#broadcastPending = true;
    return at;
  }

  #checkLeaderAcceptsProposals(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.lead);
    if (this.leadTransferee !== null) {
      throw new ProposalDroppedError(`leadership is being transferred to ${this.leadTransferee}: retry on the new leader`);
    }
  }

  /** A membership change entered the log (or one was replaced): it is in effect from now on. */
  #confChanged(): void {
    this.trk.setConf(this.#confs.latest(), this.log.lastIndex() + 1);
    if (this.role !== 'leader') return;
    if (this.leadTransferee !== null && !this.trk.isVoter(this.leadTransferee)) this.leadTransferee = null;
    // A changed quorum may already hold more entries; a newcomer is probed with the broadcast.
    this.#maybeCommit();
    this.#broadcastPending = true;
  }

  /** The application applied up to the log's applied index. */
  onApplied(): void {
    this.#confs.prune(this.log.applied);
  }

  // ---- leadership transfer -------------------------------------------------------------------

  transferLeadership(to: NodeId): void {
    if (this.role === 'leader') {
      if (!this.trk.isVoter(to)) throw new ProposalDroppedError(`cannot transfer leadership to ${to}: it is not a voter`);
      this.#handleTransfer(to);
      return;
    }
    if (this.lead === null) throw new NotLeaderError(null);
    this.#send(message({ type: 'MsgTransferLeader', from: to, to: this.lead, term: this.term }));
  }

  #handleTransfer(transferee: NodeId): void {
    if (transferee === this.id || !this.trk.isVoter(transferee)) return;
    if (this.leadTransferee === transferee) return;
    this.leadTransferee = transferee;
    this.#electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.trk.progress.get(transferee)!;
    if (pr.match === this.log.lastIndex()) {
      this.#send(message({ type: 'MsgTimeoutNow', from: this.id, to: transferee, term: this.term }));
    } else {
      this.#sendAppend(transferee, true); // even if empty: its answer tells where to catch up from
    }
  }

  // ---- read-index ------------------------------------------------------------------------------

  readIndex(context: string): void {
    if (this.role === 'leader') {
      this.#handleReadIndex(this.id, context);
      return;
    }
    if (this.lead === null) throw new NotLeaderError(null);
    this.#send(message({ type: 'MsgReadIndex', from: this.id, to: this.lead, term: this.term, context }));
  }

  #handleReadIndex(from: NodeId, context: string): void {
    // Until an entry of this term commits, our commit index may be behind the previous leader's.
    if (this.log.termOrNull(this.log.committed) !== this.term) {
      if (this.#readsAwaitingCommit.length >= maxPendingReads) this.#readsAwaitingCommit.shift();
      this.#readsAwaitingCommit.push({ from, context });
      return;
    }
    if (this.trk.conf.voters.length === 1) {
      this.#answerRead(from, context, this.log.committed);
      return;
    }
    this.#readOnly.add(this.log.committed, from, context);
    this.#readOnly.ack(this.id, context);
    this.#readHeartbeatPending = true;
  }

  #releaseReadsAwaitingCommit(): void {
    const waiting = this.#readsAwaitingCommit;
    this.#readsAwaitingCommit = [];
    for (const r of waiting) this.#handleReadIndex(r.from, r.context);
  }

  #answerRead(from: NodeId, context: string, index: number): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.#send(message({ type: 'MsgReadIndexResp', from: this.id, to: from, term: this.term, index, context }));
  }

  // ---- reports from the transport ------------------------------------------------------------

  reportUnreachable(id: NodeId): void {
    const pr = this.trk.progress.get(id);
    if (this.role === 'leader' && pr && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.trk.progress.get(id);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    // Wait for the follower's answer (or a heartbeat response) before the next append.
    pr.becomeProbe();
    pr.probeSent = true;
  }

  status(): Status {
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      role: this.role,
      leaderId: this.lead,
      conf: this.trk.conf,
      appliedConf: this.#confs.at(this.log.applied),
      leadTransferee: this.leadTransferee,
      progress: this.role === 'leader' ? this.trk.view() : null,
    };
  }
}

