// The node's libp2p host: TCP inside a private network (pre-shared key), noise, yamux, identify,
// gossipsub and ping, with the membership gate deciding who may stay connected. Raft and the
// join protocol run their own streams on it (raft-transport.ts, join.ts); gossip uses `pubsub`.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import './yamux-window.ts';
import './xsalsa20-memory.ts';
import './frame-decoder.ts';
import type { GossipSub, TopicValidatorFn } from '@libp2p/gossipsub';
import { gossipsub } from '@libp2p/gossipsub';
import type { Identify } from '@libp2p/identify';
import { identify } from '@libp2p/identify';
import type { Connection, Libp2p, PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Ping } from '@libp2p/ping';
import { ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import type { Multiaddr } from '@multiformats/multiaddr';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2pOptions } from 'libp2p';
import { createLibp2p } from 'libp2p';
import { isIP } from 'node:net';
import { DialFailedError, DialTimeoutError, firstLine, InvalidAddressError, ListenError, PortInUseError } from './errors.ts';
import type { GateNetwork, MemberAddrs } from './gating.ts';
import { MembershipGate, membershipConnectionGater } from './gating.ts';
import { memberGossipScoreParams, memberOnlyTopicValidator } from './gossip-guard.ts';
import { peerIdOf } from './keys.ts';
import { noiseCrypto } from './noise-crypto.ts';
import type { P2pLogger } from './logger.ts';
import { consoleLogger } from './logger.ts';

export const defaultDialTimeoutMs = 5_000;
export const defaultGossipHeartbeatIntervalMs = 500;
/** How often the host re-applies membership on its own (redials members that came back). */
export const defaultReconcileIntervalMs = 5_000;
/** Bound on open connections: every member connects to every member, so this caps the cluster
 *  size one node can mesh with before libp2p starts pruning. */
export const defaultMaxConnections = 1_024;
/** New connections per second accepted from one IP address (libp2p's default of 5 is too low when
 *  several nodes share an address, as on loopback or behind one NAT). */
export const defaultInboundConnectionsPerIpPerS = 100;

export type HostServices = { identify: Identify; ping: Ping; pubsub: GossipSub };

export interface HostInit {
  readonly privateKey: PrivateKey;
  /** The cluster's pre-shared key in pnet format (keys.ts decodeNetworkKey). */
  readonly networkKey: Uint8Array;
  /** IP address to listen on (`0.0.0.0`, `::`, `127.0.0.1`...). */
  readonly host: string;
  /** TCP port; 0 picks a free one (read it back from listenAddrs()). */
  readonly p2pPort: number;
  /** Addresses to tell peers instead of the listen addresses (e.g. behind NAT). */
  readonly announceAddrs?: readonly string[];
  /** Whether the applied cluster state lists `peerId` as a member. Called often: keep it cheap. */
  readonly isMember: (peerId: string) => boolean;
  /** Every member with its addresses, from the applied state: reconcile() dials them. */
  readonly members: () => readonly MemberAddrs[];
  readonly maxPendingJoinConnections?: number;
  readonly joinWindowMs?: number;
  /** Bound on every dial this host makes (default {@link defaultDialTimeoutMs}). */
  readonly dialTimeoutMs?: number;
  readonly gossipHeartbeatIntervalMs?: number;
  readonly reconcileIntervalMs?: number;
  readonly maxConnections?: number;
}

export interface HostComponents {
  readonly logger?: P2pLogger;
}

export interface P2pHost {
  /** This node's id: its libp2p peer id string. */
  readonly peerId: string;
  /** The raw libp2p node, for protocol handlers and streams. */
  readonly libp2p: Libp2p<HostServices>;
  /** Gossipsub: subscribe, publish, topicValidators. */
  readonly pubsub: GossipSub;
  readonly dialTimeoutMs: number;
  readonly isMember: (peerId: string) => boolean;
  /** Listen addresses with /p2p/<peerId>, as strings (announce addresses when configured). */
  listenAddrs(): string[];
  /** Connect to one peer at any of `addrs`. Bounded by dialTimeoutMs (DialTimeoutError) and by
   *  `signal` (its reason is thrown as is). Other failures are DialFailedError; an address that
   *  does not parse is InvalidAddressError. */
  dial(addrs: string | readonly string[], signal?: AbortSignal): Promise<Connection>;
  isConnected(peerId: string): boolean;
  /** Re-apply membership now (call after a membership change): cut off non-members, dial members. */
  reconcile(): void;
  /** Ignore gossip on `topic` unless its author and forwarder are members (then ask `inner`). */
  guardTopic(topic: string, inner?: TopicValidatorFn): void;
  /** Connections currently held by non-members (join attempts). */
  pendingJoinConnections(): number;
  stop(): Promise<void>;
}

