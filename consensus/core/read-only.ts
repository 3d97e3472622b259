// Read-index (Raft thesis §6.4): the leader notes its commit index for a read, confirms with a
// heartbeat round that a quorum still follows it, and then the read may be served once the
// state machine has applied up to that index. Requests are confirmed in arrival order: an ack
// for a later request also confirms the earlier ones.
import type { NodeId } from './types.ts';

export interface ReadRequest {
  readonly index: number;
  /** Who asked: this node, or a follower the answer is sent back to. */
  readonly from: NodeId;
  readonly context: string;
  readonly acks: Set<NodeId>;
}

/** Bound on reads waiting for confirmation; past it the oldest are dropped (their callers time out). */
export const maxPendingReads = 4096;

export class ReadOnly {
  readonly #pending = new Map<string, ReadRequest>();
  #queue: string[] = [];

  get size(): number {
    return this.#queue.length;
  }

  add(index: number, from: NodeId, context: string): void {
    if (this.#pending.has(context)) return;
    if (this.#queue.length >= maxPendingReads) this.#pending.delete(this.#queue.shift()!);
    this.#pending.set(context, { index, from, context, acks: new Set() });
    this.#queue.push(context);
  }

  /** Record `from`'s heartbeat ack of `context`; returns how many acks it has (0 if unknown). */
  ack(from: NodeId, context: string): ReadonlySet<NodeId> | null {
    const req = this.#pending.get(context);
    if (!req) return null;
    req.acks.add(from);
    return req.acks;
  }

  /** Remove and return every request up to and including `context`, oldest first. */
  confirm(context: string): ReadRequest[] {
    const at = this.#queue.indexOf(context);
    if (at < 0) return [];
    const done = this.#queue.slice(0, at + 1).map((c) => this.#pending.get(c)!);
    this.#queue = this.#queue.slice(at + 1);
    for (const r of done) this.#pending.delete(r.context);
    return done;
  }

  /** The newest request's context: heartbeats carry it so their acks confirm every request. */
  lastContext(): string {
    return this.#queue.at(-1) ?? '';
  }
}
