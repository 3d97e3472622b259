// GET /api/v1/cluster: the whole cluster at a glance, linearizable (read-index first), so a
// change acknowledged anywhere shows here, on any node.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Static } from 'typebox';

import { findNode, nodesSorted } from '../../state/index.ts';
import { buildInfo } from '../../version.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const NodeView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('voter'), Type.Literal('learner')]),
  state: Type.Union([Type.Literal('alive'), Type.Literal('suspect'), Type.Literal('down')]),
  enabled: Type.Boolean(),
  draining: Type.Boolean(),
  weight: Type.Number(),
  groups: Type.Array(Type.String()),
  cpuPct: Type.Number(),
  memPct: Type.Number(),
  streams: Type.Integer(),
  httpUrl: Type.String(),
  /** The build the node runs, as its telemetry says (this node's own: its build); null until a
   *  report with it arrived (a node of an older version sends none). */
  version: Type.Union([Type.String(), Type.Null()]),
  commit: Type.Union([Type.String(), Type.Null()]),
});

const ClusterBody = Type.Object({
  clusterId: Type.String(),
  term: Type.Integer(),
  leader: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  nodes: Type.Array(NodeView),
  /** The leader's floating address (docs/floating-address.md); all null when none is set. */
  floatingAddress: Type.Optional(Type.Object({
    address: Type.Union([Type.String(), Type.Null()]),
    holder: Type.Union([Type.String(), Type.Null()]),
    interface: Type.Union([Type.String(), Type.Null()]),
    problem: Type.Union([Type.String(), Type.Null()]),
  })),
});

export const clusterRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.get('/api/v1/cluster', {
    schema: { response: { 200: ClusterBody, ...errorResponses } },
  }, async () => {
    await api.read();
    const floatingAddress = await api.floatingAddress?.() ?? null;
    return { ...clusterView(api), ...(floatingAddress === null ? {} : { floatingAddress }) };
  });
};

/** The cluster as this node has applied it and as gossip shows its members (also what the
 *  dashboard's live events carry). */
export function clusterView(api: ClusterApi): Static<typeof ClusterBody> {
    const state = api.state();
    const raft = api.raftStatus();
    const voters = new Set(raft.conf.voters);
    const leader = raft.leaderId === null ? null : { id: raft.leaderId, name: findNode(state, raft.leaderId)?.name ?? raft.leaderId };
    const nodes = nodesSorted(state).map((node) => {
      const seen = api.membership(node.id);
      const build = node.id === api.nodeId ? buildInfo() : api.nodeBuild?.(node.id) ?? null;
      return {
        id: node.id,
        name: node.name,
        role: voters.has(node.id) ? 'voter' as const : 'learner' as const,
        state: seen?.state ?? 'down' as const,
        enabled: node.enabled,
        draining: state.nodeAdmin[node.id]?.draining ?? false,
        weight: state.nodeAdmin[node.id]?.weight ?? 1,
        groups: [...node.groups],
        cpuPct: seen?.cpuPct ?? 0,
        memPct: seen?.memPct ?? 0,
        streams: seen?.streams ?? 0,
        httpUrl: node.httpUrl,
        version: build?.version ?? null,
        commit: build?.commit ?? null,
      };
    });
    return { clusterId: state.clusterId, term: raft.term, leader, nodes };
}
