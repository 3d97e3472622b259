// The interaction environment: N scenario nodes, one network, and the step-by-step moves a
// transcript makes (handle a Ready, deliver messages, tick). Output is collected as lines;
// nested steps (inside `stabilize`) are indented under a `> 1 handling Ready` header.
import { CompactedError, NotLeaderError, ProposalDroppedError, UnavailableError } from '../../../consensus/core/index.ts';
import type { Message, NodeId, RawNode } from '../../../consensus/core/index.ts';
import { ScenarioError } from './args.ts';
import { compareIds, formatMessage } from './format.ts';
import type { MessageFilter } from './network.ts';
import { Network } from './network.ts';
import type { ScenarioNode } from './node.ts';

/** `stabilize` gives up after this many rounds of Ready handling + delivery: a livelock. */
const STABILIZE_ROUNDS_MAX = 1_000;

/** Errors the core documents as expected outcomes: printed in the transcript, not thrown. */
export function isExpectedError(e: unknown): e is Error {
  return e instanceof NotLeaderError || e instanceof ProposalDroppedError || e instanceof CompactedError || e instanceof UnavailableError;
}

export class InteractionEnv {
  readonly nodes = new Map<NodeId, ScenarioNode>();
  readonly net = new Network();
  #lines: string[] = [];
  #indent = '';

  print(line: string): void {
    this.#lines.push(this.#indent + line);
  }

  /** Everything printed since the last call. */
  takeOutput(): string {
    const out = this.#lines.join('\n');
    this.#lines = [];
    return out;
  }

  withIndent(fn: () => void): void {
    const saved = this.#indent;
    this.#indent += '  ';
    try {
      fn();
    } finally {
      this.#indent = saved;
    }
  }

  /** Run `fn`; an expected core error becomes a transcript line instead of an exception. */
  catchExpected(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!isExpectedError(e)) throw e;
      this.print(`error: ${e.name}: ${e.message}`);
    }
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()].sort(compareIds);
  }

  node(id: NodeId): ScenarioNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new ScenarioError(`no node ${id}`);
    return n;
  }

  /** The running RawNode of `id`; a command aimed at a crashed node is an authoring error. */
  live(id: NodeId): RawNode {
    const raw = this.node(id).raw;
    if (raw === null) throw new ScenarioError(`node ${id} is crashed: restart it first`);
    return raw;
  }

  processReady(id: NodeId): void {
    const n = this.node(id);
    const raw = this.live(id);
    const isUp = (to: NodeId) => (this.nodes.get(to)?.raw ?? null) !== null;
    for (const line of n.handleReady(raw, this.net, isUp)) this.print(line);
  }

  /** Deliver (and remove) the queued messages matching `filter`; cut links and crashed
   *  recipients lose theirs. Returns how many were taken from the queue. */
  deliver(filter: MessageFilter): number {
    const messages = this.net.take(filter);
    for (const m of messages) this.#deliverOne(m);
    return messages.length;
  }

  #deliverOne(m: Message): void {
    const text = formatMessage(m);
    const target = this.nodes.get(m.to);
    if (target === undefined || target.raw === null) {
      this.print(`${text} (dropped: ${m.to} is down)`);
      return;
    }
    if (!this.net.canReach(m.from, m.to)) {
      this.print(`${text} (dropped: partition)`);
      return;
    }
    this.print(text);
    const raw = target.raw;
    this.withIndent(() => this.catchExpected(() => raw.step(m)));
  }

  /** Handle Readies and deliver messages among `ids` (default: all) until nothing moves. */
  stabilize(ids: readonly NodeId[]): void {
    const selected = ids.length > 0 ? ids : this.ids();
    for (const id of selected) this.node(id);
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round++) {
      let moved = false;
      for (const id of selected) {
        const raw = this.node(id).raw;
        if (raw === null || !raw.hasReady()) continue;
        this.print(`> ${id} handling Ready`);
        this.withIndent(() => this.processReady(id));
        moved = true;
      }
      for (const id of selected) {
        if (this.net.pending({ to: new Set([id]) }).length === 0) continue;
        this.print(`> ${id} receiving messages`);
        this.withIndent(() => this.deliver({ to: new Set([id]) }));
        moved = true;
      }
      if (!moved) return;
    }
    throw new ScenarioError(`stabilize did not settle within ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  tick(id: NodeId, count: number): void {
    const raw = this.live(id);
    for (let i = 0; i < count; i++) raw.tick();
  }

  /**
   * Tick until the node's election timer fires: a follower or candidate starts a (pre-)campaign,
   * visible as a new role or term or as fresh messages. A leader is ticked exactly one election
   * timeout, which runs one check-quorum round. Bounded by the largest randomized timeout.
   */
  tickElection(id: NodeId): void {
    const n = this.node(id);
    const raw = this.live(id);
    const before = raw.status();
    const isLeader = before.role === 'leader';
    const limit = isLeader ? n.options.electionTicks : 2 * n.options.electionTicks;
    const hadReady = raw.hasReady();
    for (let i = 0; i < limit; i++) {
      raw.tick();
      const now = raw.status();
      if (now.role !== before.role || now.term !== before.term) return;
      if (!isLeader && !hadReady && raw.hasReady()) return;
    }
    if (!isLeader) this.print(`no election after ${limit} ticks`);
  }

  /** Stop the node: its unpersisted state and the messages queued for it are lost. */
  crash(id: NodeId): void {
    this.live(id);
    this.node(id).crash();
    for (const m of this.net.take({ to: new Set([id]) })) this.print(`dropped: ${formatMessage(m)}`);
  }
}
