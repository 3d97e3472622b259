// An operator's say over a node's work: PATCH /api/v1/nodes/:id (enabled, draining, weight,
// groups) and the shortcuts POST /api/v1/nodes/:id/enable | disable | drain. A disabled node stays
// a member but gets no work (its streams move at once); a draining one keeps what it runs until
// each stream has moved, make-before-break, and gets nothing new. Replicated writes; setting a
// value a node has already is accepted and changes nothing.
// DELETE /api/v1/nodes/:id (admin) removes a member: RemoveNode takes it out of the state, so every
// node's connection gating cuts it off, the leader's autopilot takes it out of the Raft
// configuration (and promotes a learner if the voters fell below the target), and the leader
// places its streams elsewhere. Refused when it leads, or when the voters left alive could not
// make a quorum (node/leader/autopilot.ts removalProblem).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { removalProblem } from '../../leader/autopilot.ts';
import { defaultNodeAdmin, findNode, weightMax } from '../../state/index.ts';
import type { Actor, Command } from '../../state/index.ts';
import { actorOf } from '../auth.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses, NameSchema } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const ActionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), action: Type.Union([Type.Literal('enable'), Type.Literal('disable'), Type.Literal('drain')]) });
const Body = Type.Object({
  enabled: Type.Boolean(),
  draining: Type.Boolean(),
  weight: Type.Number({ exclusiveMinimum: 0, maximum: weightMax }),
  groups: Type.Array(NameSchema, { maxItems: 32, uniqueItems: true }),
}, { additionalProperties: false });
const PatchBody = Type.Partial(Body, { additionalProperties: false, minProperties: 1 });
const Removed = Type.Object({ removed: Type.String() });
const NodeBody = Type.Object({
  id: Type.String(), name: Type.String(), enabled: Type.Boolean(), draining: Type.Boolean(), weight: Type.Number(), groups: Type.Array(Type.String()),
});

export const nodeRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {

  const change = async (actor: Actor, id: string, want: { enabled?: boolean; draining?: boolean; weight?: number; groups?: readonly string[] }) => {
    if (findNode(api.state(), id) === null) throw new ApiError(404, `no node ${id} in this cluster: 'ottmesh status' lists the members`);
    const atMs = api.nowMs();
    const commands: Command[] = [];
    if (want.enabled !== undefined) commands.push({ type: 'SetNodeEnabled', atMs, id, enabled: want.enabled });
    if (want.draining !== undefined || want.weight !== undefined || want.groups !== undefined) {
      commands.push({
        type: 'SetNodeAdmin', atMs, id,
        ...(want.draining === undefined ? {} : { draining: want.draining }),
        ...(want.weight === undefined ? {} : { weight: want.weight }),
        ...(want.groups === undefined ? {} : { groups: want.groups }),
      });
    }
    for (const command of commands) {
      const result = await api.propose(command, actor);
      if (!result.ok) throw new CommandRefusedError(result.reason);
    }
    const state = api.state();
    const node = findNode(state, id);
    if (node === null) throw new ApiError(404, `node ${id} was removed meanwhile`);
    const admin = Object.hasOwn(state.nodeAdmin, id) ? state.nodeAdmin[id]! : defaultNodeAdmin;
    return { id: node.id, name: node.name, enabled: node.enabled, draining: admin.draining, weight: admin.weight, groups: [...node.groups] };
  };

  app.patch('/api/v1/nodes/:id', {
    schema: { params: Params, body: PatchBody, response: { 200: NodeBody, ...errorResponses } },
  }, async (request) => change(actorOf(request), request.params.id, request.body));

  app.post('/api/v1/nodes/:id/:action', {
    schema: { params: ActionParams, response: { 200: NodeBody, ...errorResponses } },
  }, async (request) => {
    const { id, action } = request.params;
    const actor = actorOf(request);
    if (action === 'enable') return change(actor, id, { enabled: true, draining: false });
    if (action === 'disable') return change(actor, id, { enabled: false });
    return change(actor, id, { draining: true });
  });

  app.delete('/api/v1/nodes/:id', {
    config: { role: 'admin' },
    schema: { params: Params, response: { 202: Removed, ...errorResponses } },
  }, async (request, reply) => {
    const { id } = request.params;
    await api.read();
    const state = api.state();
    if (findNode(state, id) === null) throw new ApiError(404, `no node ${id} in this cluster: 'ottmesh status' lists the members`);
    const raft = api.raftStatus();
    if (raft.leaderId === null) throw new ApiError(503, 'no leader is elected right now: retry in a few seconds', 1);
    const nameOf = (nodeId: string) => findNode(state, nodeId)?.name ?? nodeId;
    const health = (nodeId: string) => (nodeId === api.nodeId ? 'alive' : api.membership(nodeId)?.state ?? 'down');
    const problem = removalProblem({ node: id, leaderId: raft.leaderId, conf: raft.conf, health, nameOf });
    if (problem !== null) throw new ApiError(409, problem);
    // It would be cut off before it heard that its own write committed.
    if (id === api.nodeId) throw new ApiError(409, `this request reached ${api.name}, the node to be removed: send it to another node of the cluster`);
    const result = await api.propose({ type: 'RemoveNode', atMs: api.nowMs(), id }, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
    return reply.code(202).send({ removed: id });
  });
};
