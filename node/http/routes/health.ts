// GET /api/v1/health: no auth; what this node is in the cluster, from its own view. Always 200
// while the process answers (liveness).
// GET /api/v1/ready: no auth; 200 while this node can serve viewers live segments, 503 while it
// is fenced (cut off from a quorum, woken from a pause, or starting and not caught up yet): its
// playlists then stand still. Made for a load balancer's health check, so viewers move to a node
// that plays on instead of waiting out a partition.
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

const ReadyBody = Type.Object({
  ready: Type.Boolean(),
  nodeId: Type.String(),
  name: Type.String(),
  /** Why not, when not ready. */
  reason: Type.Optional(Type.String()),
});

export const notReadyReason = 'fenced: this node has not been in touch with a quorum of the cluster recently (a partition, a pause, or still starting); its playlists stand still';

export const healthRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.get('/api/v1/ready', { config: { public: true }, schema: { response: { 200: ReadyBody, 503: ReadyBody } } }, async (_request, reply) => {
    const base = { nodeId: api.nodeId, name: api.name };
    void reply.header('cache-control', 'no-store');
    if (api.fenced?.() !== true) return { ready: true, ...base };
    return reply.code(503).send({ ready: false, ...base, reason: notReadyReason });
  });
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
