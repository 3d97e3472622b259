// One simulated member: a RawNode, its durable storage, its state machine, and the Ready loop
// (persist -> send -> apply -> advance) with the write taking simulated time. `storage` holds
// only what completed writes made durable, so a crash is simply: forget the RawNode and the write
// in progress; a restart rebuilds the RawNode from `storage`, exactly as a real process would
// from its log store.
import type { MemoryStorage } from '../../consensus/core/index.ts';
import { RawNode } from '../../consensus/core/index.ts';
import { memoryStorageFrom } from '../../consensus/restore.ts';
import type { Entry, Message, NodeId, Ready, ReadState, Snapshot } from '../../consensus/core/types.ts';
import type { AppState } from './app-state.ts';
import { appStateFromSnapshot, applyEntry, encodeAppState, entryText, initialAppState } from './app-state.ts';
import type { SafetyChecker } from './checker.ts';
import type { DiskFaults } from './disk.ts';
import { writeLatencyMs } from './disk.ts';
import type { Rng } from './rng.ts';
import { deriveSeed } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

export interface RaftTuning {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Take a snapshot (and compact) once this many entries were applied since the last one. */
  readonly snapshotEveryEntries: number;
  /** Entries kept before a snapshot's index, so slightly lagging peers still catch up from the log. */
  readonly keepEntries: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
}

/** What a node needs from the cluster around it. */
export interface NodeEnv {
  readonly clock: Scheduler;
  readonly checker: SafetyChecker;
  readonly diskRng: Rng;
  disk(): DiskFaults;
  send(sender: NodeId, m: Message): void;
  readAnswered(node: NodeId, rs: ReadState): void;
  /** This node is about to call into its RawNode (names the node if the core throws). */
  entered(node: NodeId): void;
  /** Called after each entry this node applies. */
  onApplied(node: NodeId, e: Entry): void;
  trace(line: () => string): void;
  /** Test hook: lets a test plant a bug (a node applying a different entry) to prove the checker sees it. */
  readonly mutateApplied?: ((node: NodeId, entry: Entry) => Entry) | undefined;
}

export interface NodeStats {
  crashes: number;
  lostWrites: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
}

/** What a restarted process reads back from its log store: the stored snapshot, the entries
 *  after it, the hard state; rebuilt the way the real driver does (consensus/restore.ts). */
export function reloadStorage(storage: MemoryStorage): MemoryStorage {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  return memoryStorageFrom({
    hardState: storage.initialState().hardState,
    snapshot: storage.snapshot(),
    entries: last >= first ? storage.entries(first, last + 1, Number.POSITIVE_INFINITY) : [],
  });
}

export class SimNode {
  readonly id: NodeId;
  storage: MemoryStorage;
  raw: RawNode | null = null;
  app: AppState = initialAppState;
  incarnation = 0;
  readonly stats: NodeStats = { crashes: 0, lostWrites: 0, snapshotsTaken: 0, snapshotsInstalled: 0 };
  // The Ready being written; the next one waits for it (one write at a time, as the driver does).
  #writing: Ready | null = null;
  // Highest index this node's durable log was checked against the committed record.
  #checkedCommit = 0;
  readonly #seed: number;
  readonly #tuning: RaftTuning;
  readonly #env: NodeEnv;

  constructor(id: NodeId, storage: MemoryStorage, seed: number, tuning: RaftTuning, env: NodeEnv) {
    this.id = id;
    this.storage = storage;
    this.#seed = seed;
    this.#tuning = tuning;
    this.#env = env;
  }

  /** A write is in progress: a crash now loses it. */
  get writing(): boolean {
    return this.#writing !== null && this.#writing.mustSync;
  }

  get up(): boolean {
    return this.raw !== null;
  }

