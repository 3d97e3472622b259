// The driver runs one Raft node: it owns the RawNode, ticks it on a timer, feeds it the
// transport's messages and the application's proposals, and works through its Readies one at a
// time in etcd-io/raft's order: persist (one store.save, synced when the Ready must be) -> update the MemoryStorage ->
// send -> apply -> advance. While a save is in flight, new proposals and messages are stepped
// into the RawNode and come out together in the next Ready: that batching is the throughput.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { ConfChange, HardState, Message, NodeId, Ready, Status } from './core/index.ts';
import { MemoryStorage, NotLeaderError, ProposalDroppedError, RawNode } from './core/index.ts';
import { assert } from './core/errors.ts';
import { DriverStoppedError, StoppedInFlightError, TooManyPendingError } from './driver-errors.ts';
import { PendingForwards } from './forwards.ts';
import { realClock, resolveDriverInit } from './driver-options.ts';
import type { DriverClock, RaftDriverComponents, RaftDriverEvents, RaftDriverInit, ResolvedDriverInit } from './driver-options.ts';
import type { LogStore, PersistedState } from './log-store.ts';
import { PendingProposals, type Placed } from './proposals.ts';
import { PendingReads } from './reads.ts';
import { memoryStorageFrom } from './restore.ts';
import type { StateMachine } from './state-machine.ts';
import type { Transport, TransportHandler } from './transport.ts';

export type { DriverClock, RaftDriverComponents, RaftDriverEvents, RaftDriverInit } from './driver-options.ts';

/** Readies handled back to back before the loop yields a macrotask to timers and I/O (with an
 *  in-memory store every save resolves at once, and the loop must not starve the tick timer). */
const maxReadiesPerTurn = 64;

type LifecycleState = 'new' | 'starting' | 'running' | 'stopped';

/** Entry bytes in one forwarded MsgProp at most (a single larger entry goes alone). */
const forwardBatchBytesMax = 1024 * 1024;

/** MsgPropResp rejectHint: why the leader refused a forwarded proposal. */
const refusedNotLeader = 1;
const refusedDropped = 2;

/** A driver-level message (MsgProp, MsgPropResp): the fields it does not use left empty. */
function message(type: 'MsgProp' | 'MsgPropResp', from: NodeId, to: NodeId, term: number, fields: Partial<Message>): Message {
  return { type, from, to, term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, rejectTerm: 0, snapshot: null, context: '', ...fields };
}

export class RaftDriver extends EventEmitter<RaftDriverEvents> {
  readonly id: NodeId;
  readonly #store: LogStore;
  readonly #transport: Transport;
  readonly #sm: StateMachine;
  readonly #clock: DriverClock;
  readonly #logger: Pick<Console, 'error'>;
  readonly #init: ResolvedDriverInit;
  readonly #proposals = new PendingProposals();
  readonly #reads: PendingReads;
  readonly #forwards: PendingForwards;
  #leaderId: NodeId | null = null;
  /** Read contexts must never repeat, not even across restarts: a late answer to an old
   *  request must not satisfy a new one. */
  readonly #readContextPrefix = randomUUID();
  #readSeq = 0;
  #forwardSeq = 0;
  /** Proposals to forward at the end of this event-loop turn, in one MsgProp. */
  #outbox: { readonly data: Uint8Array; readonly resolve: (placed: Placed) => void; readonly reject: (error: Error) => void }[] | null = null;
  #state: LifecycleState = 'new';
  #failure: Error | null = null;
  #node: RawNode | null = null;
  #storage: MemoryStorage | null = null;
  #ticker: { stop(): void } | null = null;
  #ticks = 0;
  /** When the last snapshot was taken (-Infinity: none yet by this process). */
  #snapshotTick = -Infinity;
  /** When a message last arrived from each peer, by the monotonic clock (performance.now()). */
  readonly #heardAtMs = new Map<NodeId, number>();
  #appliedIndex = 0;
  /** A hard state that only moved the commit index, not written yet (see #handleReady). */
  #unsavedHardState: HardState | null = null;
  #hardStateDue = false;
  #snapshotIndex = 0;
  /** Set while the Ready loop runs; resolves when it has stopped. */
  #loop: PromiseWithResolvers<void> | null = null;

