// The safety checker: fed by the cluster after every event, it records what failed instead of
// throwing, so one run reports every broken property (a single root cause often shows as several).
// The properties (Raft paper §5.2-5.4 and §6.4):
// - election safety: at most one leader per term, over the whole run;
// - committed entries are never lost or changed: the first time any node reports index i
//   committed, (term, type, data) is recorded, and every later report of i must match;
// - state machine safety: each node applies indexes in order (+1 each, or a forward jump by a
//   snapshot), every node's state after index i is the same, and snapshots carry that state;
// - durable votes: a node's stored term never decreases and its stored vote never changes
//   within a term, across crashes too;
// - linearizable reads: a read-index answer is never below what was committed when it was issued.
import type { Entry, HardState, NodeId } from '../../consensus/core/types.ts';
import type { AppState } from './app-state.ts';
import { describeAppState, entryText, sameAppState } from './app-state.ts';

export type ViolationKind = 'two-leaders' | 'commit-changed' | 'apply-order' | 'state-diverged' | 'stale-read' | 'vote-changed' | 'core-error';

export interface Violation {
  readonly kind: ViolationKind;
  readonly atMs: number;
  readonly node: NodeId;
  readonly detail: string;
}

/** Violations kept with their text; more are counted only (one bug can repeat thousands of times). */
export const maxViolationsKept = 20;

interface CommittedRecord {
  readonly term: number;
  readonly type: Entry['type'];
  readonly data: Uint8Array;
  readonly firstBy: NodeId;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class SafetyChecker {
  readonly violations: Violation[] = [];
  violationCount = 0;
  /** The highest index any node has reported committed: reads issued now must not go below it. */
  maxCommitted = 0;
  readonly #seen = new Set<string>();
  readonly #leaders = new Map<number, NodeId>();
  readonly #committed = new Map<number, CommittedRecord>();
  readonly #states = new Map<number, { state: AppState; firstBy: NodeId }>();
  readonly #applied = new Map<NodeId, number>();
  readonly #hardStates = new Map<NodeId, HardState>();
  readonly #reads = new Map<string, { node: NodeId; minIndex: number }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get ok(): boolean {
    return this.violationCount === 0;
  }

  get leaderTerms(): number {
    return this.#leaders.size;
  }

  /** The committed record at `index` (what every node must hold there), if known. */
  committedAt(index: number): { term: number; data: Uint8Array } | undefined {
    return this.#committed.get(index);
  }

  /** Record a violation; the same finding again (a leader keeps leading, a node keeps a bad
   *  entry) is not counted twice. */
  fail(kind: ViolationKind, node: NodeId, detail: string): void {
    const key = `${kind} ${detail}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.violationCount++;
    if (this.violations.length < maxViolationsKept) this.violations.push({ kind, atMs: this.#now(), node, detail });
  }

  /** A node is leader in `term` (checked after every event it handled). */
  observeLeader(node: NodeId, term: number): void {
    const known = this.#leaders.get(term);
    if (known === undefined) this.#leaders.set(term, node);
    else if (known !== node) this.fail('two-leaders', node, `${node} and ${known} are both leader in term ${term}`);
  }

  /** A node's durable hard state after a completed write: its term never goes back, and its
   *  vote in a term never changes (a crash may lose a write, but never one already completed). */
  observeHardState(node: NodeId, hs: HardState): void {
    const prev = this.#hardStates.get(node);
    this.#hardStates.set(node, hs);
    if (prev === undefined) return;
    if (hs.term < prev.term) this.fail('vote-changed', node, `${node} durable term went back from ${prev.term} to ${hs.term}`);
    else if (hs.term === prev.term && prev.vote !== null && hs.vote !== prev.vote) {
      this.fail('vote-changed', node, `${node} voted for ${prev.vote} and then ${hs.vote ?? 'nobody'} in term ${hs.term}`);
    }
  }

  /** A node's commit index (in memory); feeds the read bound. */
  observeCommitIndex(commit: number): void {
    if (commit > this.maxCommitted) this.maxCommitted = commit;
  }

  /** A node holds `entry` in its log at or below its commit index. */
  observeCommitted(node: NodeId, entry: Entry): void {
    const rec = this.#committed.get(entry.index);
    if (rec === undefined) {
      this.#committed.set(entry.index, { term: entry.term, type: entry.type, data: entry.data, firstBy: node });
      return;
    }
    if (rec.term !== entry.term || rec.type !== entry.type || !sameBytes(rec.data, entry.data)) {
      this.fail('commit-changed', node, `index ${entry.index}: ${node} has committed t${entry.term} ${JSON.stringify(entryText(entry))}, ` +
        `but ${rec.firstBy} reported t${rec.term} ${JSON.stringify(entryText({ ...rec, index: entry.index }))} committed there first`);
    }
  }

  /** A node applied `entry`, reaching `after`. */
  observeApply(node: NodeId, entry: Entry, after: AppState): void {
    const last = this.#applied.get(node) ?? 0;
    if (entry.index !== last + 1) this.fail('apply-order', node, `${node} applied index ${entry.index} after ${last}`);
    this.#applied.set(node, entry.index);
    this.observeCommitted(node, entry);
    this.#observeState(node, after, 'applying');
  }

  /** A node installed a snapshot into its state machine (a jump forward). */
  observeSnapshotApply(node: NodeId, state: AppState): void {
    const last = this.#applied.get(node) ?? 0;
    if (state.index <= last) this.fail('apply-order', node, `${node} applied a snapshot at ${state.index}, not past its applied index ${last}`);
    this.#applied.set(node, state.index);
    this.#observeState(node, state, 'from a snapshot');
  }

  /** A node (re)started with its state machine restored from its stored snapshot. */
  observeRestart(node: NodeId, state: AppState): void {
    this.#applied.set(node, state.index);
    if (state.index > 0) this.#observeState(node, state, 'restored at restart');
  }

  #observeState(node: NodeId, state: AppState, how: string): void {
    const known = this.#states.get(state.index);
    if (known === undefined) this.#states.set(state.index, { state, firstBy: node });
    else if (!sameAppState(known.state, state)) {
      this.fail('state-diverged', node, `${node} state ${how} is ${describeAppState(state)}, but ${known.firstBy} reached ${describeAppState(known.state)}`);
    }
  }

  /** A read-index request was issued with this context: its answer may not go below what is
   *  committed now. */
  readIssued(node: NodeId, context: string): void {
    this.#reads.set(context, { node, minIndex: this.maxCommitted });
  }

  readAnswered(node: NodeId, context: string, index: number): void {
    const read = this.#reads.get(context);
    if (read === undefined) return; // not ours, or already checked and forgotten
    if (index < read.minIndex) {
      this.fail('stale-read', node, `read ${context} issued on ${read.node} answered at index ${index}, but ${read.minIndex} was committed before it was issued`);
    }
  }

  /** Forget a read (answered, or given up): bounds the map. */
  readDone(context: string): void {
    this.#reads.delete(context);
  }
}