  /** Start (or restart) from durable state. */
  start(): void {
    this.#env.entered(this.id);
    this.incarnation++;
    this.storage = reloadStorage(this.storage);
    const t = this.#tuning;
    this.raw = new RawNode({
      id: this.id,
      storage: this.storage,
      electionTicks: t.electionTicks,
      heartbeatTicks: t.heartbeatTicks,
      maxSizePerMsgBytes: t.maxSizePerMsgBytes,
      maxInflightMsgs: t.maxInflightMsgs,
      seed: deriveSeed(this.#seed, `incarnation-${this.incarnation}`),
    });
    this.app = appStateFromSnapshot(this.storage.snapshot());
    this.#env.checker.observeRestart(this.id, this.app);
    this.#env.trace(() => `${this.id} start #${this.incarnation} from snap i${this.app.index}, last i${this.storage.lastIndex()}, hs ${JSON.stringify(this.storage.initialState().hardState)}`);
    this.pump();
  }

  /** Lose everything not durable: the RawNode's memory and the write in progress. */
  crash(): void {
    if (this.writing) this.stats.lostWrites++;
    this.stats.crashes++;
    this.#env.trace(() => `${this.id} CRASH${this.#writing === null ? '' : ` (loses write of ${this.#writing.entries.length} entries, hs ${JSON.stringify(this.#writing.hardState)})`}`);
    this.raw = null;
    this.#writing = null;
  }

  /** Stop for good (a member that applied its own removal), without counting a crash. */
  shutdown(): void {
    this.raw = null;
    this.#writing = null;
  }

  tick(): void {
    this.#env.entered(this.id);
    this.raw?.tick();
    this.pump();
  }

  step(m: Message): void {
    this.#env.entered(this.id);
    this.raw?.step(m);
    this.pump();
  }

  /** Run `action` against the live RawNode (a workload call), then handle what it produced. */
  with<T>(action: (raw: RawNode) => T): T | undefined {
    if (this.raw === null) return undefined;
    this.#env.entered(this.id);
    try {
      return action(this.raw);
    } finally {
      this.pump();
    }
  }

  /** Check what the checker watches after every event, then start the next write if one is due. */
  pump(): void {
    const raw = this.raw;
    if (raw === null) return;
    const st = raw.status();
    if (st.role === 'leader') this.#env.checker.observeLeader(this.id, st.term);
    // A lone voter counts an entry committed as soon as it appends it, before its own write
    // completes (as etcd-io/raft does; nothing is applied or acknowledged until the write is
    // done, and a crash first loses it). Only what this node also holds durably is surely committed.
    this.#env.checker.observeCommitIndex(Math.min(st.commit, this.storage.lastIndex()));
    if (this.#writing !== null || !raw.hasReady()) return;
    const rd = raw.ready();
    this.#writing = rd;
    const latencyMs = writeLatencyMs(this.#env.diskRng, this.#env.disk(), rd.mustSync);
    const incarnation = this.incarnation;
    this.#env.clock.after(latencyMs, () => {
      if (this.incarnation !== incarnation || this.#writing !== rd) return; // crashed meanwhile: the write is lost
      this.#complete(rd);
    });
  }

  #complete(rd: Ready): void {
    this.#env.entered(this.id);
    const raw = this.raw!;
    if (rd.snapshot !== null) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState !== null) {
      this.storage.setHardState(rd.hardState);
      this.#env.checker.observeHardState(this.id, rd.hardState);
    }
    if (rd.softState !== null) {
      const soft = rd.softState;
      this.#env.trace(() => `${this.id} is ${soft.role} in t${this.storage.initialState().hardState.term}, leader ${soft.leaderId ?? '?'}`);
    }
    this.#checkDurableLog();
    for (const m of rd.messages) this.#env.send(this.id, m);
    if (rd.snapshot !== null) this.#installSnapshot(rd.snapshot);
    for (const e of rd.committedEntries) this.#apply(e);
    for (const rs of rd.readStates) this.#env.readAnswered(this.id, rs);
    raw.advance(rd);
    this.#writing = null;
    this.#maybeCompact();
    this.pump();
  }

  /** Every entry of the durable log at or below the durable commit index must be the one the
   *  cluster committed there. */
  #checkDurableLog(): void {
    const commit = this.storage.initialState().hardState.commit;
    const from = Math.max(this.#checkedCommit + 1, this.storage.firstIndex());
    const to = Math.min(commit, this.storage.lastIndex());
    if (to >= from) for (const e of this.storage.entries(from, to + 1, Number.POSITIVE_INFINITY)) this.#env.checker.observeCommitted(this.id, e);
    this.#checkedCommit = Math.max(this.#checkedCommit, commit);
  }

  #installSnapshot(snap: Snapshot): void {
    this.app = appStateFromSnapshot(snap);
    this.stats.snapshotsInstalled++;
    this.#env.trace(() => `${this.id} install snap i${snap.meta.index}/t${snap.meta.term} conf ${JSON.stringify(snap.meta.conf)}`);
    this.#env.checker.observeSnapshotApply(this.id, this.app);
  }

  #apply(committed: Entry): void {
    const e = this.#env.mutateApplied?.(this.id, committed) ?? committed;
    this.app = applyEntry(this.app, e);
    this.#env.trace(() => `${this.id} apply i${e.index}/t${e.term} ${entryText(e)}`);
    this.#env.checker.observeApply(this.id, e, this.app);
    this.#env.onApplied(this.id, e);
  }

  /** Log compaction, the application's call: snapshot the applied state every K entries. */
  #maybeCompact(): void {
    const snapIndex = this.storage.snapshot().meta.index;
    if (this.app.index - snapIndex < this.#tuning.snapshotEveryEntries) return;
    const status = this.raw!.status();
    // The snapshot records the configuration as of its index: the one in effect when applied.
    if (status.applied !== this.app.index) return;
    this.storage.createSnapshot(this.app.index, status.appliedConf, encodeAppState(this.app), this.#tuning.keepEntries);
    this.stats.snapshotsTaken++;
    this.#env.trace(() => `${this.id} snapshot at i${this.app.index}, log now ${this.storage.firstIndex()}..${this.storage.lastIndex()}`);
  }
}
