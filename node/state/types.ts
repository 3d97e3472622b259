// The replicated cluster state and the commands that change it. Commands are what the Raft
// log carries (JSON-encoded); apply() is pure and deterministic: everything time-dependent
// (expiry checks) uses the `atMs` the proposer stamped on the command, never a clock.
import type { NodeId } from '../../consensus/core/index.ts';
import type { Assignment, GroupRecord, HlsSettings, PolicyOverride, ServiceRecord, StreamRecord } from './stream-types.ts';

export type { NodeId };

export interface NodeRecord {
  /** The node's libp2p peer id. */
  readonly id: NodeId;
  readonly name: string;
  readonly groups: readonly string[];
  /** libp2p multiaddrs the node listens on (with /p2p/<id>). */
  readonly addrs: readonly string[];
  /** Base URL of its HTTP API, e.g. http://10.0.0.5:8080 */
  readonly httpUrl: string;
  /** An operator may disable a node: it stays a member but gets no work. */
  readonly enabled: boolean;
  readonly joinedAtMs: number;
}

export interface JoinTokenRecord {
  readonly id: string;
  /** sha256 hex of the token's secret: the secret itself is never stored. */
  readonly secretHash: string;
  readonly expiresAtMs: number;
  readonly usesLeft: number;
  /** Groups a node joining with this token is put in. */
  readonly groups: readonly string[];
  readonly createdAtMs: number;
  readonly createdBy: string;
}

/** What an account (a user, an API token) may do, least first: read-only reads; operator also
 *  changes streams, services, groups, policy, nodes and lines; admin also manages users, API
 *  tokens, settings, join tokens and removes nodes (node/state/roles.ts). */
export type Role = 'read-only' | 'operator' | 'admin';

/** Who proposed a command through the API: the user and the role the request was allowed as,
 *  whether it came with an API token (its id) or a dashboard session. */
export interface Actor {
  readonly user: string;
  readonly role: Role;
  readonly via: 'token' | 'session';
  /** The API token's id when `via` is 'token', else null. */
  readonly tokenId: string | null;
}

/** One line of the audit log (node/state/audit.ts): a change made through the API, recorded by
 *  apply() of the command that made it, or a dashboard login. Never holds a password or secret. */
export interface AuditEntry {
  /** Increasing from 1 over the life of the cluster (older entries are dropped, ids are not reused). */
  readonly id: number;
  readonly atMs: number;
  readonly user: string;
  /** The role the change was allowed as; null for a failed login of a name that is no user. */
  readonly role: Role | null;
  readonly via: 'token' | 'session';
  readonly tokenId: string | null;
  /** The command type (CreateStream, SetNodeEnabled ...), or Login / LoginFailed. */
  readonly action: string;
  /** The id of what it acts on (a stream id, a node id, a user name ...); '' when cluster-wide. */
  readonly target: string;
  /** A short human summary. */
  readonly summary: string;
}

export interface UserRecord {
  readonly name: string;
  /** scrypt, encoded as `scrypt$N$r$p$salt$hash` (base64). */
  readonly passwordHash: string;
  readonly role: Role;
}

export interface ApiTokenRecord {
  readonly id: string;
  /** What its owner calls it ("ci", "grafana"); absent in tokens made before names existed. */
  readonly name?: string;
  /** sha256 hex of the token's secret. */
  readonly secretHash: string;
  readonly user: string;
  /** At most its user's role; a request with it is allowed as the lower of the two. */
  readonly role: Role;
  readonly createdAtMs: number;
}

/** A viewer line (issue 5): the account an IPTV player logs in with on the Xtream Codes surface
 *  (node/http/routes/xtream.ts). Keyed by username. */
export interface LineRecord {
  /** [A-Za-z0-9._-], it appears in player URLs (/live/<user>/<pass>/<id>.ts). */
  readonly username: string;
  /** scrypt, `scrypt$N$r$p$salt$hash` (node/auth hashPassword): hashed by the API, never here. */
  readonly passwordHash: string;
  /** Simultaneous viewers the line may have (reported to players as max_connections). */
  readonly maxConnections: number;
  /** null: never expires. */
  readonly expiresAtMs: number | null;
  readonly enabled: boolean;
  readonly createdAtMs: number;
}

