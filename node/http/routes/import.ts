// POST /api/v1/import/m3u: a playlist's text as the body (audio/x-mpegurl,
// application/vnd.apple.mpegurl or text/plain) becomes streams; `?service=ID` puts them in a
// service, `?dryRun=true` only says what would happen, `?enabled=false` creates them stopped.
// Answers {created: [stream ids], skipped: [{line, title, reason}]}. URLs are checked, never
// fetched or run: local files and programs (`file:`, `pipe:`) are skipped with the reason.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { m3uBytesMax, parseM3u, slugFor } from '../../iptv/m3u.ts';
import { streamProblem } from '../../state/index.ts';
import type { StreamRecord } from '../../state/index.ts';
import { actorOf } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import { firstSourceRefusal } from './streams.ts';
import type { ClusterApi } from '../service.ts';

/** Skipped entries' titles are cut to this many characters in the answer. */
export const skippedTitleCharsMax = 256;

export const m3uContentTypes = ['audio/x-mpegurl', 'application/vnd.apple.mpegurl', 'text/plain'];

const Query = Type.Object({
  service: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' })),
  dryRun: Type.Boolean({ default: false }),
  enabled: Type.Boolean({ default: true }),
}, { additionalProperties: false });
const Skip = Type.Object({ line: Type.Integer(), title: Type.String(), reason: Type.String() });
const ImportBody = Type.Object({ created: Type.Array(Type.String()), skipped: Type.Array(Skip) });

export const importRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  // The playlist arrives as text; the parser is bounded (m3u.ts), and so is the body.
  for (const type of m3uContentTypes) {
    if (type === 'text/plain' && app.hasContentTypeParser(type)) continue;
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: m3uBytesMax }, (_req, body, done) => done(null, body));
  }

  app.post('/api/v1/import/m3u', {
    bodyLimit: m3uBytesMax,
    schema: { querystring: Query, response: { 200: ImportBody, ...errorResponses } },
  }, async (request) => {
    if (typeof request.body !== 'string') {
      throw new ApiError(415, `send the playlist as the body with Content-Type ${m3uContentTypes.join(', ')}`);
    }
    const { service, dryRun, enabled } = request.query;
    const state = api.state();
    if (service !== undefined && !Object.hasOwn(state.services, service)) throw new ApiError(400, `unknown service ${service}: create it first (POST /api/v1/services)`);
    const playlist = parseM3u(request.body);
    if (playlist.entries.length === 0 && playlist.skipped.length === 0) throw new ApiError(400, 'the body holds no #EXTINF entry and no URL: is it an M3U playlist?');
    const taken = new Set(Object.keys(state.streams));
    const suffixes = new Map<string, number>();
    const firstLineOfUrl = new Map<string, number>();
    const created: string[] = [];
    const skipped = [...playlist.skipped];
    const atMs = api.nowMs();
    const actor = actorOf(request);
    for (const entry of playlist.entries) {
      const seen = firstLineOfUrl.get(entry.url);
      if (seen !== undefined) {
        skipped.push({ line: entry.line, title: entry.title, reason: `same URL as line ${seen}` });
        continue;
      }
      firstLineOfUrl.set(entry.url, entry.line);
      // Reserved in `taken` now, released if the entry is skipped (copying the set per entry
      // made a 20,000-entry import quadratic).
      const id = slugFor(entry, taken, suffixes);
      const skip = (reason: string) => {
        taken.delete(id);
        skipped.push({ line: entry.line, title: entry.title, reason });
      };
      const stream: StreamRecord = {
        id, name: (entry.title === '' ? id : entry.title).slice(0, 256),
        sources: [{ url: entry.url, priority: 0, userAgent: entry.userAgent?.slice(0, 256) ?? null, referrer: entry.referrer?.slice(0, 256) ?? null }],
        profile: 'copy', serviceId: service ?? null, pinGroup: null, pinNode: null, priority: 0, enabled, policy: {}, createdAtMs: atMs,
      };
      const problem = streamProblem(stream) ?? firstSourceRefusal(stream);
      if (problem !== null) {
        skip(problem);
        continue;
      }
      if (!dryRun) {
        const result = await api.propose({ type: 'CreateStream', atMs, stream }, actor);
        if (!result.ok) {
          skip(result.reason);
          continue;
        }
      }
      created.push(id);
    }
    skipped.sort((a, b) => a.line - b.line);
    // A title is echoed back at most this long (a line may be megabytes).
    return { created, skipped: skipped.map((s) => (s.title.length > skippedTitleCharsMax ? { ...s, title: `${s.title.slice(0, skippedTitleCharsMax)}…` } : s)) };
  });
};
