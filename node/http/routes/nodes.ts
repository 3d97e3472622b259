// PATCH /api/v1/nodes/:id: an operator enables or disables a node (a disabled node stays a
// member but gets no work). A replicated write (api.propose reaches the leader); setting the value it already
// has is accepted and changes nothing.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { findNode } from '../../state/index.ts';
import { requireApiToken } from '../auth.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const Body = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });
const NodeBody = Type.Object({ id: Type.String(), name: Type.String(), enabled: Type.Boolean() });

export const nodeRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.patch('/api/v1/nodes/:id', {
    onRequest: requireApiToken(api),
    schema: { params: Params, body: Body, response: { 200: NodeBody, ...errorResponses } },
  }, async (request) => {
    const { id } = request.params;
    if (findNode(api.state(), id) === null) throw new ApiError(404, `no node ${id} in this cluster: 'ottmesh status' lists the members`);
    const result = await api.propose({ type: 'SetNodeEnabled', atMs: api.nowMs(), id, enabled: request.body.enabled });
    if (!result.ok) throw new CommandRefusedError(result.reason);
    const node = findNode(api.state(), id);
    if (node === null) throw new ApiError(404, `node ${id} was removed meanwhile`);
    return { id: node.id, name: node.name, enabled: node.enabled };
  });
};
