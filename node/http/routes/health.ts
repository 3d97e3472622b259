// GET /api/v1/health: no auth; what this node is in the cluster, from its own view.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { buildInfo } from '../../version.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi, RaftView } from '../service.ts';

const HealthBody = Type.Object({
  ok: Type.Boolean(),
  nodeId: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('leader'), Type.Literal('follower'), Type.Literal('learner')]),
  leaderId: Type.Union([Type.String(), Type.Null()]),
  term: Type.Integer(),
  /** The build this node runs (node/version.ts): a rolling upgrade waits for the new one. */
  version: Type.String(),
  commit: Type.String(),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.get('/api/v1/health', { config: { public: true }, schema: { response: { 200: HealthBody, ...errorResponses } } }, async () => {
    const raft = api.raftStatus();
    const { version, commit } = buildInfo();
    return { ok: true, nodeId: api.nodeId, name: api.name, role: healthRole(raft, api.nodeId), leaderId: raft.leaderId, term: raft.term, version, commit };
  });
};

/** Candidates show as followers: the API speaks of what a node is, not of an election's steps. */
export function healthRole(raft: RaftView, nodeId: string): 'leader' | 'follower' | 'learner' {
  if (raft.role === 'leader') return 'leader';
  return raft.conf.learners.includes(nodeId) ? 'learner' : 'follower';
}