/** Build and start the host. Throws PortInUseError or ListenError when it cannot listen. */
export async function createHost(init: HostInit, components: HostComponents = {}): Promise<P2pHost> {
  const logger = components.logger ?? consoleLogger;
  const dialTimeoutMs = init.dialTimeoutMs ?? defaultDialTimeoutMs;
  const listenAddr = listenMultiaddr(init.host, init.p2pPort);
  // The gate must exist before libp2p (it is the connection gater) and acts on libp2p later.
  let node: Libp2p<HostServices> | null = null;
  const network: GateNetwork = {
    connectedPeers: () => node?.getConnections().map((c) => c.remotePeer.toString()) ?? [],
    isConnected: (peerId) => {
      const id = parsePeerId(peerId);
      return id !== null && node !== null && node.getConnections(id).some((c) => c.status === 'open');
    },
    hangUp: async (peerId) => {
      const id = parsePeerId(peerId);
      if (id === null || node === null) return;
      await node.hangUp(id).catch((err: unknown) => logger.debug(`p2p: hang up ${peerId}: ${firstLine(err)}`));
    },
    dial: async (addrs) => {
      if (node !== null) await dialBounded(node, addrs, dialTimeoutMs);
    },
  };
  const gate = new MembershipGate({ network, logger }, {
    selfId: peerIdOf(init.privateKey),
    isMember: init.isMember,
    members: init.members,
    ...(init.maxPendingJoinConnections === undefined ? {} : { maxPendingJoinConnections: init.maxPendingJoinConnections }),
    ...(init.joinWindowMs === undefined ? {} : { joinWindowMs: init.joinWindowMs }),
  });
  const started = await createLibp2p<HostServices>(libp2pOptions(init, listenAddr, gate, dialTimeoutMs));
  try {
    await started.start();
  } catch (err) {
    await started.stop();
    throw listenFailure(err, init.host, init.p2pPort, listenAddr);
  }
  node = started;
  started.addEventListener('connection:close', (evt) => gate.connectionClosed(evt.detail.remotePeer.toString()));
  const reconcileTimer = setInterval(() => gate.reconcile(), init.reconcileIntervalMs ?? defaultReconcileIntervalMs);
  reconcileTimer.unref();
  return {
    peerId: started.peerId.toString(),
    libp2p: started,
    pubsub: started.services.pubsub,
    dialTimeoutMs,
    isMember: init.isMember,
    listenAddrs: () => started.getMultiaddrs().map((a) => a.toString()),
    dial: (addrs, signal) => dialBounded(started, addrs, dialTimeoutMs, signal),
    isConnected: network.isConnected,
    reconcile: () => gate.reconcile(),
    guardTopic: (topic, inner) => started.services.pubsub.topicValidators.set(topic, memberOnlyTopicValidator(init.isMember, inner)),
    pendingJoinConnections: () => gate.pendingJoinConnections(),
    stop: async () => {
      clearInterval(reconcileTimer);
      gate.stop();
      await started.stop();
    },
  };
}

function libp2pOptions(init: HostInit, listenAddr: string, gate: MembershipGate, dialTimeoutMs: number): Libp2pOptions<HostServices> {
  return {
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: [listenAddr], ...(init.announceAddrs === undefined ? {} : { announce: [...init.announceAddrs] }) },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: init.networkKey }),
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    streamMuxers: [yamux()],
    connectionGater: membershipConnectionGater(gate),
    connectionManager: {
      maxConnections: init.maxConnections ?? defaultMaxConnections,
      inboundConnectionThreshold: defaultInboundConnectionsPerIpPerS,
      dialTimeout: dialTimeoutMs,
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        heartbeatInterval: init.gossipHeartbeatIntervalMs ?? defaultGossipHeartbeatIntervalMs,
        scoreParams: memberGossipScoreParams(),
        doPX: false,
      }),
    },
  };
}

/** A peer id from its string, or null for a string that is not one (state is checked elsewhere:
 *  a bad id must not stop the gate from handling the others). */
function parsePeerId(id: string): PeerId | null {
  try {
    return peerIdFromString(id);
  } catch {
    return null;
  }
}

function listenMultiaddr(host: string, port: number): string {
  const family = isIP(host);
  if (family === 0) throw new ListenError(`${host}:${port}`, new Error('the host must be an IP address such as 0.0.0.0 or 10.0.0.5'));
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ListenError(`${host}:${port}`, new Error('the port must be 0-65535'));
  return family === 6 ? `/ip6/${host}/tcp/${port}` : `/ip4/${host}/tcp/${port}`;
}

/** libp2p reports a failed listen as UnsupportedListenAddressesError with the socket error in
 *  its message: turn the common cause into a typed error. */
function listenFailure(err: unknown, host: string, port: number, addr: string): Error {
  const text = err instanceof Error ? err.message : String(err);
  if (text.includes('EADDRINUSE')) return new PortInUseError(host, port);
  return new ListenError(addr, err);
}

function parseAddrs(addrs: string | readonly string[]): Multiaddr[] {
  const list = typeof addrs === 'string' ? [addrs] : addrs;
  if (list.length === 0) throw new InvalidAddressError('', 'no address given');
  return list.map((a) => {
    try {
      return multiaddr(a);
    } catch (err) {
      throw new InvalidAddressError(a, err instanceof Error ? err.message : String(err));
    }
  });
}

async function dialBounded(node: Libp2p, addrs: string | readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<Connection> {
  const targets = parseAddrs(addrs);
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  try {
    return await node.dial(targets, { signal: combined });
  } catch (err) {
    if (signal?.aborted === true) throw err;
    const target = targets.map(String).join(' or ');
    if (timeout.aborted) throw new DialTimeoutError(target, timeoutMs);
    throw new DialFailedError(target, err);
  }
}
