// What the HTTP API needs from the rest of the node: a narrow interface the composition root
// (main.ts) implements with the Raft driver, the state machine, gossip and p2p, and tests
// implement with a fake. Routes see nothing else.
import type { ConfState, NodeId, Role } from '../../consensus/index.ts';
import type { LoadSample } from '../gossip/history.ts';
import type { StreamFigures } from '../gossip/report.ts';
import type { MemberFigures } from '../leader/placement-view.ts';
import type { FloatingAddressView } from '../vip/service.ts';
import type { NodeCounters } from './routes/metrics.ts';
import type { Actor, ApplyResult, ClusterState, Command, JoinTokenRecord, SourceRecord } from '../state/index.ts';

/** What probing a source found (node/supervisor/probe.ts). */
export interface ProbeAnswer {
  readonly ok: boolean;
  readonly streams: readonly string[];
  readonly lines: readonly string[];
  readonly ms: number;
}

/** The Raft facts the API shows; RaftDriver.status() returns a superset. */
export interface RaftView {
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly role: Role;
  readonly conf: ConfState;
}

/** One member as this node's membership view (gossip) sees it. */
export interface MemberView {
  readonly state: 'alive' | 'suspect' | 'down';
  readonly cpuPct: number;
  readonly memPct: number;
  /** ffmpeg processes (streams) running there. */
  readonly streams: number;
}

export interface ClusterApi {
  /** This node's libp2p peer id and name. */
  readonly nodeId: NodeId;
  readonly name: string;
  /** Synchronous, cheap; may throw DriverStoppedError when the driver is not running (the API
   *  answers 503). */
  raftStatus(): RaftView;
  /** The state as of the last applied entry on this node (immutable). */
  state(): ClusterState;
  /** Linearizable read barrier: resolves once this node has applied everything committed
   *  before the call, so `state()` is then current. Works on followers. Rejects with
   *  NotLeaderError (no leader known), ReadTimeoutError, TooManyPendingError or
   *  DriverStoppedError; the API answers those with 503 and Retry-After. */
  read(): Promise<void>;
  /** Proposes `command` as `actor` (set on the command, so apply() checks the actor's role and
   *  records the change in the audit log; null only for what no operator did, a login record)
   *  through the leader (this node, or the leader Raft forwards it to) and resolves with what
   *  applying it did, once applied on this node, so `state()` then shows it. Rejects with the
   *  driver's errors (NotLeaderError when no leader is known, ...): the API answers 503, with
   *  Retry-After when retrying is safe (without it, ForwardUnconfirmedError,
   *  ProposalOutcomeUnknownError and StoppedInFlightError: check first); InvalidCommandError is
   *  a bug in the API (500). */
  propose(command: Command, actor: Actor | null): Promise<ApplyResult>;
  /** The gossip view of member `id`, or null when no report from it has been seen (the API
   *  shows such a node as "down" with zero load). */
  membership(id: NodeId): MemberView | null;
  /** What node `id` last reported about the streams it runs (gossip; [] when nothing heard). */
  streamFigures(id: NodeId): readonly StreamFigures[];
  /** Gossip about member `id` as placement needs it (health, host figures, streams). */
  memberFigures(id: NodeId): MemberFigures;
  /** The last stderr lines of ffmpeg for `streamId` on node `nodeId` (this one, or asked over
   *  HTTP); null when that node does not answer. */
  streamLog(nodeId: NodeId, streamId: string): Promise<readonly string[] | null>;
  /** The same, from this node's own supervisor (null: it does not run the stream). */
  localStreamLog(streamId: string): readonly string[] | null;
  /** Probe a source on node `nodeId` (this one, or asked over /internal); null: no answer. */
  probe(nodeId: NodeId, source: SourceRecord): Promise<ProbeAnswer | null>;
  /** The tail of node `nodeId`'s own log (this one, or asked over /internal); null: no answer. */
  nodeLog(nodeId: NodeId): Promise<readonly string[] | null>;
  /** The build member `nodeId` runs, from its telemetry; null when no report carried it yet
   *  (absent: not known at all). */
  nodeBuild?(nodeId: NodeId): { readonly version: string; readonly commit: string } | null;
  /** True while this node is fenced (node/fence.ts: no recent read barrier, so it is cut off
   *  from a quorum, paused or still catching up): its gateway publishes nothing new and it runs
   *  no ffmpeg. Absent: never (a test API without channels). */
  fenced?(): boolean;
  /** Member `nodeId`'s load over the last hour (samples of its gossip reports). */
  loadHistory(nodeId: NodeId): readonly LoadSample[];
  /** The leader's floating address as this node can tell (docs/floating-address.md); null: no
   *  loop runs here yet (absent: none at all, e.g. tests). */
  floatingAddress?(): Promise<FloatingAddressView | null>;
  /** The node-to-node bearer token (an HMAC of the network key). */
  internalToken(): string;
  /** Raft indexes on this node, for /metrics. */
  raftCounters(): { commit: number; applied: number };
  /** What this node counts itself, for /metrics. */
  nodeCounters(): NodeCounters;
  /** Wall-clock time, stamped on commands as `atMs`. */
  nowMs(): number;
  /** The join token string a new node is given: encodeJoinToken (node/auth) with this
   *  cluster's id, network key and members' addresses, plus `record.id` and `secret`. */
  newJoinTokenString(record: JoinTokenRecord, secret: string): string;
}
