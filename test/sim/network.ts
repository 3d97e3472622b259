// The simulated network: every message gets a random latency (so messages reorder), and may be
// dropped or duplicated; links can be cut one way or both. A message to a node that is down when
// it arrives is dropped: a crashed process reads nothing.
import type { Message, NodeId } from '../../consensus/core/index.ts';
import type { Rng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

/** The fault settings in force; the fault driver changes them over a run (and heals them). */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (the copy with its own latency). */
  duplicateRate: number;
  latencyMsMin: number;
  latencyMsMax: number;
  /** Probability of a long delay, up to `spikeMsMax`: overtaken by later messages. */
  spikeRate: number;
  spikeMsMax: number;
}

/** What a healthy network looks like (the liveness phase, and the start of each run). */
export const healthyNetwork: NetworkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  latencyMsMin: 1,
  latencyMsMax: 5,
  spikeRate: 0,
  spikeMsMax: 0,
};

export type DropReason = 'random' | 'cut' | 'down';

export interface NetworkHooks {
  isUp(id: NodeId): boolean;
  deliver(sender: NodeId, m: Message): void;
  /** Called when a message is lost, at the time it would have arrived (a sender learns of a
   *  failed snapshot stream or an unreachable peer only then). */
  dropped(sender: NodeId, m: Message, reason: DropReason): void;
  trace(line: () => string): void;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

export class SimNetwork {
  faults: NetworkFaults = { ...healthyNetwork };
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };
  // Directed cuts, as "from>to".
  readonly #cuts = new Set<string>();
  readonly #rng: Rng;
  readonly #clock: Scheduler;
  readonly #hooks: NetworkHooks;

  constructor(rng: Rng, clock: Scheduler, hooks: NetworkHooks) {
    this.#rng = rng;
    this.#clock = clock;
    this.#hooks = hooks;
  }

  cut(from: NodeId, to: NodeId): void {
    this.#cuts.add(`${from}>${to}`);
  }

  /** Cut every link between the two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
    }
  }

  healLinks(): void {
    this.#cuts.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.#cuts.has(`${from}>${to}`);
  }

  get cutCount(): number {
    return this.#cuts.size;
  }

  /** `sender` is who put the message on the wire: usually `m.from`, but a forwarded
   *  MsgTransferLeader names the transfer target as `from`. */
  send(sender: NodeId, m: Message): void {
    this.stats.sent++;
    this.#schedule(sender, m);
    if (this.#rng.chance(this.faults.duplicateRate)) {
      this.stats.duplicated++;
      this.#schedule(sender, m);
    }
  }

  #latencyMs(): number {
    const f = this.faults;
    if (this.#rng.chance(f.spikeRate)) return this.#rng.int(f.latencyMsMax, Math.max(f.latencyMsMax, f.spikeMsMax));
    return this.#rng.int(f.latencyMsMin, f.latencyMsMax);
  }

  #schedule(sender: NodeId, m: Message): void {
    const lost = this.#rng.chance(this.faults.dropRate);
    const cutAtSend = this.isCut(sender, m.to);
    this.#clock.after(this.#latencyMs(), () => {
      // A link cut while the message was in flight loses it too.
      const reason: DropReason | null = lost ? 'random' : cutAtSend || this.isCut(sender, m.to) ? 'cut' : !this.#hooks.isUp(m.to) ? 'down' : null;
      if (reason !== null) {
        this.stats.dropped++;
        this.#hooks.trace(() => `drop ${describe(m)} (${reason})`);
        this.#hooks.dropped(sender, m, reason);
        return;
      }
      this.stats.delivered++;
      this.#hooks.deliver(sender, m);
    });
  }
}

/** One line per message for traces: type, route, term and the fields that matter for its type. */
export function describe(m: Message): string {
  const base = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      return `${base} i${m.index}/t${m.logTerm} +${m.entries.length} c${m.commit}`;
    case 'MsgAppResp':
      return m.reject ? `${base} reject i${m.index} hint${m.rejectHint}/t${m.rejectTerm}` : `${base} i${m.index}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${base} last i${m.index}/t${m.logTerm}${m.context === '' ? '' : ` ${m.context}`}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return `${base} ${m.reject ? 'reject' : 'grant'}`;
    case 'MsgSnap':
      return `${base} snap i${m.snapshot?.meta.index ?? '?'}/t${m.snapshot?.meta.term ?? '?'}`;
    case 'MsgHeartbeat':
      return `${base} c${m.commit}${m.context === '' ? '' : ` ctx=${m.context}`}`;
    case 'MsgReadIndex':
    case 'MsgReadIndexResp':
      return `${base} i${m.index} ctx=${m.context}`;
    default:
      return base;
  }
}
