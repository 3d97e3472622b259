// Shared test helpers for node/gossip: a report builder, a fake clock and an in-memory pubsub.
import type { GossipClock } from '../../node/gossip/clock.ts';
import type { TelemetryReport } from '../../node/gossip/report.ts';
import type { PubSubMessage, TelemetryPubSub } from '../../node/gossip/pubsub.ts';

export function makeReport(nodeId: string, seq: number, overrides: Partial<TelemetryReport> = {}): TelemetryReport {
  return {
    v: 1, nodeId, seq, sentAtMs: 1_700_000_000_000,
    cpuPct: 12.5, load1: 0.5, load5: 0.4, load15: 0.3,
    memUsedBytes: 1e9, memTotalBytes: 4e9, memPct: 25,
    netRxBytesPerS: 1000, netTxBytesPerS: 2000, diskFreeBytes: 5e10, rssBytes: 9e7,
    streams: { count: 0, items: [] },
    ...overrides,
  };
}

/** Lets pending promise callbacks and I/O-free async work run. Bounded: a fixed number of turns. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Timer { atMs: number; order: number; callback: () => void; cancelled: boolean }

/** A clock that only moves when told. `advance` runs due timers in time order, settling
 *  promises after each; `stall` jumps first, then runs what is overdue, late, as a blocked
 *  event loop would. */
export class FakeClock implements GossipClock {
  nowMs = 0;
  readonly wallBaseMs: number;
  #timers: Timer[] = [];
  #order = 0;

  constructor(wallBaseMs = 1_700_000_000_000) {
    this.wallBaseMs = wallBaseMs;
  }

  wallMs(): number { return this.wallBaseMs + this.nowMs; }
  monotonicMs(): number { return this.nowMs; }
  schedule(delayMs: number, callback: () => void): { cancel(): void } {
    const timer: Timer = { atMs: this.nowMs + Math.max(0, delayMs), order: this.#order++, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  async advance(ms: number): Promise<void> {
    const untilMs = this.nowMs + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = this.#nextDue(untilMs);
      if (next === undefined) break;
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.callback();
      await settle();
    }
    this.nowMs = untilMs;
    await settle();
  }

  async stall(ms: number): Promise<void> {
    this.nowMs += ms;
    await this.advance(0);
  }

  #nextDue(untilMs: number): Timer | undefined {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (t.atMs <= untilMs && (best === undefined || t.atMs < best.atMs || (t.atMs === best.atMs && t.order < best.order))) best = t;
    }
    if (best !== undefined) best.cancelled = true;
    return best;
  }
}

type Listener = (event: CustomEvent<PubSubMessage>) => void;

/** Pubsub in memory: a published message reaches every other subscribed endpoint, signed with
 *  the publisher's id, one macrotask later. `cut(id)` silences an endpoint both ways. */
export class FakePubSubNetwork {
  readonly #endpoints = new Map<string, FakePubSub>();
  readonly #cut = new Set<string>();
  delivered = 0;

  endpoint(peerId: string): FakePubSub {
    const endpoint = new FakePubSub(peerId, this);
    this.#endpoints.set(peerId, endpoint);
    return endpoint;
  }

  get(peerId: string): FakePubSub | undefined {
    return this.#endpoints.get(peerId);
  }

  cut(peerId: string): void { this.#cut.add(peerId); }
  heal(peerId: string): void { this.#cut.delete(peerId); }

  /** Deliver `message` as if it came over the wire to `to` (tests inject forged ones this way). */
  inject(to: string, message: PubSubMessage): void {
    this.#endpoints.get(to)?.deliver(message);
  }

  /** @internal */
  broadcast(from: string, topic: string, data: Uint8Array): void {
    if (this.#cut.has(from)) return;
    for (const [id, endpoint] of this.#endpoints) {
      if (id === from || this.#cut.has(id) || !endpoint.topics.has(topic)) continue;
      this.delivered++;
      endpoint.deliver({ type: 'signed', topic, data, from: { toString: () => from } });
    }
  }
}

export class FakePubSub implements TelemetryPubSub {
  readonly peerId: string;
  readonly topics = new Set<string>();
  readonly #network: FakePubSubNetwork;
  readonly #listeners = new Set<Listener>();
  published = 0;
  failPublish = false;

  constructor(peerId: string, network: FakePubSubNetwork) {
    this.peerId = peerId;
    this.#network = network;
  }

  subscribe(topic: string): void { this.topics.add(topic); }
  unsubscribe(topic: string): void { this.topics.delete(topic); }
  addEventListener(_type: 'message', listener: Listener): void { this.#listeners.add(listener); }
  removeEventListener(_type: 'message', listener: Listener): void { this.#listeners.delete(listener); }

  async publish(topic: string, data: Uint8Array): Promise<unknown> {
    if (this.failPublish) throw new Error('NoPeersSubscribedToTopic');
    this.published++;
    this.#network.broadcast(this.peerId, topic, data);
    return { recipients: [] };
  }

  /** @internal */
  deliver(message: PubSubMessage): void {
    setImmediate(() => {
      for (const listener of this.#listeners) listener(new CustomEvent('message', { detail: message }));
    });
  }
}
