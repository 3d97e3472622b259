// The scenario's network: one FIFO queue of messages in the order they were sent, and a set
// of cut links. Links are checked when a message is sent and again when it is delivered, so a
// partition also catches messages that were already in flight when it began, and nothing sent
// across a cut survives to be delivered after the heal.
import type { Message, MessageType, NodeId } from '../../../consensus/core/index.ts';
import { ScenarioError } from './args.ts';

/** A scenario that queues this many undelivered messages has a runaway loop. */
const QUEUED_MSGS_MAX = 100_000;

export interface MessageFilter {
  readonly to?: ReadonlySet<NodeId>;
  readonly from?: NodeId;
  readonly type?: MessageType;
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function matches(m: Message, f: MessageFilter): boolean {
  return (f.to === undefined || f.to.has(m.to)) && (f.from === undefined || m.from === f.from) && (f.type === undefined || m.type === f.type);
}

export class Network {
  #queue: Message[] = [];
  readonly #cut = new Set<string>();

  /** Queue the messages whose link is up and whose recipient runs; returns the lost ones with why. */
  send(messages: readonly Message[], isUp: (id: NodeId) => boolean): Map<Message, string> {
    const lost = new Map<Message, string>();
    for (const m of messages) {
      if (!this.canReach(m.from, m.to)) lost.set(m, 'partition');
      else if (!isUp(m.to)) lost.set(m, `${m.to} is down`);
      else this.#queue.push(m);
    }
    if (this.#queue.length > QUEUED_MSGS_MAX) throw new ScenarioError(`more than ${QUEUED_MSGS_MAX} undelivered messages: runaway scenario`);
    return lost;
  }

  /** Remove and return the queued messages matching `filter`, in send order. */
  take(filter: MessageFilter): Message[] {
    const taken: Message[] = [];
    const kept: Message[] = [];
    for (const m of this.#queue) (matches(m, filter) ? taken : kept).push(m);
    this.#queue = kept;
    return taken;
  }

  pending(filter: MessageFilter = {}): Message[] {
    return this.#queue.filter((m) => matches(m, filter));
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return from === to || !this.#cut.has(linkKey(from, to));
  }

  /** Only nodes in the same group can talk; a node in no group is cut off from everyone. */
  partition(groups: readonly (readonly NodeId[])[], all: readonly NodeId[]): void {
    this.#cut.clear();
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, n) => g.forEach((id) => groupOf.set(id, n)));
    for (const a of all) {
      for (const b of all) {
        const ga = groupOf.get(a);
        if (a !== b && (ga === undefined || ga !== groupOf.get(b))) this.#cut.add(linkKey(a, b));
      }
    }
  }

  /** Cut every link of `id`, keeping the other cuts. */
  isolate(id: NodeId, all: readonly NodeId[]): void {
    for (const other of all) if (other !== id) this.#cut.add(linkKey(id, other));
  }

  heal(): void {
    this.#cut.clear();
  }

  /** The current cuts, for the transcript: `1-3 2-3`. */
  describeCuts(): string {
    return [...this.#cut].sort().map((k) => k.replace('|', '-')).join(' ');
  }
}
