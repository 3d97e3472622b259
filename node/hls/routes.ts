// The gateway's HTTP face, one fastify plugin (the composition root registers it):
//   GET /live/<stream>/index.m3u8      the public playlist, from memory
//   GET /live/<stream>/<n>.ts          a public segment, from the cache (or 302 in redirect mode)
//   GET /origin/v1/hls/<stream>/<epoch>/seg-<k>.ts
//                                      redirect mode's target: the worker serves its own file,
//                                      to viewers (no internal token; signed like /live)
//   GET /internal/v1/hls/...           node to node (internal-routes.ts)
// Viewer routes answer CORS (`*`) for web players on other origins; stream ids are checked by
// the schema before anything is looked up.
//
// Redirect mode: a segment of the active epoch is answered with a 302 to its worker's /origin
// URL (public number n = base + k, so the gateway knows k); older segments, whose worker may be
// gone, and any segment while the epoch is sealed, are served from the cache as in proxy mode.
import { join } from 'node:path';

import cors from '@fastify/cors';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';

import { errorResponses } from '../http/schemas.ts';
import type { HlsSettings } from '../state/index.ts';
import { internalHlsRoutes } from './internal-routes.ts';
import { renderPlaylist } from './playlist.ts';
import { EpochParam, NotJson, PublicSegmentParam, Redirect, SignedQuery, StreamParam } from './schemas.ts';
import { asBuffer, exposedHeaders, playlistHeaders, segmentHeaders, sendError, sendLocalFile, startingRetryAfterS } from './replies.ts';
import type { SegmentCache } from './segment-cache.ts';
import { checkViewerSignature } from './signing.ts';
import type { StreamTimeline } from './timeline.ts';

/** What the routes read: the applied state's view of a stream and the gateway's timelines. */
export interface HlsSource {
  /** The stream's HLS settings, and whether it has a worker; null when there is no such stream. */
  stream(streamId: string): { readonly hls: HlsSettings; readonly running: boolean } | null;
  /** The gateway's public timeline of the stream; null while it follows none. */
  timeline(streamId: string): TimelineReader | null;
  /** Redirect mode: the HTTP base URL of the worker that runs `epoch` now (unsealed); null
   *  when segments of that epoch must come from the cache. */
  originUrl(streamId: string, epoch: number): string | null;
}

export type TimelineReader = Pick<StreamTimeline<unknown>, 'version' | 'view' | 'lastPublished'>;

export interface HlsRoutesOptions {
  readonly source: HlsSource;
  readonly cache: SegmentCache;
  /** Where this node's workers write: <streamsRoot>/<stream>/<epoch>/ (supervisor's layout). */
  readonly streamsRoot: string;
  /** The cluster's internal bearer token (internal-auth.ts), read per request. */
  readonly internalToken: () => string;
  /** Wall clock for signature expiry. Default Date.now. */
  readonly nowMs?: () => number;
}

const viewerResponses = { 200: NotJson, 302: Redirect, ...errorResponses };
const corsOptions = { origin: '*', methods: ['GET', 'HEAD', 'OPTIONS'], exposedHeaders, maxAge: 86_400 };

export const hlsRoutes: FastifyPluginAsyncTypebox<HlsRoutesOptions> = async (app, options) => {
  await app.register(viewerRoutes, { ...options, prefix: '/live' });
  await app.register(originRoutes, { ...options, prefix: '/origin/v1/hls' });
  await app.register(internalHlsRoutes, { ...options, prefix: '/internal/v1/hls' });
};

