// Operator exports (docs/iptv.md), authenticated like the rest of /api/v1 (API token or the
// dashboard session; read-only is enough):
//   GET /api/v1/playlist.m3u[?service=ID][&ttlS=N]  the enabled streams' stable HLS URLs, with
//       names, tvg-id, logos and groups, for embedding elsewhere (no line credentials; a
//       service that signs viewer URLs gets URLs signed for ttlS seconds)
//   GET /api/v1/epg.xml[?service=ID]                the merged XMLTV guide
//   GET /api/v1/epg/sources                         each guide URL: last success, last error, counts
// Registered by the composition root with the node's guide (EpgRefresher).
import { redactedUrl } from '../../auth/index.ts';
import { principalOf } from '../auth.ts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { signedViewerUrl } from '../../hls/signing.ts';
import type { EpgSourceStatus } from '../../epg/refresher.ts';
import { Guide } from '../../iptv/epg.ts';
import { attribute, liveCategories, liveStreams } from '../../iptv/xtream.ts';
import { hlsOf, isoFromMs } from '../../state/index.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

/** What the routes read of the EPG (EpgRefresher fits). */
export interface EpgView {
  guide(): Guide;
  sources(): readonly EpgSourceStatus[];
}

export interface PlaylistRoutesOptions {
  readonly api: Pick<ClusterApi, 'state' | 'read' | 'nowMs'>;
  /** Absent: the guide is empty and no source is listed. */
  readonly epg?: EpgView;
}

/** Signed URLs in the export are valid this long unless ttlS says otherwise. */
export const exportTtlSDefault = 86_400;
export const exportTtlSMax = 365 * 86_400;

const ServiceQuery = Type.Object({
  service: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'only this service\'s streams' })),
}, { additionalProperties: false });
const PlaylistQuery = Type.Object({
  ...ServiceQuery.properties,
  ttlS: Type.Integer({ minimum: 60, maximum: exportTtlSMax, default: exportTtlSDefault, description: 'validity of signed URLs (services with a signing secret)' }),
}, { additionalProperties: false });
const Text = Type.String({ description: 'text' });
const SourceView = Type.Object({
  url: Type.String(), streams: Type.Integer(), matched: Type.Integer(), programmes: Type.Integer(),
  lastSuccessAt: Type.Union([Type.String(), Type.Null()]), lastAttemptAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]), fetching: Type.Boolean(),
});

export const playlistRoutes: FastifyPluginAsyncTypebox<PlaylistRoutesOptions> = async (app, { api, epg }) => {
  const guide = (): Guide => epg?.guide() ?? Guide.empty;
  const knownService = (service: string | undefined): void => {
    if (service !== undefined && !Object.hasOwn(api.state().services, service)) throw new ApiError(404, `no service ${service}: GET /api/v1/services lists them`);
  };

  // Operators: for services that sign, this signs viewer URLs (up to a year), which read-only
  // accounts must not be able to hand out.
  app.get('/api/v1/playlist.m3u', {
    config: { role: 'operator' },
    schema: { description: 'The enabled streams\' stable HLS URLs as an M3U playlist (no line credentials).', querystring: PlaylistQuery, response: { 200: Text, ...errorResponses } },
  }, async (request, reply) => {
    await api.read();
    const { service, ttlS } = request.query;
    knownService(service);
    const state = api.state();
    const baseUrl = `${request.protocol}://${request.host}`;
    const groups = new Map(liveCategories(state).map((c) => [c.category_id, c.category_name]));
    const g = guide();
    const lines = ['#EXTM3U'];
    for (const item of liveStreams(state, undefined, (id) => g.logo(id))) {
      const stream = state.streams[item.epg_channel_id]!;
      if (service !== undefined && stream.serviceId !== service) continue;
      const secret = hlsOf(state, stream).signingSecret;
      const url = secret === null ? `${baseUrl}/live/${stream.id}/index.m3u8` : signedViewerUrl(baseUrl, secret, stream.id, ttlS, api.nowMs());
      lines.push(
        `#EXTINF:-1 tvg-id="${attribute(stream.id)}" tvg-name="${attribute(stream.name)}" tvg-logo="${attribute(item.stream_icon)}" group-title="${attribute(groups.get(item.category_id) ?? '')}",${stream.name.replace(/[\r\n]/g, ' ')}`,
        url,
      );
    }
    return reply.headers({ 'content-type': 'audio/x-mpegurl; charset=utf-8', 'content-disposition': 'attachment; filename="ottmesh.m3u"', 'cache-control': 'no-store' }).send(`${lines.join('\n')}\n`);
  });

  app.get('/api/v1/epg.xml', {
    schema: { description: 'The merged XMLTV guide of the enabled streams (channel ids are stream ids).', querystring: ServiceQuery, response: { 200: Text, ...errorResponses } },
  }, async (request, reply) => {
    await api.read();
    knownService(request.query.service);
    return reply.headers({ 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'no-store' }).send(guide().xmltv(request.query.service));
  });

  app.get('/api/v1/epg/sources', {
    schema: { description: 'Each XMLTV guide URL the services list, with its last fetch.', response: { 200: Type.Array(SourceView), ...errorResponses } },
  }, async (request) => (epg?.sources() ?? []).map((s) => ({
    url: principalOf(request).role === 'read-only' ? redactedUrl(s.url) : s.url, streams: s.streams, matched: s.matched, programmes: s.programmes,
    lastSuccessAt: s.lastSuccessAtMs === null ? null : isoFromMs(s.lastSuccessAtMs), lastAttemptAt: s.lastAttemptAtMs === null ? null : isoFromMs(s.lastAttemptAtMs),
    lastError: s.lastError, fetching: s.fetching,
  })));
};
