// Troubleshooting from one place: POST /api/v1/probe reads a few seconds of a source on a chosen
// node (its ffmpeg, its network: where the stream would run) and says what came in or why not;
// GET /api/v1/nodes/:id/log is the tail of a node's own log; GET /api/v1/nodes/:id/history its
// load over the last hour. Other nodes are asked node to node
// (/internal, with the internal token).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { checkInternalAuth } from '../../hls/index.ts';
import { ApiError } from '../errors.ts';
import { sourceRefusal } from '../sources.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi, ProbeAnswer } from '../service.ts';

const ProbeBody = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  userAgent: Type.Union([Type.Null(), Type.String({ maxLength: 256 })], { default: null }),
  referrer: Type.Union([Type.Null(), Type.String({ maxLength: 256 })], { default: null }),
  nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
}, { additionalProperties: false });
const ProbeReply = Type.Object({ nodeId: Type.String(), ok: Type.Boolean(), streams: Type.Array(Type.String()), lines: Type.Array(Type.String()), ms: Type.Number() });
const NodeParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const LogReply = Type.Object({ nodeId: Type.String(), lines: Type.Array(Type.String()) });
const HistoryReply = Type.Object({ nodeId: Type.String(), samples: Type.Array(Type.Object({
  atMs: Type.Number(), cpuPct: Type.Number(), memPct: Type.Number(), netRxBytesPerS: Type.Number(), netTxBytesPerS: Type.Number(), streams: Type.Number(),
})) });

export const troubleshootRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const internal = async (header: string | undefined) => {
    const check = checkInternalAuth(header, api.internalToken());
    if (!check.ok) throw new ApiError(401, check.message);
  };

  // Probing makes a worker open a source: the operator's tool, not a read-only account's.
  app.post('/api/v1/probe', { config: { role: 'operator' }, schema: { body: ProbeBody, response: { 200: ProbeReply, ...errorResponses } } }, async (request) => {
    const { url, userAgent, referrer } = request.body;
    const problem = sourceRefusal({ url, priority: 0, userAgent, referrer });
    if (problem !== null) throw new ApiError(400, problem);
    const nodeId = request.body.nodeId ?? api.nodeId;
    if (!Object.hasOwn(api.state().nodes, nodeId)) throw new ApiError(404, `no node ${nodeId} in this cluster`);
    const answer: ProbeAnswer | null = await api.probe(nodeId, { url, priority: 0, userAgent, referrer });
    if (answer === null) throw new ApiError(502, `node ${api.state().nodes[nodeId]?.name ?? nodeId} did not answer the probe: is it up?`);
    return { nodeId, ...answer, streams: [...answer.streams], lines: [...answer.lines] };
  });

  app.get('/api/v1/nodes/:id/log', { schema: { params: NodeParams, response: { 200: LogReply, ...errorResponses } } }, async (request) => {
    const { id } = request.params;
    if (!Object.hasOwn(api.state().nodes, id)) throw new ApiError(404, `no node ${id} in this cluster`);
    const lines = await api.nodeLog(id);
    if (lines === null) throw new ApiError(502, `node ${api.state().nodes[id]?.name ?? id} did not answer: is it up?`);
    return { nodeId: id, lines: [...lines] };
  });

  app.get('/api/v1/nodes/:id/history', { schema: { params: NodeParams, response: { 200: HistoryReply, ...errorResponses } } }, async (request) => {
    const { id } = request.params;
    if (!Object.hasOwn(api.state().nodes, id)) throw new ApiError(404, `no node ${id} in this cluster`);
    return { nodeId: id, samples: [...api.loadHistory(id)] };
  });

  app.post('/internal/v1/probe', { schema: { body: ProbeBody } }, async (request) => {
    await internal(request.headers.authorization);
    const { url, userAgent, referrer } = request.body;
    const problem = sourceRefusal({ url, priority: 0, userAgent, referrer });
    if (problem !== null) throw new ApiError(400, problem);
    return api.probe(api.nodeId, { url, priority: 0, userAgent, referrer });
  });

  app.get('/internal/v1/node/log', async (request) => {
    await internal(request.headers.authorization);
    return { lines: await api.nodeLog(api.nodeId) };
  });
};
