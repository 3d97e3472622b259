// What the gateway needs to know of the cluster, and its usual source: the applied state.
// A narrow interface so the gateway can be tested (and benchmarked) without a cluster.
import { hlsOf } from '../state/index.ts';
import type { Assignment, ClusterState, HlsSettings, NodeId } from '../state/index.ts';

export interface GatewayCluster {
  /** Ids of the streams that have an applied assignment (a worker). */
  assignedStreamIds(): Iterable<string>;
  /** The stream's applied assignment; null when it has none. */
  assignment(streamId: string): Assignment | null;
  /** The HLS settings that apply to the stream (its service's, or the cluster's); null when
   *  the state has no such stream. */
  hlsSettings(streamId: string): HlsSettings | null;
  /** A member's HTTP base URL (NodeRecord.httpUrl); null when not a member. */
  httpUrl(nodeId: NodeId): string | null;
  /** The other members, whose gateways may hold a segment this one misses. */
  peerIds(): readonly NodeId[];
}

/** A GatewayCluster over the applied state, read afresh on every call (`state()` must be cheap:
 *  the state machine's current state object). */
export function clusterFromState(state: () => ClusterState, selfId: NodeId): GatewayCluster {
  const has = <T>(record: Readonly<Record<string, T>>, key: string): T | null => (Object.hasOwn(record, key) ? record[key]! : null);
  return {
    assignedStreamIds: () => Object.keys(state().assignments),
    assignment: (streamId) => has(state().assignments, streamId),
    hlsSettings: (streamId) => {
      const s = state();
      const stream = has(s.streams, streamId);
      return stream === null ? null : hlsOf(s, stream);
    },
    httpUrl: (nodeId) => has(state().nodes, nodeId)?.httpUrl ?? null,
    peerIds: () => Object.keys(state().nodes).filter((id) => id !== selfId).sort(),
  };
}
