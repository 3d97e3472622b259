// The p2p layer's public face: the libp2p host with membership gating, Raft over libp2p, the join
// protocol's wire, and the node's keys.
export { createHost, defaultDialTimeoutMs, defaultGossipHeartbeatIntervalMs, defaultReconcileIntervalMs } from './host.ts';
export type { HostComponents, HostInit, HostServices, P2pHost } from './host.ts';
export { defaultJoinWindowMs, defaultMaxPendingJoinConnections } from './gating.ts';
export type { MemberAddrs } from './gating.ts';
export { memberOnlyTopicValidator } from './gossip-guard.ts';
export { Libp2pRaftTransport, raftProtocol } from './raft-transport.ts';
export type { RaftTransportComponents, RaftTransportInit } from './raft-transport.ts';
export { handleJoin, joinProtocol, requestJoin } from './join.ts';
export type { JoinHandler, JoinServerInit, RequestJoinOptions } from './join.ts';
export { parseJoinRequest, parseJoinResponse } from './join-messages.ts';
export type { JoinMember, JoinRequest, JoinResponse } from './join-messages.ts';
export { createNodeKey, decodeNetworkKey, encodeNetworkKey, generateNetworkKey, loadNodeKey, loadOrCreateNodeKey, peerIdOf } from './keys.ts';
export {
  DialFailedError, DialTimeoutError, InvalidAddressError, InvalidNetworkKeyError, JoinProtocolError, JoinTimeoutError, KeyFileDamagedError,
  KeyFilePermissionsError, ListenError, NotAMemberError, PortInUseError,
} from './errors.ts';
export { consoleLogger, silentLogger } from './logger.ts';
export type { P2pLogger } from './logger.ts';
