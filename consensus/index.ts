// The consensus package's public face: the pure Raft core, the durable log stores, the
// transports and the driver that runs a node. Import from here, not from the files behind it.
export * from './core/index.ts';
export { CorruptLogError } from './log-store.ts';
export type { LogStore, LogWrite, PersistedState } from './log-store.ts';
export { memoryStorageFrom } from './restore.ts';
export { MemoryLogStore } from './adapters/memory-log-store.ts';
export { LevelLogStore } from './adapters/level-log-store.ts';
export type { Transport, TransportHandler } from './transport.ts';
export { defaultMaxQueuedMessagesPerPeer, MemoryNetwork, MemoryTransport } from './adapters/memory-transport.ts';
export type { MemoryTransportComponents, MemoryTransportInit } from './adapters/memory-transport.ts';
export type { StateMachine } from './state-machine.ts';
export { RaftDriver } from './driver.ts';
export {
  defaultElectionTicks, defaultHeartbeatTicks, defaultMaxPendingProposals, defaultMaxPendingReads, defaultSnapshotEveryEntries,
  defaultSnapshotKeepEntries, defaultTickIntervalMs, realClock,
} from './driver-options.ts';
export type { DriverClock, RaftDriverComponents, RaftDriverEvents, RaftDriverInit } from './driver-options.ts';
export type { Placed } from './proposals.ts';
export { DriverStoppedError, ForwardUnconfirmedError, ProposalLostError, ProposalOutcomeUnknownError, ReadTimeoutError, StoppedInFlightError, TooManyPendingError } from './driver-errors.ts';
