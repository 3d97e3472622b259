// Raft over libp2p: the Transport of consensus/transport.ts on the node's host. Outbound, one
// long-lived stream per peer (raft-peer-link.ts) carrying batch frames (raft-frame.ts); inbound,
// frames from members are decoded and handed to the driver, anything else is refused.
import type { Connection, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Message, NodeId } from '../../consensus/core/types.ts';
import type { Transport, TransportHandler } from '../../consensus/transport.ts';
import { NotAMemberError } from './errors.ts';
import type { P2pHost } from './host.ts';
import type { P2pLogger } from './logger.ts';
import { consoleLogger } from './logger.ts';
import { decodeFrame, FrameSplitter } from './raft-frame.ts';
import { PeerLink } from './raft-peer-link.ts';

export const raftProtocol = '/ottmesh/raft/1';

export const defaultMaxQueuedMessagesPerPeer = 4_096;
/** Bound on one frame (a batch, or one snapshot message): the replicated state must fit. */
export const defaultMaxFrameBytes = 16 * 1024 * 1024;
export const defaultOpenTimeoutMs = 2_000;
export const defaultMinReconnectBackoffMs = 50;
export const defaultMaxReconnectBackoffMs = 2_000;
/** Raft streams one connection may carry at once in each direction: one is normal; a few
 *  allow a replacement to open while a dying one is still being torn down. */
export const maxRaftStreamsPerConnection = 4;

export interface RaftTransportComponents {
  readonly host: Pick<P2pHost, 'peerId' | 'libp2p' | 'dial' | 'isMember'>;
  /** A peer's multiaddrs from the applied state ([] when unknown). */
  readonly addrsOf: (peerId: NodeId) => readonly string[];
  readonly logger?: P2pLogger;
}

export interface RaftTransportInit {
  readonly maxQueuedMessagesPerPeer?: number;
  readonly maxFrameBytes?: number;
  /** Bound on dialing and opening one stream (default {@link defaultOpenTimeoutMs}). */
  readonly openTimeoutMs?: number;
  readonly minReconnectBackoffMs?: number;
  readonly maxReconnectBackoffMs?: number;
}

export class Libp2pRaftTransport implements Transport {
  readonly #host: RaftTransportComponents['host'];
  readonly #addrsOf: (peerId: NodeId) => readonly string[];
  readonly #logger: P2pLogger;
  readonly #maxFrameBytes: number;
  readonly #linkInit: ConstructorParameters<typeof PeerLink>[2];
  /** One per peer ever sent to: bounded by the peers Raft knows. */
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #inbound = new Set<Stream>();
  #handler: TransportHandler | null = null;
  #flushScheduled = false;

  constructor(components: RaftTransportComponents, init: RaftTransportInit = {}) {
    this.#host = components.host;
    this.#addrsOf = components.addrsOf;
    this.#logger = components.logger ?? consoleLogger;
    this.#maxFrameBytes = init.maxFrameBytes ?? defaultMaxFrameBytes;
    this.#linkInit = {
      maxQueuedMessages: init.maxQueuedMessagesPerPeer ?? defaultMaxQueuedMessagesPerPeer,
      maxFrameBytes: this.#maxFrameBytes,
      openTimeoutMs: init.openTimeoutMs ?? defaultOpenTimeoutMs,
      minReconnectBackoffMs: init.minReconnectBackoffMs ?? defaultMinReconnectBackoffMs,
      maxReconnectBackoffMs: init.maxReconnectBackoffMs ?? defaultMaxReconnectBackoffMs,
    };
  }

  async start(handler: TransportHandler): Promise<void> {
    if (this.#handler !== null) throw new Error('raft transport is already started');
    await this.#host.libp2p.handle(raftProtocol, (stream, connection) => this.#accept(stream, connection), {
      maxInboundStreams: maxRaftStreamsPerConnection,
      maxOutboundStreams: maxRaftStreamsPerConnection,
    });
    this.#handler = handler;
  }

  send(messages: readonly Message[]): void {
    if (this.#handler === null) return;
    for (const m of messages) this.#link(m.to).enqueue(m);
    this.#scheduleFlush();
  }

  async stop(): Promise<void> {
    if (this.#handler === null) return;
    this.#handler = null;
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    for (const stream of this.#inbound) stream.abort(new Error('raft transport stopped'));
    this.#inbound.clear();
    await this.#host.libp2p.unhandle(raftProtocol);
  }

  #link(peer: NodeId): PeerLink {
    let link = this.#links.get(peer);
    if (link === undefined) {
      link = new PeerLink(peer, {
        openStream: (p, signal) => this.#openStream(p, signal),
        unreachable: (p) => this.#handler?.unreachable(p),
        snapshotStatus: (p, ok) => this.#handler?.snapshotStatus(p, ok),
        logger: this.#logger,
      }, this.#linkInit);
      this.#links.set(peer, link);
    }
    return link;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // A later macrotask: callbacks never run inside send(), and every send of this turn shares
    // one frame per peer.
    setImmediate(() => {
      this.#flushScheduled = false;
      for (const link of this.#links.values()) link.flush();
    });
  }

  async #openStream(peer: NodeId, signal: AbortSignal): Promise<Stream> {
    const peerId = peerIdFromString(peer);
    let connection = this.#host.libp2p.getConnections(peerId).find((c) => c.status === 'open');
    if (connection === undefined) {
      const addrs = this.#addrsOf(peer);
      if (addrs.length === 0) throw new Error(`no known address for ${peer}`);
      connection = await this.#host.dial(addrs, signal);
    }
    return connection.newStream(raftProtocol, { signal });
  }

  /** An inbound raft stream: only members may use it, and only to speak for themselves. */
  #accept(stream: Stream, connection: Connection): void {
    const remote = connection.remotePeer.toString();
    if (this.#handler === null || !this.#host.isMember(remote)) {
      stream.abort(new NotAMemberError(remote, 'raft stream'));
      return;
    }
    this.#inbound.add(stream);
    const splitter = new FrameSplitter(this.#maxFrameBytes);
    stream.addEventListener('message', (evt) => {
      try {
        for (const frame of splitter.push(evt.data)) this.#deliver(decodeFrame(frame), remote);
      } catch (err) {
        this.#logger.warn(`raft transport: closing the stream from ${remote}: ${err instanceof Error ? err.message : String(err)}`);
        stream.abort(err instanceof Error ? err : new Error(String(err)));
      }
    });
    // The sender never reads: once it has finished writing, close our side so the stream is freed.
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))));
    });
    stream.addEventListener('close', () => this.#inbound.delete(stream), { once: true });
  }

  #deliver(messages: readonly Message[], remote: string): void {
    const handler = this.#handler;
    if (handler === null) return;
    if (!this.#host.isMember(remote)) return; // removed while its stream was open
    for (const m of messages) {
      if (m.from !== remote || m.to !== this.#host.peerId) {
        this.#logger.warn(`raft transport: dropped a ${m.type} from ${m.from} to ${m.to} that arrived from ${remote}`);
        continue;
      }
      handler.message(m);
    }
  }
}
