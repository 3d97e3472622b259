// /api/v1/groups: node groups with a priority (higher is preferred when a policy names none).
// Nodes are put in groups by their join token or PATCH /api/v1/nodes/:id {"groups": [...]}.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import type { Actor } from '../../state/index.ts';
import { actorOf } from '../auth.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses, NameSchema } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const Params = Type.Object({ name: NameSchema });
const GroupBody = Type.Object({ name: NameSchema, priority: Type.Integer({ default: 0 }) }, { additionalProperties: false });
const PutBody = Type.Object({ priority: Type.Integer() }, { additionalProperties: false });
const GroupView = Type.Object({ name: Type.String(), priority: Type.Integer(), nodes: Type.Array(Type.String()) });

export const groupRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const view = (name: string, priority: number) => ({
    name, priority, nodes: Object.values(api.state().nodes).filter((n) => n.groups.includes(name)).map((n) => n.id).sort(),
  });
  const put = async (actor: Actor, name: string, priority: number) => {
    const result = await api.propose({ type: 'PutGroup', atMs: api.nowMs(), group: { name, priority } }, actor);
    if (!result.ok) throw new CommandRefusedError(result.reason);
    return view(name, priority);
  };
  app.get('/api/v1/groups', { schema: { response: { 200: Type.Array(GroupView), ...errorResponses } } }, async () => {
    await api.read();
    return Object.values(api.state().groups).sort((a, b) => a.name.localeCompare(b.name)).map((g) => view(g.name, g.priority));
  });
  app.post('/api/v1/groups', { schema: { body: GroupBody, response: { 201: GroupView, ...errorResponses } } }, async (request, reply) => {
    if (Object.hasOwn(api.state().groups, request.body.name)) throw new ApiError(409, `group ${request.body.name} exists already: change it with PUT /api/v1/groups/${request.body.name}`);
    return reply.code(201).send(await put(actorOf(request), request.body.name, request.body.priority));
  });
  app.put('/api/v1/groups/:name', { schema: { params: Params, body: PutBody, response: { 200: GroupView, ...errorResponses } } }, async (request) => {
    return put(actorOf(request), request.params.name, request.body.priority);
  });
  app.delete('/api/v1/groups/:name', { schema: { params: Params, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const result = await api.propose({ type: 'DeleteGroup', atMs: api.nowMs(), name: request.params.name }, actorOf(request));
    if (!result.ok) throw new ApiError(404, result.reason);
    return reply.code(204).send(null);
  });
};
