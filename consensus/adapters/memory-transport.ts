// Transport between drivers in one process: for tests and the bench. A MemoryNetwork hub knows
// every started endpoint and which links are cut; each MemoryTransport queues outgoing messages
// per peer and delivers them in a later macrotask (setImmediate), never inside send().
import type { Message, NodeId } from '../core/types.ts';
import type { Transport, TransportHandler } from '../transport.ts';

/** Default bound of one peer's send queue, in messages; beyond it messages are dropped. */
export const defaultMaxQueuedMessagesPerPeer = 4096;

/** The shared medium. Links are directed internally; cut/heal act on both directions. */
export class MemoryNetwork {
  readonly #endpoints = new Map<NodeId, TransportHandler>();
  readonly #cutLinks = new Set<string>(); // `${from}\u0000${to}`
  readonly #isolated = new Set<NodeId>();
  #delivered = 0;
  #dropped = 0;

  /** Cut the link between `a` and `b` in both directions (or only a -> b with `oneWay`). */
  cut(a: NodeId, b: NodeId, oneWay = false): void {
    this.#cutLinks.add(linkKey(a, b));
    if (!oneWay) this.#cutLinks.add(linkKey(b, a));
  }

  heal(a: NodeId, b: NodeId): void {
    this.#cutLinks.delete(linkKey(a, b));
    this.#cutLinks.delete(linkKey(b, a));
  }

  /** Cut `id` off from every other node, present or future, until healed. */
  isolate(id: NodeId): void {
    this.#isolated.add(id);
  }

  /** Restore every link. */
  healAll(): void {
    this.#cutLinks.clear();
    this.#isolated.clear();
  }

  /** Counters for tests and the bench. */
  stats(): { delivered: number; dropped: number } {
    return { delivered: this.#delivered, dropped: this.#dropped };
  }

  /** @internal Called by MemoryTransport.start: the newest endpoint for an id wins (a restart). */
  attach(id: NodeId, handler: TransportHandler): void {
    this.#endpoints.set(id, handler);
  }

  /** @internal Called by MemoryTransport.stop; only detaches `handler` if it is still current. */
  detach(id: NodeId, handler: TransportHandler): void {
    if (this.#endpoints.get(id) === handler) this.#endpoints.delete(id);
  }

  /** @internal Hand `message` to its recipient now. False when it was dropped. */
  deliver(message: Message): boolean {
    const { from, to } = message;
    const handler = this.#endpoints.get(to);
    if (handler === undefined || this.#isolated.has(from) || this.#isolated.has(to) || this.#cutLinks.has(linkKey(from, to))) {
      this.#dropped++;
      return false;
    }
    this.#delivered++;
    handler.message(message);
    return true;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}

export interface MemoryTransportComponents {
  readonly network: MemoryNetwork;
}

export interface MemoryTransportInit {
  /** This node's id: messages addressed to it are delivered here. */
  readonly id: NodeId;
  /** Bound of each peer's send queue, in messages (default {@link defaultMaxQueuedMessagesPerPeer}). */
  readonly maxQueuedMessagesPerPeer?: number;
}

export class MemoryTransport implements Transport {
  readonly #network: MemoryNetwork;
  readonly #id: NodeId;
  readonly #maxQueuedMessagesPerPeer: number;
  readonly #queues = new Map<NodeId, Message[]>();
  readonly #unreachable = new Set<NodeId>(); // peers whose messages were dropped at send time
  #handler: TransportHandler | null = null;
  #flushScheduled = false;

  constructor(components: MemoryTransportComponents, init: MemoryTransportInit) {
    this.#network = components.network;
    this.#id = init.id;
    this.#maxQueuedMessagesPerPeer = init.maxQueuedMessagesPerPeer ?? defaultMaxQueuedMessagesPerPeer;
  }

  async start(handler: TransportHandler): Promise<void> {
    if (this.#handler !== null) throw new Error(`memory transport ${this.#id} is already started`);
    this.#handler = handler;
    this.#network.attach(this.#id, handler);
  }

  send(messages: readonly Message[]): void {
    if (this.#handler === null) return; // stopped (or never started): nothing to report to
    for (const m of messages) {
      let queue = this.#queues.get(m.to);
      if (queue === undefined) {
        queue = [];
        this.#queues.set(m.to, queue);
      }
      if (queue.length >= this.#maxQueuedMessagesPerPeer) {
        this.#unreachable.add(m.to);
        continue;
      }
      queue.push(m);
    }
    this.#scheduleFlush();
  }

  async stop(): Promise<void> {
    const handler = this.#handler;
    if (handler === null) return;
    this.#handler = null;
    this.#network.detach(this.#id, handler);
    this.#queues.clear();
    this.#unreachable.clear();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Deliver every queued message, peer by peer, then report drops once per peer. */
  #flush(): void {
    this.#flushScheduled = false;
    const handler = this.#handler;
    if (handler === null) return;
    const unreachable = new Set(this.#unreachable);
    this.#unreachable.clear();
    for (const [peer, queue] of this.#queues) {
      if (queue.length === 0) continue;
      this.#queues.set(peer, []);
      for (const m of queue) {
        const ok = this.#network.deliver(m);
        if (!ok) unreachable.add(peer);
        if (m.type === 'MsgSnap') handler.snapshotStatus(peer, ok);
      }
    }
    for (const peer of unreachable) handler.unreachable(peer);
  }
}
