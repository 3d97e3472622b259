// Builders for state tests: a small initialized cluster and commands with sensible defaults.
import { apply, emptyState } from '../../node/state/index.ts';
import type { ApiTokenRecord, ClusterState, Command, JoinTokenRecord, NodeRecord, UserRecord } from '../../node/state/index.ts';

export const t0 = Date.UTC(2025, 0, 1);
export const hashA = 'a'.repeat(64);
export const hashB = 'b'.repeat(64);

export function nodeRecord(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return { id, name: `n-${id}`, groups: [], addrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`], httpUrl: 'http://127.0.0.1:8080', enabled: true, joinedAtMs: 0, ...over };
}

export const admin: UserRecord = { name: 'admin', passwordHash: 'scrypt$32768$8$1$c2FsdA$aGFzaA', role: 'admin' };
export const adminToken: ApiTokenRecord = { id: '0123456789abcdef', secretHash: hashA, user: 'admin', role: 'admin', createdAtMs: t0 };

export function initCommand(over: Partial<Extract<Command, { type: 'InitCluster' }>> = {}): Command {
  return { type: 'InitCluster', atMs: t0, clusterId: 'c1', node: nodeRecord('p1'), admin, adminToken, ...over };
}

export function tokenRecord(id: string, over: Partial<JoinTokenRecord> = {}): JoinTokenRecord {
  return { id, secretHash: hashB, expiresAtMs: t0 + 3_600_000, usesLeft: 1, groups: [], createdAtMs: t0, createdBy: 'admin', ...over };
}

export function joinCommand(id: string, tokenId: string, over: Partial<Extract<Command, { type: 'JoinNode' }>> = {}): Command {
  return { type: 'JoinNode', atMs: t0 + 1000, tokenId, secretHash: hashB, node: nodeRecord(id), ...over };
}

/** Applies commands in order, asserting each was accepted. */
export function build(...commands: Command[]): ClusterState {
  let state = emptyState();
  for (const command of commands) {
    const applied = apply(state, command);
    if (!applied.result.ok) throw new Error(`fixture command ${command.type} refused: ${applied.result.reason}`);
    state = applied.state;
  }
  return state;
}

/** An initialized cluster with one member (p1) and join token t1 (1 use, valid for an hour). */
export function clusterWithToken(token: JoinTokenRecord = tokenRecord('t1')): ClusterState {
  return build(initCommand(), { type: 'CreateJoinToken', atMs: t0, token });
}
