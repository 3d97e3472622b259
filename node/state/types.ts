// The replicated cluster state and the commands that change it. Commands are what the Raft
// log carries (JSON-encoded); apply() is pure and deterministic: everything time-dependent
// (expiry checks) uses the `atMs` the proposer stamped on the command, never a clock.
import type { NodeId } from '../../consensus/core/index.ts';

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

export type Role = 'admin';

export interface UserRecord {
  readonly name: string;
  /** scrypt, encoded as `scrypt$N$r$p$salt$hash` (base64). */
  readonly passwordHash: string;
  readonly role: Role;
}

export interface ApiTokenRecord {
  readonly id: string;
  /** sha256 hex of the token's secret. */
  readonly secretHash: string;
  readonly user: string;
  readonly role: Role;
  readonly createdAtMs: number;
}

export interface ClusterSettings {
  /** Voters the autopilot keeps: 3, or 5 when configured and there are enough nodes. */
  readonly votersTarget: 3 | 5;
  readonly suspectAfterS: number;
  readonly downAfterS: number;
  /** A voter down this long is replaced by a healthy learner. */
  readonly replaceDownVoterAfterS: number;
}

export interface ClusterState {
  readonly clusterId: string;
  readonly nodes: Readonly<Record<NodeId, NodeRecord>>;
  readonly joinTokens: Readonly<Record<string, JoinTokenRecord>>;
  readonly users: Readonly<Record<string, UserRecord>>;
  readonly apiTokens: Readonly<Record<string, ApiTokenRecord>>;
  readonly settings: ClusterSettings;
}

export type Command =
  | { readonly type: 'InitCluster'; readonly atMs: number; readonly clusterId: string; readonly node: NodeRecord; readonly admin: UserRecord; readonly adminToken: ApiTokenRecord }
  | { readonly type: 'CreateJoinToken'; readonly atMs: number; readonly token: JoinTokenRecord }
  /** Consumes one use of `tokenId` and adds the node, or changes nothing if the token is
   *  unknown, expired at `atMs`, used up, or its secret does not match `secretHash`. */
  | { readonly type: 'JoinNode'; readonly atMs: number; readonly tokenId: string; readonly secretHash: string; readonly node: NodeRecord }
  | { readonly type: 'UpdateNodeAddrs'; readonly atMs: number; readonly id: NodeId; readonly addrs: readonly string[]; readonly httpUrl: string }
  | { readonly type: 'SetNodeEnabled'; readonly atMs: number; readonly id: NodeId; readonly enabled: boolean }
  | { readonly type: 'RemoveNode'; readonly atMs: number; readonly id: NodeId }
  | { readonly type: 'UpdateSettings'; readonly atMs: number; readonly settings: Partial<ClusterSettings> };

/** What applying a command did, for whoever proposed it. */
export type ApplyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };
