// The clients: proposals to whichever node they believe leads (a NotLeaderError names the
// leader to try next), membership changes (add a spare as learner, promote it or sometimes remove
// it, remove a voter while more than `minVoters` remain), leadership transfers, and read-index requests. In the
// liveness phase only proposals and reads go on, and every liveness proposal is retried until it
// commits: the run then waits for all of them to be applied everywhere.
import { applyConfChange, NotLeaderError, ProposalDroppedError } from '../../consensus/core/index.ts';
import type { ConfChange, ConfState, Entry, NodeId } from '../../consensus/core/types.ts';
import type { SafetyChecker } from './checker.ts';
import type { Rng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';
import type { SimNode } from './sim-node.ts';

/** Never remove a voter when only this many are left. */
export const minVoters = 3;
/** Proposals made in the liveness phase, each retried until committed. */
export const livenessProposals = 8;
/** A liveness proposal not committed after this long is proposed again (its leader may have lost it). */
export const livenessRetryMs = 600;
/** Share of membership changes followed at once by a second one (which must be refused). */
export const burstChangeRate = 0.3;

export interface WorkloadProfile {
  readonly proposeEveryMs: number;
  /** 0 = no membership changes this seed. */
  readonly confChangeEveryMs: number;
  /** 0 = no leadership transfers this seed. */
  readonly transferEveryMs: number;
  readonly readEveryMs: number;
}

export function drawWorkload(rng: Rng): WorkloadProfile {
  return {
    proposeEveryMs: rng.int(2, 40),
    confChangeEveryMs: rng.chance(0.8) ? rng.int(200, 1500) : 0,
    transferEveryMs: rng.chance(0.6) ? rng.int(300, 3000) : 0,
    readEveryMs: rng.int(5, 100),
  };
}

/** What the clients can see and touch. */
export interface WorkloadTarget {
  readonly clock: Scheduler;
  readonly checker: SafetyChecker;
  /** Members that are not retired (up or down). */
  members(): readonly SimNode[];
  /** Nodes started but never yet in any configuration: candidates to add as learners. */
  spares(): readonly SimNode[];
  trace(line: () => string): void;
}

export interface WorkloadStats {
  proposed: number;
  notLeader: number;
  dropped: number;
  confChanges: number;
  transfers: number;
  reads: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Workload {
  readonly stats: WorkloadStats = { proposed: 0, notLeader: 0, dropped: 0, confChanges: 0, transfers: 0, reads: 0 };
  /** Liveness proposals not yet seen committed, with the time each was last proposed. */
  readonly pendingLiveness = new Map<string, number>();
  /** Where each liveness proposal was first applied. */
  readonly livenessIndex = new Map<string, number>();
  #phase: 'faults' | 'liveness' | 'stopped' = 'faults';
  #guess: NodeId | null = null;
  #seq = 0;
  readonly #profile: WorkloadProfile;
  readonly #rng: Rng;
  readonly #t: WorkloadTarget;

  constructor(profile: WorkloadProfile, rng: Rng, target: WorkloadTarget) {
    this.#profile = profile;
    this.#rng = rng;
    this.#t = target;
  }

  start(): void {
    const p = this.#profile;
    this.#every(p.proposeEveryMs, () => this.#phase === 'faults' && this.#propose(`p${this.#seq++}`));
    this.#every(p.readEveryMs, () => this.#read());
    if (p.confChangeEveryMs > 0) this.#every(p.confChangeEveryMs, () => this.#phase === 'faults' && this.#changeMembership());
    if (p.transferEveryMs > 0) this.#every(p.transferEveryMs, () => this.#phase === 'faults' && this.#transfer());
  }

  /** Faults are healed: from now on, make the liveness proposals and retry them until committed. */
  startLiveness(): void {
    this.#phase = 'liveness';
    for (let i = 0; i < livenessProposals; i++) {
      this.#t.clock.after(i * 50, () => {
        const value = `L${i}`;
        this.pendingLiveness.set(value, this.#t.clock.nowMs);
        this.#propose(value);
      });
    }
    this.#every(livenessRetryMs / 4, () => this.#retryLiveness());
  }

  stop(): void {
    this.#phase = 'stopped';
  }

  /** Told of every applied entry (by any node): marks liveness proposals committed. */
  noteApplied(e: Entry): void {
    if (e.type !== 'normal' || e.data.byteLength === 0 || e.data[0] !== 0x4c /* 'L' */) return;
    const value = decoder.decode(e.data);
    if (!this.livenessIndex.has(value)) this.livenessIndex.set(value, e.index);
    this.pendingLiveness.delete(value);
  }

  #every(meanMs: number, act: () => void): void {
    this.#t.clock.after(this.#rng.int(1, 2 * meanMs), () => {
      if (this.#phase === 'stopped') return;
      act();
      this.#every(meanMs, act);
    });
  }

  #retryLiveness(): void {
    const now = this.#t.clock.nowMs;
    for (const [value, at] of this.pendingLiveness) {
      if (now - at < livenessRetryMs) continue;
      this.pendingLiveness.set(value, now);
      this.#propose(value);
    }
  }

  /** The node to send a request to: the believed leader if it is up, else any up member. */
  #target(): SimNode | null {
    const up = this.#t.members().filter((n) => n.up);
    if (up.length === 0) return null;
    return up.find((n) => n.id === this.#guess) ?? this.#rng.pick(up);
  }

  /** Run a client call; a NotLeaderError redirects the next call, a ProposalDroppedError is a
   *  normal refusal (transfer under way, change pending). Anything else is a core bug: rethrown. */
  #call(node: SimNode, what: string, action: () => void): boolean {
    try {
      action();
      return true;
    } catch (err) {
      if (err instanceof NotLeaderError) {
        this.stats.notLeader++;
        this.#guess = err.leaderId;
      } else if (err instanceof ProposalDroppedError) {
        this.stats.dropped++;
      } else {
        throw err;
      }
      this.#t.trace(() => `client ${what} on ${node.id} refused: ${(err as Error).message}`);
      return false;
    }
  }

  #propose(value: string): void {
    const node = this.#target();
    if (node === null) return;
    this.#call(node, `propose ${value}`, () => {
      const at = node.with((raw) => raw.propose(encoder.encode(value)));
      this.stats.proposed++;
      this.#guess = node.id;
      this.#t.trace(() => `client propose ${value} on ${node.id} -> i${at?.index}/t${at?.term}`);
    });
  }

  #read(): void {
    // Clients stick to the node they believe leads, so reads keep reaching a deposed leader that
    // has not noticed yet: exactly where a read-index bug would answer stale.
    const node = this.#target();
    if (node === null) return;
    const context = `r${this.#seq++}`;
    this.#t.checker.readIssued(node.id, context);
    const ok = this.#call(node, `read ${context}`, () => {
      node.with((raw) => raw.readIndex(context));
      this.stats.reads++;
      this.#t.trace(() => `client read ${context} on ${node.id} (committed so far: ${this.#t.checker.maxCommitted})`);
    });
    if (!ok) this.#t.checker.readDone(context);
  }

  #leader(): SimNode | null {
    return this.#t.members().find((n) => n.up && n.raw!.status().role === 'leader') ?? null;
  }

  /** One membership change; sometimes a second one right after it, chosen as if the first had
   *  applied. A correct leader refuses the second (one change at a time): a core that accepted
   *  it would let two changes overlap, which the checker would then see. */
  #changeMembership(): void {
    const leader = this.#leader();
    if (leader === null) return;
    const conf = leader.raw!.status().conf;
    const first = this.#nextChange(conf, leader.id);
    if (first === null) return;
    this.#proposeChange(leader, first);
    if (!this.#rng.chance(burstChangeRate)) return;
    const second = this.#nextChange(applyConfChange(conf, first), leader.id);
    if (second !== null) this.#proposeChange(leader, second);
  }

  #nextChange(conf: ConfState, leaderId: NodeId): ConfChange | null {
    if (conf.learners.length > 0) return { type: this.#rng.chance(0.8) ? 'promote' : 'remove', node: this.#rng.pick(conf.learners) };
    if (conf.voters.length > minVoters && this.#rng.chance(0.7)) {
      const others = conf.voters.filter((v) => v !== leaderId);
      if (others.length > 0) return { type: 'remove', node: this.#rng.pick(others) };
    }
    const members = new Set([...conf.voters, ...conf.learners]);
    const spare = this.#t.spares().find((n) => !members.has(n.id));
    return spare === undefined ? null : { type: 'add-learner', node: spare.id };
  }

  #proposeChange(leader: SimNode, change: ConfChange): void {
    this.#call(leader, `${change.type} ${change.node}`, () => {
      const at = leader.with((raw) => raw.proposeConfChange(change));
      this.stats.confChanges++;
      this.#t.trace(() => `client ${change.type} ${change.node} on ${leader.id} -> i${at?.index}`);
    });
  }

  #transfer(): void {
    const node = this.#rng.chance(0.5) ? this.#leader() : this.#target();
    if (node === null) return;
    const voters = node.raw!.status().conf.voters.filter((v) => v !== node.id);
    if (voters.length === 0) return;
    const to = this.#rng.pick(voters);
    this.#call(node, `transfer to ${to}`, () => {
      node.with((raw) => raw.transferLeadership(to));
      this.stats.transfers++;
      this.#t.trace(() => `client transfer leadership to ${to} via ${node.id}`);
    });
  }
}