  constructor(components: RaftDriverComponents, init: RaftDriverInit) {
    super();
    this.id = init.id;
    this.#store = components.store;
    this.#transport = components.transport;
    this.#sm = components.stateMachine;
    this.#clock = components.clock ?? realClock;
    this.#logger = components.logger ?? console;
    this.#init = resolveDriverInit(init);
    this.#reads = new PendingReads(this.#init.readTimeoutTicks);
    // Unanswered forwards expire like reads: a lost MsgProp or answer must not hang a caller.
    this.#forwards = new PendingForwards(this.#init.readTimeoutTicks);
  }

  /** Load the store, restore the state machine, build the RawNode, start the transport and the
   *  tick timer. Throws what the store's load throws (CorruptLogError); the driver is then stopped. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`raft driver ${this.id} can only be started once`);
    this.#state = 'starting';
    try {
      const persisted = await this.#loadOrBootstrap();
      const storage = memoryStorageFrom(persisted);
      if (persisted.snapshot !== null) this.#sm.restore(persisted.snapshot.data);
      this.#snapshotIndex = this.#appliedIndex = persisted.snapshot?.meta.index ?? 0;
      this.#storage = storage;
      this.#node = new RawNode({
        ...this.#init.raft,
        id: this.id,
        storage,
        electionTicks: this.#init.electionTicks,
        heartbeatTicks: this.#init.heartbeatTicks,
      });
      await this.#transport.start(this.#transportHandler());
    } catch (err) {
      this.#state = 'stopped';
      throw err;
    }
    // stop() may have been called while we awaited: it marked us stopped, undo what we started.
    if (this.#state !== 'starting') {
      await this.#transport.stop();
      return;
    }
    this.#state = 'running';
    this.#ticker = this.#clock.every(this.#init.tickIntervalMs, () => this.#tick());
    this.#schedule();
  }

  /** Stop ticking and receiving, reject what is pending, and wait for an in-flight write to
   *  finish: proposals handed to Raft or forwarded with StoppedInFlightError (the rest of the
   *  cluster may still commit them), reads and proposals not yet sent with DriverStoppedError.
   *  The store stays open: its owner closes it after this. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return this.#loop?.promise;
    this.#state = 'stopped';
    this.#ticker?.stop();
    this.#ticker = null;
    const stopped = new DriverStoppedError(this.id, this.#failure ?? undefined);
    const inFlight = new StoppedInFlightError(this.id, this.#failure ?? undefined);
    this.#proposals.rejectAll(inFlight);
    this.#reads.rejectAll(stopped);
    this.#forwards.rejectAll(inFlight);
    for (const p of this.#outbox ?? []) p.reject(stopped);
    this.#outbox = null;
    await this.#transport.stop();
    await this.#loop?.promise;
    const hardState = this.#unsavedHardState;
    this.#unsavedHardState = null;
    if (hardState !== null && this.#failure === null) {
      await this.#store.save({ hardState, entries: [], snapshot: null, sync: false }).catch((err: unknown) => this.#logger.error(`raft node ${this.id}: while stopping: ${String(err)}`));
    }
  }

  /** Propose `data` as a normal entry. Resolves with where it landed once it is applied
   *  locally. On a follower, sends it to the leader when `forwardProposals` is on (rejecting
   *  with NotLeaderError when no leader is known, or ForwardUnconfirmedError when the leader
   *  does not answer or leadership changes first), else rejects with NotLeaderError (carrying
   *  the leader's id). Also ProposalDroppedError (e.g. during a leadership transfer),
   *  TooManyPendingError, ProposalLostError / ProposalOutcomeUnknownError if leadership changed
   *  under it, or DriverStoppedError. */
  propose(data: Uint8Array): Promise<Placed> {
    if (this.#init.forwardProposals && this.#node !== null && this.#node.softState().role !== 'leader') return this.#forward(data);
    return this.#place((node) => node.propose(data));
  }

  /** Propose a membership change; resolves once it is applied (the configuration has changed). */
  proposeConfChange(cc: ConfChange): Promise<Placed> {
    return this.#place((node) => node.proposeConfChange(cc));
  }

  /** A linearizable read: resolves with the read index once this node has applied it, so the
   *  state machine may then be read. Works on followers too (the leader is asked). Rejects with
   *  NotLeaderError when no leader is known, ReadTimeoutError, TooManyPendingError. */
  read(): Promise<number> {
    let node: RawNode;
    try {
      node = this.#running();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#reads.size >= this.#init.maxPendingReads) return Promise.reject(new TooManyPendingError('reads', this.#init.maxPendingReads));
    const context = `${this.#readContextPrefix}/${++this.#readSeq}`;
    try {
      node.readIndex(context);
    } catch (err) {
      return Promise.reject(this.#expected(err));
    }
    const read = this.#reads.add(context, this.#ticks);
    this.#schedule();
    return read;
  }

  /** Ask the leader (this node) to hand leadership to `to`. Throws NotLeaderError. */
  transferLeadership(to: NodeId): void {
    this.#running().transferLeadership(to);
    this.#schedule();
  }

  /** Start an election now instead of waiting for the election timeout. */
  campaign(): void {
    this.#running().campaign();
    this.#schedule();
  }

  status(): Status {
    if (this.#node === null) throw new DriverStoppedError(this.id);
    return this.#node.status();
  }

  /** Milliseconds since a message last arrived here from `peer`, by the monotonic clock
   *  (Infinity: never, since this driver started). The leader's streams loop counts a member
   *  silent for 2 s as suspect, before that member's own fence stops its streams. */
  msSinceHeardFrom(peer: NodeId): number {
    return performance.now() - (this.#heardAtMs.get(peer) ?? -Infinity);
  }

  /** The index of the last entry applied to the state machine. */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** Proposals and reads waiting (for status displays and the bench). */
  pending(): { proposals: number; reads: number } {
    return { proposals: this.#proposals.size, reads: this.#reads.size };
  }

  #place(placeIn: (node: RawNode) => Placed): Promise<Placed> {
    let node: RawNode;
    try {
      node = this.#running();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#proposals.size >= this.#init.maxPendingProposals) {
      return Promise.reject(new TooManyPendingError('proposals', this.#init.maxPendingProposals));
    }
    let placed: Placed;
    try {
      placed = placeIn(node);
    } catch (err) {
      return Promise.reject(this.#expected(err));
    }
    const applied = this.#proposals.add(placed);
    this.#schedule();
    return applied;
  }

  /** Send `data` to the leader in a MsgProp: every proposal of this event-loop turn goes in
   *  one (one message and one answer however many clients wrote), with the Raft messages to the
   *  leader; the answer comes with the leader's next append. */
  #forward(data: Uint8Array): Promise<Placed> {
    let node: RawNode;
    try {
      node = this.#running();
    } catch (err) {
      return Promise.reject(err);
    }
    const { leaderId } = node.softState();
    if (leaderId === null || leaderId === this.id) return Promise.reject(new NotLeaderError(null));
    const queued = this.#outbox?.length ?? 0;
    if (this.#forwards.size + queued >= this.#init.maxPendingProposals) return Promise.reject(new TooManyPendingError('proposals', this.#init.maxPendingProposals));
    if (this.#outbox === null) {
      this.#outbox = [];
      setImmediate(() => this.#sendForwards());
    }
    const { promise, resolve, reject } = Promise.withResolvers<Placed>();
    this.#outbox.push({ data, resolve, reject });
    return promise;
  }

  #sendForwards(): void {
    const batch = this.#outbox ?? [];
    this.#outbox = null;
    if (batch.length === 0) return; // rejected by stop() meanwhile
    const leaderId = this.#state === 'running' ? this.#node?.softState().leaderId ?? null : null;
    if (this.#state !== 'running' || leaderId === null || leaderId === this.id) {
      const error = this.#state === 'running' ? new NotLeaderError(null) : new DriverStoppedError(this.id, this.#failure ?? undefined);
      for (const p of batch) p.reject(error);
      return;
    }
    // One MsgProp per forwardBatchBytesMax of entry data, so none outgrows a transport frame.
    const messages: Message[] = [];
    for (let start = 0; start < batch.length;) {
      let end = start + 1;
      for (let bytes = batch[start]!.data.byteLength; end < batch.length && bytes + batch[end]!.data.byteLength <= forwardBatchBytesMax; end++) bytes += batch[end]!.data.byteLength;
      const part = batch.slice(start, end);
      const context = `${this.#readContextPrefix}/p${++this.#forwardSeq}`;
      this.#forwards.addBatch(context, part.length, this.#ticks, leaderId).forEach((placed, i) => placed.then(part[i]!.resolve, part[i]!.reject));
      messages.push(message('MsgProp', this.id, leaderId, 0, { entries: part.map((p) => ({ term: 0, index: 0, type: 'normal' as const, data: p.data })), context }));
      start = end;
    }
    this.#transport.send(messages);
  }

  /** The leader's side of a MsgProp: propose its entries (back to back, so they take consecutive
   *  indexes) and say where the first went, or why not. The answer is queued before the Ready
   *  that appends the entries, so both share a frame. */
  #serveForward(node: RawNode, m: Message): void {
    let answer: Message;
    const term = 0; // MsgPropResp is not a Raft message: the core never sees it
    try {
      let first = { index: 0, term: 0 };
      m.entries.forEach((e, i) => {
        const at = node.propose(e.data);
        if (i === 0) first = at;
        else assert(at.index === first.index + i && at.term === first.term, () => `forwarded entry ${i} placed at ${at.index}, not right after ${first.index}`);
      });
      answer = message('MsgPropResp', this.id, m.from, term, { index: first.index, logTerm: first.term, context: m.context });
    } catch (err) {
      const expected = this.#expected(err);
      answer = message('MsgPropResp', this.id, m.from, term, { reject: true, rejectHint: expected instanceof NotLeaderError ? refusedNotLeader : refusedDropped, context: m.context });
    }
    this.#transport.send([answer]);
  }

  #forwardAnswered(m: Message): void {
    if (!m.reject) {
      this.#forwards.placed(m.context, { index: m.index, term: m.logTerm }, this.#appliedIndex, (index) => this.#termAt(index));
    } else {
      this.#forwards.refused(m.context, m.rejectHint === refusedNotLeader ? new NotLeaderError(null) : new ProposalDroppedError('the leader dropped the forwarded proposal (leadership is being transferred): retry shortly'));
    }
  }

  #termAt(index: number): number | null {
    try {
      return this.#storage?.term(index) ?? null;
    } catch {
      return null; // compacted
    }
  }

  /** Pass expected core errors through; anything else is a broken invariant: stop the node. */
  #expected(err: unknown): Error {
    if (err instanceof NotLeaderError || err instanceof ProposalDroppedError) return err;
    this.#fail(err);
    return err instanceof Error ? err : new Error(String(err));
  }

  #running(): RawNode {
    if (this.#state !== 'running' || this.#node === null) throw new DriverStoppedError(this.id, this.#failure ?? undefined);
    return this.#node;
  }

  /** The store's contents; on a brand-new node with `bootstrap`, first persist the initial
   *  configuration (MemoryStorage.bootstrap's snapshot and hard state), so a restart finds it. */
  async #loadOrBootstrap(): Promise<PersistedState> {
    const persisted = await this.#store.load();
    const empty = persisted.snapshot === null && persisted.entries.length === 0 && persisted.hardState.term === 0;
    if (!empty || this.#init.bootstrap === undefined) return persisted;
    const bootstrap = MemoryStorage.bootstrap(this.#init.bootstrap);
    const state: PersistedState = { hardState: bootstrap.initialState().hardState, snapshot: bootstrap.snapshot(), entries: [] };
    await this.#store.save(state);
    return state;
  }

  #transportHandler(): TransportHandler {
    return {
      message: (m) => {
        this.#heardAtMs.set(m.from, performance.now());
        if (m.type === 'MsgProp') this.#feed((node) => this.#serveForward(node, m));
        else if (m.type === 'MsgPropResp') this.#forwardAnswered(m);
        else this.#feed((node) => node.step(m));
      },
      unreachable: (peer) => this.#feed((node) => node.reportUnreachable(peer)),
      snapshotStatus: (peer, ok) => this.#feed((node) => node.reportSnapshot(peer, ok)),
    };
  }

  /** Input from the transport or the timer; a throw here is a broken invariant. */
  #feed(input: (node: RawNode) => void): void {
    if (this.#state !== 'running' || this.#node === null) return;
    try {
      input(this.#node);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#schedule();
  }

  #tick(): void {
    this.#ticks++;
    this.#reads.expire(this.#ticks);
    this.#forwards.expire(this.#ticks);
    if (this.#unsavedHardState !== null) {
      this.#hardStateDue = true;
      this.#schedule();
    }
    this.#feed((node) => node.tick());
  }

  /** Start the Ready loop unless it runs already (it picks up whatever was stepped meanwhile).
   *  Deferred to a microtask so that proposals made in one synchronous burst share a Ready. */
  #schedule(): void {
    if (this.#loop !== null || this.#state !== 'running') return;
    this.#loop = Promise.withResolvers<void>();
    setImmediate(() => void this.#runLoop());
  }

  async #runLoop(): Promise<void> {
    try {
      for (let n = 0; n < maxReadiesPerTurn; n++) {
        const node = this.#node;
        if (this.#state !== 'running' || node === null) break;
        if (node.hasReady()) await this.#handleReady(node, node.ready());
        else if (this.#hardStateDue) await this.#saveHardState();
        else break;
      }
      if (this.#state === 'running' && (this.#node?.hasReady() === true || this.#hardStateDue)) {
        setImmediate(() => void this.#runLoop());
        return;
      }
      this.#endLoop();
    } catch (err) {
      this.#endLoop();
      this.#fail(err);
    }
  }

  #endLoop(): void {
    const loop = this.#loop;
    this.#loop = null;
    loop?.resolve();
  }

  /** One Ready, in order: persist, update storage, send, apply, advance, maybe compact.
   *  A Ready that only moves the commit index (mustSync false) is written without an fsync, as
   *  etcd does: after a crash Raft learns the commit index again from its peers.
   *  A steady leader (no role change in this Ready) sends first and persists meanwhile, so its
   *  followers write in parallel with it (Raft thesis 10.2.1; etcd's leader does the same). That
   *  is safe because everything that depends on the outcome, the commit index sent to followers
   *  and entries applied, comes out of a later Ready, which waits for this write; and a steady
   *  leader's messages never carry a term or vote that this write is to make durable. */
  async #handleReady(node: RawNode, rd: Ready): Promise<void> {
    const storage = this.#storage!;
    const sendFirst = rd.softState === null && node.softState().role === 'leader';
    if (sendFirst && rd.messages.length > 0) this.#transport.send(rd.messages);
    if (rd.snapshot === null && rd.entries.length === 0 && rd.hardState !== null && !rd.mustSync) {
      // Only the commit index moved: keep it for the next write (or the next tick) instead of a
      // write of its own before applying. Nothing depends on it being durable: after a restart
      // Raft learns the commit index again from the leader (or a single voter re-commits).
      this.#unsavedHardState = rd.hardState;
    } else if (rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null) {
      const hardState = rd.hardState ?? this.#unsavedHardState;
      this.#unsavedHardState = null;
      this.#hardStateDue = false;
      await this.#store.save({ hardState, entries: rd.entries, snapshot: rd.snapshot, sync: rd.mustSync });
      if (this.#state !== 'running') return; // stopped while writing: nothing more may happen
    }
    if (rd.snapshot !== null) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState !== null) storage.setHardState(rd.hardState);
    if (!sendFirst && rd.messages.length > 0) this.#transport.send(rd.messages);
    this.#apply(rd);
    node.advance(rd);
    if (rd.softState !== null) {
      if (rd.softState.leaderId !== this.#leaderId) this.#forwards.leaderChanged(rd.softState.leaderId);
      this.#leaderId = rd.softState.leaderId;
      this.emit('soft-state', rd.softState);
    }
    if (this.#snapshotDue()) await this.#compact(node, storage);
  }

  #apply(rd: Ready): void {
    if (rd.snapshot !== null) {
      this.#sm.restore(rd.snapshot.data);
      this.#appliedIndex = this.#snapshotIndex = rd.snapshot.meta.index;
      this.#proposals.snapshotApplied(rd.snapshot.meta);
      this.#forwards.snapshotApplied(rd.snapshot.meta);
    }
    for (const entry of rd.committedEntries) {
      if (entry.index <= this.#appliedIndex) continue; // covered by a snapshot applied meanwhile
      if (entry.type === 'normal' && entry.data.byteLength > 0) this.#sm.apply(entry);
      this.#proposals.applied(entry.index, entry.term);
      this.#forwards.applied(entry.index, entry.term);
      this.#appliedIndex = entry.index;
    }
    this.#reads.readStates(rd.readStates, this.#appliedIndex);
  }

  /** Write the commit index kept back by #handleReady (once a tick at most). */
  async #saveHardState(): Promise<void> {
    const hardState = this.#unsavedHardState;
    this.#unsavedHardState = null;
    this.#hardStateDue = false;
    if (hardState !== null) await this.#store.save({ hardState, entries: [], snapshot: null, sync: false });
  }

  /** Snapshot the state machine at the applied index (after advance, so the configuration
   *  includes this Ready's conf changes) and drop the log before it, in memory and on disk. */
  #snapshotDue(): boolean {
    const since = this.#appliedIndex - this.#snapshotIndex;
    if (since < this.#init.snapshotEveryEntries) return false;
    const ticks = this.#init.snapshotMinIntervalMs / this.#init.tickIntervalMs;
    return since >= this.#init.snapshotMaxEntries || this.#ticks - this.#snapshotTick >= ticks;
  }

  async #compact(node: RawNode, storage: MemoryStorage): Promise<void> {
    this.#snapshotTick = this.#ticks;
    // The stored commit index must not lie below the snapshot's index (a restart checks it).
    await this.#saveHardState();
    const snapshot = storage.createSnapshot(this.#appliedIndex, node.status().appliedConf, this.#sm.snapshot(), this.#init.snapshotKeepEntries);
    this.#snapshotIndex = snapshot.meta.index;
    await this.#store.compact(snapshot);
  }

  /** Stop for good: a failed durable write or a broken invariant. Continuing could lose or
   *  corrupt committed entries, so log it, reject every waiter, and emit 'error'. */
  #fail(err: unknown): void {
    if (this.#failure !== null) return;
    const error = err instanceof Error ? err : new Error(String(err));
    this.#failure = error;
    this.#logger.error(`raft node ${this.id}: fatal, stopping: ${error.stack ?? error.message}`);
    // Even during a stop (a write that was in flight failed), the error is reported, not dropped.
    if (this.#state !== 'stopped') {
      this.stop().catch((stopErr: unknown) => this.#logger.error(`raft node ${this.id}: while stopping: ${String(stopErr)}`));
    }
    this.emit('error', error);
  }
}
