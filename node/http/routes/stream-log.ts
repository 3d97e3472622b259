// GET /api/v1/streams/:id/log: the last lines ffmpeg wrote to stderr for a stream, from the
// worker that runs it (asked node to node when that is another node): what an operator reads
// first when a channel is failing. The worker answers GET /internal/v1/streams/:id/log.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { checkInternalAuth } from '../../hls/index.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const Params = Type.Object({ id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }) });
const LogBody = Type.Object({ stream: Type.String(), nodeId: Type.String(), epoch: Type.Integer(), lines: Type.Array(Type.String()) });

export const streamLogRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.get('/api/v1/streams/:id/log', {
    schema: { params: Params, response: { 200: LogBody, ...errorResponses } },
  }, async (request) => {
    const { id } = request.params;
    const state = api.state();
    if (!Object.hasOwn(state.streams, id)) throw new ApiError(404, `no stream ${id}: GET /api/v1/streams lists them`);
    const a = Object.hasOwn(state.assignments, id) ? state.assignments[id]! : null;
    if (a === null) throw new ApiError(409, `stream ${id} runs nowhere yet (unplaced): GET /api/v1/placement/explain?stream=${id} says why`);
    const lines = await api.streamLog(a.nodeId, id);
    if (lines === null) throw new ApiError(502, `the worker ${state.nodes[a.nodeId]?.name ?? a.nodeId} did not answer with the log of ${id}: is it up?`);
    return { stream: id, nodeId: a.nodeId, epoch: a.epoch, lines: [...lines] };
  });

  app.get('/internal/v1/streams/:id/log', { schema: { params: Params } }, async (request, reply) => {
    const auth = checkInternalAuth(request.headers.authorization, api.internalToken());
    if (!auth.ok) throw new ApiError(401, auth.message);
    return reply.send({ lines: api.localStreamLog(request.params.id) ?? [] });
  });
};
