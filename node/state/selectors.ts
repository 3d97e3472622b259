// Read-only views of the cluster state for the API, gating, autopilot and the CLI. Pure; every
// function returns data the caller may keep (the state is immutable).
import { own } from './state.ts';
import type { HlsSettings, ServiceRecord, StreamRecord } from './stream-types.ts';
import type { ApiTokenRecord, ClusterState, JoinTokenRecord, NodeId, NodeRecord } from './types.ts';

/** Members sorted by name, then id: the order tables and the API show. */
export function nodesSorted(state: ClusterState): NodeRecord[] {
  return Object.values(state.nodes).sort((a, b) => compare(a.name, b.name) || compare(a.id, b.id));
}

/** Member ids in a stable (sorted) order. */
export function memberIds(state: ClusterState): NodeId[] {
  return Object.keys(state.nodes).sort(compare);
}

export function isMember(state: ClusterState, id: NodeId): boolean {
  return own(state.nodes, id) !== undefined;
}

export function findNode(state: ClusterState, id: NodeId): NodeRecord | null {
  return own(state.nodes, id) ?? null;
}

export function findNodeByName(state: ClusterState, name: string): NodeRecord | null {
  return Object.values(state.nodes).find((node) => node.name === name) ?? null;
}

/** The API token with this id (the `<id>` in `otm_<id>_<secret>`); the caller still compares
 *  the secret's hash, in constant time, before trusting it. */
export function findApiToken(state: ClusterState, id: string): ApiTokenRecord | null {
  return own(state.apiTokens, id) ?? null;
}

export function findJoinToken(state: ClusterState, id: string): JoinTokenRecord | null {
  return own(state.joinTokens, id) ?? null;
}

/** Join tokens a node could still join with at `atMs`, newest first. */
export function usableJoinTokens(state: ClusterState, atMs: number): JoinTokenRecord[] {
  return Object.values(state.joinTokens)
    .filter((token) => token.usesLeft > 0 && atMs < token.expiresAtMs)
    .sort((a, b) => b.createdAtMs - a.createdAtMs || compare(a.id, b.id));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The service a stream belongs to, or null (none, or not in the state). */
export function serviceOf(state: ClusterState, stream: StreamRecord): ServiceRecord | null {
  return stream.serviceId === null ? null : own(state.services, stream.serviceId) ?? null;
}

/** The HLS settings that apply to a stream: its service's, or the cluster's. */
export function hlsOf(state: ClusterState, stream: StreamRecord): HlsSettings {
  return serviceOf(state, stream)?.hls ?? state.hls;
}
