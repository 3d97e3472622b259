// What a RaftDriver is built from (js-libp2p style): its components, the narrow set of
// collaborators it uses, and its init options with their defaults.
import type { ConfState, NodeId, SoftState } from './core/index.ts';
import type { RaftConfig } from './core/index.ts';
import type { LogStore } from './log-store.ts';
import type { StateMachine } from './state-machine.ts';
import type { Transport } from './transport.ts';

export const defaultTickIntervalMs = 100;
export const defaultElectionTicks = 10;
export const defaultHeartbeatTicks = 1;
export const defaultSnapshotEveryEntries = 10_000;
export const defaultSnapshotKeepEntries = 1_000;
export const defaultSnapshotMinIntervalMs = 10_000;
/** etcd's default snapshot count. */
export const defaultSnapshotMaxEntries = 100_000;
export const defaultMaxPendingProposals = 4_096;
export const defaultMaxPendingReads = 1_024;
/** A repeating timer. Injected so tests and simulations can drive ticks themselves. */
export interface DriverClock {
  every(intervalMs: number, callback: () => void): { stop(): void };
}

export const realClock: DriverClock = {
  every(intervalMs, callback) {
    const handle = setInterval(callback, intervalMs);
    return { stop: () => clearInterval(handle) };
  },
};

export interface RaftDriverComponents {
  readonly store: LogStore;
  readonly transport: Transport;
  readonly stateMachine: StateMachine;
  /** Default {@link realClock}. */
  readonly clock?: DriverClock;
  /** Where fatal errors are logged (default `console`). */
  readonly logger?: Pick<Console, 'error'>;
}

export interface RaftDriverInit {
  readonly id: NodeId;
  /** The membership of a brand-new cluster, used only when the store is empty; it is persisted
   *  (as the initial snapshot) so restarts never need it. Omit it on a node that joins an
   *  existing cluster: it waits, with no configuration, for the leader's snapshot. */
  readonly bootstrap?: ConfState;
  /** Default {@link defaultTickIntervalMs}. Election timeout = electionTicks * tickIntervalMs. */
  readonly tickIntervalMs?: number;
  /** Default {@link defaultElectionTicks}. */
  readonly electionTicks?: number;
  /** Default {@link defaultHeartbeatTicks}. */
  readonly heartbeatTicks?: number;
  /** Take a snapshot and compact the log every this many applied entries (default {@link defaultSnapshotEveryEntries}),
   *  but not again within snapshotMinIntervalMs unless snapshotMaxEntries were applied since. */
  readonly snapshotEveryEntries?: number;
  /** Default {@link defaultSnapshotMinIntervalMs} (counted in ticks). A snapshot writes the whole state and holds
   *  up the Ready loop meanwhile: under a write load, one per 10,000 entries stalled every node
   *  for 20-60 ms each 1.3 s (the state held 10,000 audit entries, 2.3 MB). */
  readonly snapshotMinIntervalMs?: number;
  /** Default {@link defaultSnapshotMaxEntries}: the bound on entries kept in memory since the last snapshot. */
  readonly snapshotMaxEntries?: number;
  /** Entries kept before a snapshot so slightly lagging followers still catch up from the log
   *  (default {@link defaultSnapshotKeepEntries}). */
  readonly snapshotKeepEntries?: number;
  /** Bound on proposals waiting to be applied; beyond it propose() rejects with
   *  TooManyPendingError (default {@link defaultMaxPendingProposals}). */
  readonly maxPendingProposals?: number;
  /** Bound on reads waiting (default {@link defaultMaxPendingReads}). */
  readonly maxPendingReads?: number;
  /** On a follower, propose() sends the entry to the leader (a MsgProp over the transport) and
   *  resolves once this node has applied it, as etcd-io/raft does; otherwise it rejects with
   *  NotLeaderError. Default false. */
  readonly forwardProposals?: boolean;
  /** A read with no answer after this many ticks rejects with ReadTimeoutError (default 2 * electionTicks). */
  readonly readTimeoutTicks?: number;
  /** Further core settings (pre-vote, check-quorum, message size, in-flight cap, seed). */
  readonly raft?: Omit<RaftConfig, 'id' | 'storage' | 'electionTicks' | 'heartbeatTicks'>;
}

export interface RaftDriverEvents {
  /** This node's view of the leader or its own role changed. */
  'soft-state': [SoftState];
  /** The node stopped on an error it cannot continue after (a failed durable write, a broken
   *  invariant). Without a listener Node throws it: the process stops, as it should by default. */
  error: [Error];
}

/** Init with every default filled in. */
export type ResolvedDriverInit = Required<Omit<RaftDriverInit, 'bootstrap' | 'raft'>> & Pick<RaftDriverInit, 'bootstrap' | 'raft'>;

export function resolveDriverInit(init: RaftDriverInit): ResolvedDriverInit {
  const electionTicks = init.electionTicks ?? defaultElectionTicks;
  return {
    ...init,
    tickIntervalMs: init.tickIntervalMs ?? defaultTickIntervalMs,
    electionTicks,
    heartbeatTicks: init.heartbeatTicks ?? defaultHeartbeatTicks,
    snapshotEveryEntries: init.snapshotEveryEntries ?? defaultSnapshotEveryEntries,
    snapshotKeepEntries: init.snapshotKeepEntries ?? defaultSnapshotKeepEntries,
    snapshotMinIntervalMs: init.snapshotMinIntervalMs ?? defaultSnapshotMinIntervalMs,
    snapshotMaxEntries: init.snapshotMaxEntries ?? defaultSnapshotMaxEntries,
    maxPendingProposals: init.maxPendingProposals ?? defaultMaxPendingProposals,
    maxPendingReads: init.maxPendingReads ?? defaultMaxPendingReads,
    readTimeoutTicks: init.readTimeoutTicks ?? 2 * electionTicks,
    forwardProposals: init.forwardProposals ?? false,
  };
}
