// The Raft core's public face: a pure state machine (no I/O, no clock).
export { RawNode } from './raw-node.ts';
export type { RaftConfig } from './raw-node.ts';
export { MemoryStorage, entrySizeBytes, limitSize } from './storage.ts';
export type { RaftStorage } from './storage.ts';
export { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from './conf-change.ts';
export { assert, CompactedError, InvariantError, NotLeaderError, ProposalDroppedError, UnavailableError } from './errors.ts';
export { seededRandom, hashString } from './rand.ts';
export * from './types.ts';