export interface ClusterSettings {
  /** Voters the autopilot keeps: 3, or 5 when configured and there are enough nodes. */
  readonly votersTarget: 3 | 5;
  readonly suspectAfterS: number;
  readonly downAfterS: number;
  /** A voter down this long is replaced by a healthy learner. */
  readonly replaceDownVoterAfterS: number;
  /** The address the leader holds ("10.0.0.100/24", IPv4 with its prefix), announced by
   *  gratuitous ARP; null: none (docs/floating-address.md). Absent from older snapshots: null. */
  readonly floatingAddress: string | null;
  /** The interface it goes on; null: the one whose IPv4 subnet contains it, on each leader. */
  readonly floatingInterface: string | null;
}

/** An operator's say over a node's work, beside its membership record. Absent: not draining,
 *  weight 1. */
export interface NodeAdmin {
  /** A draining node keeps running what it has until each stream has moved (make-before-break)
   *  and gets nothing new. */
  readonly draining: boolean;
  /** Capacity multiplier for placement (2: counts as twice the machine). */
  readonly weight: number;
}

export interface ClusterState {
  readonly clusterId: string;
  readonly nodes: Readonly<Record<NodeId, NodeRecord>>;
  readonly joinTokens: Readonly<Record<string, JoinTokenRecord>>;
  readonly users: Readonly<Record<string, UserRecord>>;
  readonly apiTokens: Readonly<Record<string, ApiTokenRecord>>;
  readonly settings: ClusterSettings;
  // Channels (issue 4, docs/streams.md).
  readonly streams: Readonly<Record<string, StreamRecord>>;
  readonly services: Readonly<Record<string, ServiceRecord>>;
  readonly groups: Readonly<Record<string, GroupRecord>>;
  /** The cluster-wide policy: overrides of the built-in defaults (node/placement). */
  readonly policy: PolicyOverride;
  /** HLS settings of streams that belong to no service. */
  readonly hls: HlsSettings;
  readonly nodeAdmin: Readonly<Record<NodeId, NodeAdmin>>;
  readonly assignments: Readonly<Record<string, Assignment>>;
  /** The last epoch handed out (epochs are cluster-wide, so a number names one worker's run). */
  readonly lastEpoch: number;
  /** Viewer lines by username (issue 5). Absent from older snapshots: decoded as empty. */
  readonly lines: Readonly<Record<string, LineRecord>>;
  /** The newest audit entries, oldest first, in pages of at most auditPageSize (every page
   *  but the last full): appending copies one page, not the whole log, which every write through
   *  the API does (node/state/audit.ts; auditEntries() flattens). Absent from older snapshots. */
  readonly audit: readonly (readonly AuditEntry[])[];
  /** Dashboard sessions ended by a logout before they expire: session id -> when it would have
   *  expired (ms). Dropped once past it. Absent from older snapshots (and from snapshots while
   *  empty, so a node not yet upgraded still reads them). */
  readonly revokedSessions: Readonly<Record<string, number>>;
}

