// How Raft messages travel between nodes. The driver hands each Ready's messages to `send` and
// feeds what arrives into the core; the core tolerates loss, duplication and reordering, so a
// transport may drop freely but must never block the driver. Two implementations fit this
// interface: MemoryTransport (adapters/memory-transport.ts, tests and the bench) and, later,
// one on libp2p streams.
import type { Message, NodeId } from './core/types.ts';

/**
 * What a transport reports to its owner (the driver). Every callback is invoked from the
 * transport's own task (an I/O callback or a scheduled turn), never synchronously inside
 * `send()`, so the driver never re-enters itself. Callbacks must not throw.
 */
export interface TransportHandler {
  /** A message addressed to this node arrived. Messages from one peer arrive in the order that
   *  peer sent them, unless some were dropped; there is no ordering across peers. */
  message(message: Message): void;
  /** Messages to `peer` were dropped (link down, queue full): the driver tells Raft to stop
   *  pipelining to it and probe again (RawNode.reportUnreachable). */
  unreachable(peer: NodeId): void;
  /** A MsgSnap to `peer` was delivered (`ok`) or lost: RawNode.reportSnapshot. */
  snapshotStatus(peer: NodeId, ok: boolean): void;
}

/**
 * A node's link to its peers. Lifecycle: `start(handler)` once, then any number of `send`s,
 * then `stop()` once; the driver owns it between start and stop.
 */
export interface Transport {
  /** Begin receiving: from now on, messages for this node go to `handler`. */
  start(handler: TransportHandler): Promise<void>;
  /**
   * Queue `messages` for delivery, each to its `to` peer; the transport batches them per peer.
   * Fire-and-forget: returns at once, never blocks, never throws for a network reason. Each
   * peer has a bounded send queue; when it is full, or the peer is unknown or unreachable,
   * messages are dropped and reported through `handler.unreachable`. The caller must not
   * mutate the messages afterwards (they are shared, not copied, in memory).
   */
  send(messages: readonly Message[]): void;
  /** Stop receiving and drop whatever is still queued. Nothing is delivered to the handler after
   *  this resolves. Safe to call more than once. */
  stop(): Promise<void>;
}
