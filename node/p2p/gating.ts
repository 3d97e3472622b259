// Who may stay connected. Members (peers the applied cluster state lists) always may; anyone
// else only to attempt a join: a bounded number of such connections at once, each cut after a
// join window unless its peer became a member meanwhile. reconcile() applies a membership change:
// it cuts off peers that are no longer members and dials every member not yet connected.
//
// The gate holds no libp2p object: it sees the network through GateNetwork, so its decisions can
// be tested without sockets, and the host adapts libp2p to it.
import type { ConnectionGater, PeerId } from '@libp2p/interface';
import type { P2pLogger } from './logger.ts';

/** Defaults of MembershipGateInit. */
export const defaultMaxPendingJoinConnections = 16;
export const defaultJoinWindowMs = 30_000;

/** A member as the applied state lists it. */
export interface MemberAddrs {
  readonly id: string;
  /** Multiaddrs with /p2p/<id>. */
  readonly addrs: readonly string[];
}

/** What the gate needs from the network. */
export interface GateNetwork {
  /** Peer ids with at least one open connection. */
  connectedPeers(): string[];
  isConnected(peerId: string): boolean;
  /** Close every connection to `peerId`. Never rejects. */
  hangUp(peerId: string): Promise<void>;
  /** Connect to `addrs` (one peer's), bounded by the host's dial timeout. */
  dial(addrs: readonly string[]): Promise<void>;
}

export interface MembershipGateComponents {
  readonly network: GateNetwork;
  readonly logger: P2pLogger;
}

export interface MembershipGateInit {
  readonly selfId: string;
  /** Whether the applied state lists `peerId`; called on every connection and often. */
  readonly isMember: (peerId: string) => boolean;
  /** Every member with its addresses (the applied state), read by reconcile(). */
  readonly members: () => readonly MemberAddrs[];
  /** Bound on connections with non-members (join attempts) at once (default {@link defaultMaxPendingJoinConnections}). */
  readonly maxPendingJoinConnections?: number;
  /** A non-member is disconnected this long after it connected, unless it became a member
   *  (default {@link defaultJoinWindowMs}). */
  readonly joinWindowMs?: number;
}

interface PendingJoin {
  /** Connections admitted for this peer that have not closed yet (or whose upgrade never finished). */
  connections: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class MembershipGate {
  readonly #network: GateNetwork;
  readonly #logger: P2pLogger;
  readonly #selfId: string;
  readonly #isMember: (peerId: string) => boolean;
  readonly #members: () => readonly MemberAddrs[];
  readonly #maxPendingJoinConnections: number;
  readonly #joinWindowMs: number;
  readonly #pending = new Map<string, PendingJoin>();
  readonly #dialing = new Set<string>();
  #stopped = false;

  constructor(components: MembershipGateComponents, init: MembershipGateInit) {
    this.#network = components.network;
    this.#logger = components.logger;
    this.#selfId = init.selfId;
    this.#isMember = init.isMember;
    this.#members = init.members;
    this.#maxPendingJoinConnections = init.maxPendingJoinConnections ?? defaultMaxPendingJoinConnections;
    this.#joinWindowMs = init.joinWindowMs ?? defaultJoinWindowMs;
  }

  /** Whether a connection with `peerId` (its identity proven by the handshake) may proceed.
   *  Admitting a non-member takes one of the bounded join slots until it disconnects. */
  admit(peerId: string): boolean {
    if (this.#stopped) return false;
    if (this.#isMember(peerId)) return true;
    if (this.pendingJoinConnections() >= this.#maxPendingJoinConnections) {
      this.#logger.debug(`p2p: refused ${peerId}: ${this.#maxPendingJoinConnections} join attempts already connected`);
      return false;
    }
    const entry = this.#pending.get(peerId);
    if (entry !== undefined) {
      entry.connections++;
    } else {
      const timer = setTimeout(() => this.#windowEnded(peerId), this.#joinWindowMs);
      timer.unref();
      this.#pending.set(peerId, { connections: 1, timer });
    }
    return true;
  }

  /** Call when a connection with `peerId` closed: frees its join slot. */
  connectionClosed(peerId: string): void {
    const entry = this.#pending.get(peerId);
    if (entry === undefined) return;
    entry.connections--;
    if (entry.connections <= 0 || !this.#network.isConnected(peerId)) this.#release(peerId);
  }

  /** Connections currently held by non-members (join attempts). */
  pendingJoinConnections(): number {
    let n = 0;
    for (const entry of this.#pending.values()) n += entry.connections;
    return n;
  }

  /**
   * Apply the current membership: cut off connected peers that are neither members nor inside
   * their join window, free the join slots of peers that became members, and dial every member
   * that is not connected (one dial per peer at a time; failures are retried by the next call).
   */
  reconcile(): void {
    if (this.#stopped) return;
    for (const peerId of this.#pending.keys()) {
      if (this.#isMember(peerId)) this.#release(peerId);
    }
    for (const peerId of this.#network.connectedPeers()) {
      if (this.#isMember(peerId) || this.#pending.has(peerId)) continue;
      this.#logger.debug(`p2p: cutting off ${peerId}: no longer a member`);
      void this.#network.hangUp(peerId);
    }
    for (const member of this.#members()) {
      if (member.id === this.#selfId || member.addrs.length === 0) continue;
      if (this.#dialing.has(member.id) || this.#network.isConnected(member.id)) continue;
      this.#dialing.add(member.id);
      this.#network.dial(member.addrs).then(
        () => this.#dialing.delete(member.id),
        (err: unknown) => {
          this.#dialing.delete(member.id);
          this.#logger.debug(`p2p: dialing member ${member.id} failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const peerId of [...this.#pending.keys()]) this.#release(peerId);
  }

  #windowEnded(peerId: string): void {
    this.#pending.delete(peerId);
    if (this.#stopped || this.#isMember(peerId)) return;
    this.#logger.debug(`p2p: join window of ${peerId} ended: disconnecting`);
    void this.#network.hangUp(peerId);
  }

  #release(peerId: string): void {
    const entry = this.#pending.get(peerId);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.#pending.delete(peerId);
  }
}

/** The libp2p connection gater that asks `gate`, once the remote's identity is proven. */
export function membershipConnectionGater(gate: MembershipGate): ConnectionGater {
  const deny = (peerId: PeerId): boolean => !gate.admit(peerId.toString());
  return {
    denyInboundEncryptedConnection: (peerId) => deny(peerId),
    denyOutboundEncryptedConnection: (peerId) => deny(peerId),
  };
}
