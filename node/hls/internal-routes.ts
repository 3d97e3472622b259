// Node-to-node HLS routes, under /internal/v1/hls (members only: the cluster's internal token):
//   GET <stream>/<epoch>/index.m3u8 | seg-<k>.ts  a worker's own files, for the gateways to copy
//   GET <stream>/public/<n>.ts                     a gateway's cached public segment, for a peer
//                                                  filling a hole (which epoch and index it is
//                                                  travels in headers: peer-segment.ts)
// File names are checked against fixed patterns and paths built only from checked parts.
import { join } from 'node:path';

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { errorResponses } from '../http/schemas.ts';
import { checkInternalAuth } from './internal-auth.ts';
import { segmentHeaders as factHeaders } from './peer-segment.ts';
import { asBuffer, internalHeaders, sendError, sendLocalFile } from './replies.ts';
import type { HlsRoutesOptions } from './routes.ts';
import { EpochParam, NotJson, PublicSegmentParam, StreamParam } from './schemas.ts';

export const internalHlsRoutes: FastifyPluginAsyncTypebox<HlsRoutesOptions> = async (app, { cache, streamsRoot, internalToken }) => {
  app.addHook('onRequest', async (request, reply) => {
    const auth = checkInternalAuth(request.headers.authorization, internalToken());
    if (!auth.ok) return sendError(reply, 401, auth.message);
  });

  app.get('/:stream/public/:file', {
    schema: { params: Type.Object({ stream: StreamParam, file: PublicSegmentParam }), response: { 200: NotJson, ...errorResponses } },
  }, async (request, reply) => {
    const { stream: id, file } = request.params;
    const n = Number(file.slice(0, -3));
    const segment = cache.get(id, n);
    if (segment === undefined) return sendError(reply, 404, `this gateway has no public segment ${n} of stream ${id}`);
    return reply.headers({ 'content-type': 'video/mp2t', ...internalHeaders, ...factHeaders(segment) }).send(asBuffer(segment.bytes));
  });

  app.get('/:stream/:epoch/:file', {
    schema: {
      params: Type.Object({
        stream: StreamParam, epoch: EpochParam, file: Type.String({ pattern: '^(?:index\\.m3u8|seg-\\d{1,15}\\.ts)$' }),
      }),
      response: { 200: NotJson, ...errorResponses },
    },
  }, async (request, reply) => {
    const { stream: id, epoch, file } = request.params;
    const playlist = file === 'index.m3u8';
    const headers = { 'content-type': playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t', ...internalHeaders };
    const path = join(streamsRoot, id, String(Number(epoch)), file);
    return sendLocalFile(reply, path, headers, `${file} of stream ${id} epoch ${epoch} is not on this node (not started, rolled off, or another node runs it)`);
  });
};