const viewerRoutes: FastifyPluginAsyncTypebox<HlsRoutesOptions> = async (app, { source, cache, nowMs = Date.now }) => {
  await app.register(cors, corsOptions);
  // The unsigned playlist text of each timeline, rendered once per version.
  const rendered = new WeakMap<TimelineReader, { version: number; body: Buffer }>();

  app.get('/:stream/index.m3u8', {
    schema: { params: Type.Object({ stream: StreamParam }), querystring: SignedQuery, response: viewerResponses },
  }, async (request, reply) => {
    const { stream: id } = request.params;
    const stream = source.stream(id);
    if (stream === null) return sendError(reply, 404, `no stream ${id}: check the URL`);
    const query = viewerQuery(reply, stream.hls, id, request.query, nowMs());
    if (query === null) return reply;
    const timeline = source.timeline(id);
    if (timeline === null || timeline.lastPublished() === null) {
      if (!stream.running) return sendError(reply, 404, `stream ${id} is not running (disabled, or no node can take it)`);
      return sendError(reply.header('retry-after', String(startingRetryAfterS)), 503, `stream ${id} is starting: no segment yet, retry in a moment`);
    }
    if (query !== '') return reply.headers(playlistHeaders).send(renderPlaylist(timeline.view(), query));
    let cached = rendered.get(timeline);
    if (cached === undefined || cached.version !== timeline.version) {
      cached = { version: timeline.version, body: Buffer.from(renderPlaylist(timeline.view()), 'utf8') };
      rendered.set(timeline, cached);
    }
    return reply.headers(playlistHeaders).send(cached.body);
  });

  app.get('/:stream/:file', {
    schema: { params: Type.Object({ stream: StreamParam, file: PublicSegmentParam }), querystring: SignedQuery, response: viewerResponses },
  }, async (request, reply) => {
    const { stream: id, file } = request.params;
    const stream = source.stream(id);
    if (stream === null) return sendError(reply, 404, `no stream ${id}: check the URL`);
    const query = viewerQuery(reply, stream.hls, id, request.query, nowMs());
    if (query === null) return reply;
    const n = Number(file.slice(0, -3));
    const segment = cache.get(id, n);
    if (segment === undefined) return sendError(reply, 404, `segment ${n} of stream ${id} is not (or no longer) available: reload the playlist`);
    const origin = stream.hls.mode === 'redirect' ? source.originUrl(id, segment.epoch) : null;
    if (origin !== null) {
      const location = `${origin}/origin/v1/hls/${id}/${segment.epoch}/seg-${segment.k}.ts${query === '' ? '' : `?${query}`}`;
      return reply.code(302).headers({ location, 'cache-control': 'no-cache' }).send(undefined);
    }
    return reply.headers(segmentHeaders).send(asBuffer(segment.bytes));
  });
};

const originRoutes: FastifyPluginAsyncTypebox<HlsRoutesOptions> = async (app, { source, streamsRoot, nowMs = Date.now }) => {
  await app.register(cors, corsOptions);
  app.get('/:stream/:epoch/:file', {
    schema: {
      params: Type.Object({ stream: StreamParam, epoch: EpochParam, file: Type.String({ pattern: '^seg-\\d{1,15}\\.ts$' }) }),
      querystring: SignedQuery, response: viewerResponses,
    },
  }, async (request, reply) => {
    const { stream: id, epoch, file } = request.params;
    const stream = source.stream(id);
    if (stream === null) return sendError(reply, 404, `no stream ${id}: check the URL`);
    if (viewerQuery(reply, stream.hls, id, request.query, nowMs()) === null) return reply;
    // Every part was checked against its pattern: the path cannot leave streamsRoot.
    const path = join(streamsRoot, id, String(Number(epoch)), file);
    return sendLocalFile(reply, path, segmentHeaders, `${file} of stream ${id} epoch ${epoch} is not on this node (any more): reload the playlist`);
  });
};

/** The signing query to repeat on segment URIs ('' when the service does not sign); null after
 *  answering 403 (the reason first in the message: missing, expired or bad-signature). */
function viewerQuery(reply: FastifyReply, hls: HlsSettings, streamId: string, q: { exp?: string; sig?: string; vt?: string }, nowMs: number): string | null {
  if (hls.signingSecret === null) return '';
  const check = checkViewerSignature(hls.signingSecret, streamId, q.exp, q.sig, nowMs, q.vt);
  if (check.ok) return check.query;
  sendError(reply, 403, `${check.problem}: ${check.message}`);
  return null;
}