/** A command as the API or the leader builds it; Command adds the optional actor. */
export type BareCommand =
  | { readonly type: 'InitCluster'; readonly atMs: number; readonly clusterId: string; readonly node: NodeRecord; readonly admin: UserRecord; readonly adminToken: ApiTokenRecord }
  | { readonly type: 'CreateJoinToken'; readonly atMs: number; readonly token: JoinTokenRecord }
  /** Consumes one use of `tokenId` and adds the node, or changes nothing if the token is
   *  unknown, expired at `atMs`, used up, or its secret does not match `secretHash`. */
  | { readonly type: 'JoinNode'; readonly atMs: number; readonly tokenId: string; readonly secretHash: string; readonly node: NodeRecord }
  | { readonly type: 'UpdateNodeAddrs'; readonly atMs: number; readonly id: NodeId; readonly addrs: readonly string[]; readonly httpUrl: string }
  | { readonly type: 'SetNodeEnabled'; readonly atMs: number; readonly id: NodeId; readonly enabled: boolean }
  | { readonly type: 'RemoveNode'; readonly atMs: number; readonly id: NodeId }
  | { readonly type: 'UpdateSettings'; readonly atMs: number; readonly settings: Partial<ClusterSettings> }
  | { readonly type: 'SetNodeAdmin'; readonly atMs: number; readonly id: NodeId; readonly draining?: boolean; readonly weight?: number; readonly groups?: readonly string[] }
  | { readonly type: 'CreateStream'; readonly atMs: number; readonly stream: StreamRecord }
  | { readonly type: 'UpdateStream'; readonly atMs: number; readonly stream: StreamRecord }
  | { readonly type: 'DeleteStream'; readonly atMs: number; readonly id: string }
  | { readonly type: 'CreateService'; readonly atMs: number; readonly service: ServiceRecord }
  | { readonly type: 'UpdateService'; readonly atMs: number; readonly service: ServiceRecord }
  | { readonly type: 'DeleteService'; readonly atMs: number; readonly id: string }
  | { readonly type: 'PutGroup'; readonly atMs: number; readonly group: GroupRecord }
  | { readonly type: 'DeleteGroup'; readonly atMs: number; readonly name: string }
  /** Replaces the cluster-wide policy overrides and (when given) the default HLS settings. */
  | { readonly type: 'UpdatePolicy'; readonly atMs: number; readonly policy: PolicyOverride; readonly hls?: HlsSettings }
  // The leader's decisions (node/leader/streams-loop.ts), see docs/streams.md.
  /** A stream with no worker gets one: a new epoch starting at public number `base`. */
  | { readonly type: 'AssignStream'; readonly atMs: number; readonly streamId: string; readonly nodeId: NodeId; readonly base: number }
  /** Start (a node) or stop (null) the second worker: standby or move target, with a new epoch. */
  | { readonly type: 'SetNextWorker'; readonly atMs: number; readonly streamId: string; readonly nodeId: NodeId | null }
  | { readonly type: 'SealStream'; readonly atMs: number; readonly streamId: string; readonly epoch: number }
  /** The second worker (of `epoch`) takes over, its segment k public as `base + k - firstIndex`. */
  | { readonly type: 'SwitchStream'; readonly atMs: number; readonly streamId: string; readonly epoch: number; readonly base: number; readonly firstIndex: number }
  | { readonly type: 'UnassignStream'; readonly atMs: number; readonly streamId: string }
  // Viewer lines (node/state/lines-apply.ts). createdAtMs is the command's atMs on create and kept on update.
  | { readonly type: 'CreateLine'; readonly atMs: number; readonly line: LineRecord }
  | { readonly type: 'UpdateLine'; readonly atMs: number; readonly line: LineRecord }
  | { readonly type: 'DeleteLine'; readonly atMs: number; readonly username: string }
  // Accounts (node/state/accounts-apply.ts). Passwords arrive hashed (scrypt), token secrets as sha256.
  | { readonly type: 'CreateUser'; readonly atMs: number; readonly user: UserRecord }
  /** Changes what is given; lowering the role lowers the user's API tokens above it too. */
  | { readonly type: 'UpdateUser'; readonly atMs: number; readonly name: string; readonly passwordHash?: string; readonly role?: Role }
  /** Removes the user and revokes every API token of theirs. */
  | { readonly type: 'DeleteUser'; readonly atMs: number; readonly name: string }
  | { readonly type: 'CreateApiToken'; readonly atMs: number; readonly token: ApiTokenRecord }
  | { readonly type: 'DeleteApiToken'; readonly atMs: number; readonly id: string }
  /** A dashboard login attempt, for the audit log only. `role`: the user's, null when no such user. */
  | { readonly type: 'RecordLogin'; readonly atMs: number; readonly user: string; readonly role: Role | null; readonly ok: boolean; readonly from: string; readonly unrecorded: number }
  /** A logout: the session `sessionId` (its cookie's id) of `user` is refused on every node from
   *  now until `expiresAtMs`, when it would have expired anyway. Recorded in the audit log. */
  | { readonly type: 'RevokeSession'; readonly atMs: number; readonly sessionId: string; readonly user: string; readonly expiresAtMs: number };

/** What the Raft log carries. `actor` is set by the API (ClusterApi.propose) on every change an
 *  operator makes: apply() then checks the actor's role against the state and records the
 *  change in the audit log in the same step. The leader's own decisions carry none. */
export type Command = BareCommand & { readonly actor?: Actor };

/** What applying a command did, for whoever proposed it. */
export type ApplyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };
