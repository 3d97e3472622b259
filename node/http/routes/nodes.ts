// An operator's say over a node's work: PATCH /api/v1/nodes/:id (enabled, draining, weight,
// groups) and the shortcuts POST /api/v1/nodes/:id/enable | disable | drain. A disabled node stays
// a member but gets no work (its streams move at once); a draining one keeps what it runs until
// each stream has moved, make-before-break, and gets nothing new. Replicated writes; setting a
// value a node has already is accepted and changes nothing.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { defaultNodeAdmin, findNode, weightMax } from '../../state/index.ts';
import type { Command } from '../../state/index.ts';
import { requireApiToken } from '../auth.ts';
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
const NodeBody = Type.Object({
  id: Type.String(), name: Type.String(), enabled: Type.Boolean(), draining: Type.Boolean(), weight: Type.Number(), groups: Type.Array(Type.String()),
});

export const nodeRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const auth = requireApiToken(api);

  const change = async (id: string, want: { enabled?: boolean; draining?: boolean; weight?: number; groups?: readonly string[] }) => {
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
      const result = await api.propose(command);
      if (!result.ok) throw new CommandRefusedError(result.reason);
    }
    const state = api.state();
    const node = findNode(state, id);
    if (node === null) throw new ApiError(404, `node ${id} was removed meanwhile`);
    const admin = Object.hasOwn(state.nodeAdmin, id) ? state.nodeAdmin[id]! : defaultNodeAdmin;
    return { id: node.id, name: node.name, enabled: node.enabled, draining: admin.draining, weight: admin.weight, groups: [...node.groups] };
  };

  app.patch('/api/v1/nodes/:id', {
    onRequest: auth,
    schema: { params: Params, body: PatchBody, response: { 200: NodeBody, ...errorResponses } },
  }, async (request) => change(request.params.id, request.body));

  app.post('/api/v1/nodes/:id/:action', {
    onRequest: auth,
    schema: { params: ActionParams, response: { 200: NodeBody, ...errorResponses } },
  }, async (request) => {
    const { id, action } = request.params;
    if (action === 'enable') return change(id, { enabled: true, draining: false });
    if (action === 'disable') return change(id, { enabled: false });
    return change(id, { draining: true });
  });
};
