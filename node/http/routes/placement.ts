// GET /api/v1/placement/explain?stream=ID: every node, feasible or the reason not, and its score
// for that stream. POST /api/v1/placement/plan: a dry run: what a policy or node change would
// move, without changing anything. Both run the leader's placement on this node's view.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { placementInput } from '../../leader/placement-view.ts';
import { currentAssignments, diff, explain, place, policyOverrideProblem } from '../../placement/index.ts';
import { defaultNodeAdmin } from '../../state/index.ts';
import type { ClusterState, PolicyOverride } from '../../state/index.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';
import { PolicyOverrideBody } from './policy.ts';

/** Placement is deterministic for a seed; the API uses one seed so answers repeat. */
const apiSeed = 1;

const ExplainQuery = Type.Object({ stream: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }) }, { additionalProperties: false });
const NodeVerdict = Type.Object({
  nodeId: Type.String(), name: Type.String(), feasible: Type.Boolean(),
  reason: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  score: Type.Union([Type.Number(), Type.Null()]),
});
const ExplainBody = Type.Object({
  stream: Type.String(), nodeId: Type.Union([Type.String(), Type.Null()]), standbyNodeId: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(), nodes: Type.Array(NodeVerdict),
});
const NodeChange = Type.Object({ enabled: Type.Boolean(), draining: Type.Boolean() }, { additionalProperties: false });
const PlanRequest = Type.Object({
  policy: Type.Optional(PolicyOverrideBody),
  nodes: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.Partial(NodeChange, { additionalProperties: false }))),
}, { additionalProperties: false });
const MoveBody = Type.Object({ streamId: Type.String(), kind: Type.String(), from: Type.Union([Type.String(), Type.Null()]), to: Type.Union([Type.String(), Type.Null()]), why: Type.String() });
const PlanBody = Type.Object({ moves: Type.Array(MoveBody), unplaced: Type.Integer() });

export const placementRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {

  app.get('/api/v1/placement/explain', { schema: { querystring: ExplainQuery, response: { 200: ExplainBody, ...errorResponses } } }, async (request) => {
    await api.read();
    const state = api.state();
    const id = request.query.stream;
    if (!Object.hasOwn(state.streams, id)) throw new ApiError(404, `no stream ${id}: GET /api/v1/streams lists them`);
    if (!state.streams[id]!.enabled) throw new ApiError(409, `stream ${id} is disabled: placement does not consider it`);
    const result = explain(placementInput(state, (id) => api.memberFigures(id)), id, apiSeed);
    if (result === null) throw new ApiError(404, `no stream ${id}`);
    return {
      stream: id, nodeId: result.nodeId, standbyNodeId: result.standbyNodeId, status: result.status,
      nodes: result.nodes.map((n) => ({
        nodeId: n.nodeId, name: state.nodes[n.nodeId]?.name ?? n.nodeId, feasible: n.feasible,
        // A member that has not reported its host yet scores NaN (no memory figure): no score,
        // rather than a 500 from serializing it.
        reason: n.reason === undefined ? null : { code: n.reason.code, message: n.reason.message }, score: Number.isFinite(n.score) ? n.score! : null,
      })),
    };
  });

  // A dry run changes nothing, but it is the operator's tool: read-only accounts only look.
  app.post('/api/v1/placement/plan', { config: { role: 'operator' }, schema: { body: PlanRequest, response: { 200: PlanBody, ...errorResponses } } }, async (request) => {
    await api.read();
    const state = api.state();
    const policy = request.body.policy as PolicyOverride | undefined;
    const problem = policy === undefined ? null : policyOverrideProblem(policy);
    if (problem !== null) throw new ApiError(400, problem);
    let what: ClusterState = policy === undefined ? state : { ...state, policy };
    for (const [id, change] of Object.entries(request.body.nodes ?? {})) {
      const node = Object.hasOwn(what.nodes, id) ? what.nodes[id]! : null;
      if (node === null) throw new ApiError(404, `no node ${id} in this cluster`);
      const admin = Object.hasOwn(what.nodeAdmin, id) ? what.nodeAdmin[id]! : defaultNodeAdmin;
      what = {
        ...what,
        nodes: { ...what.nodes, [id]: { ...node, enabled: change.enabled ?? node.enabled } },
        nodeAdmin: { ...what.nodeAdmin, [id]: { ...admin, draining: change.draining ?? admin.draining } },
      };
    }
    const now = placementInput(state, (id) => api.memberFigures(id));
    const plan = place(placementInput(what, (id) => api.memberFigures(id)), apiSeed);
    return { moves: diff(currentAssignments(now), plan), unplaced: plan.unplaced };
  });
};
