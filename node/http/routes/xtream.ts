// The Xtream Codes surface players speak (../shared/IPTV-CONVENTIONS.md section 3), with no API
// token: a viewer line's username and password authenticate each request.
//   GET|POST /player_api.php?username&password[&action]  account info, live categories and
//            streams, short EPG (empty), VOD and series (empty lists)
//   GET /get.php?username&password&type=m3u_plus&output=ts|m3u8   the playlist
//   GET /live/<user>/<pass>/<id>[.ts|.m3u8]               302 to the stable /live/<stream>/index.m3u8
// TS is not relayed yet: a .ts (or extension-less) URL is redirected to the HLS playlist too, which
// players built on ffmpeg/VLC/ExoPlayer follow and play; strict MPEG-TS-only clients will not.
import { createHash } from 'node:crypto';

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';

import { dummyPasswordHash, verifyPassword } from '../../auth/index.ts';
import { signedQuery } from '../../hls/signing.ts';
import { deniedLogin, liveCategories, liveStreams, m3uPlus, serverInfo, streamOfNumber, userInfo } from '../../iptv/xtream.ts';
import { hlsOf, lineActive } from '../../state/index.ts';
import type { ClusterState, LineRecord, StreamRecord } from '../../state/index.ts';
import type { ClusterApi } from '../service.ts';

/** Verified (username, password) pairs are remembered (as a sha256 of both, with the stored hash
 *  they matched) so a player's many calls do not each cost a 50-100 ms scrypt. Bounded: the
 *  oldest is forgotten first. A changed password changes the stored hash, which voids the entry. */
export const verifiedLoginsMax = 4096;
/** A redirect to a signed playlist stays valid this long (players re-request the /live URL after). */
export const signedRedirectTtlS = 6 * 3600;
/** A form body (POST player_api.php) larger than this is refused. */
export const formBodyBytesMax = 4096;

const vodAndSeriesActions = new Set([
  'get_vod_categories', 'get_vod_streams', 'get_series_categories', 'get_series',
]);
const infoActions = new Set(['get_vod_info', 'get_series_info']);
const epgActions = new Set(['get_short_epg', 'get_simple_data_table']);

type Params = Record<string, string | undefined>;

export const xtreamRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const verified = new Map<string, string>();

  // Players POST player_api.php as a form; parsed here only (this plugin's routes).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: formBodyBytesMax }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  /** The line `username`/`password` name, if it may watch now; null otherwise (unknown, wrong
   *  password, disabled or expired: players are told only `auth: 0`). */
  const login = async (username: string | undefined, password: string | undefined): Promise<LineRecord | null> => {
    if (username === undefined || password === undefined) return null;
    const state = api.state();
    const line = Object.hasOwn(state.lines, username) ? state.lines[username]! : null;
    if (line === null || !lineActive(line, api.nowMs())) {
      // As slow as a wrong password, so the answer does not tell which lines exist.
      await verifyPassword(password, dummyPasswordHash);
      return null;
    }
    const key = createHash('sha256').update(`${username}\0${password}`).digest('hex');
    if (verified.get(key) === line.passwordHash) return line;
    if (!(await verifyPassword(password, line.passwordHash))) return null;
    verified.delete(key);
    verified.set(key, line.passwordHash);
    if (verified.size > verifiedLoginsMax) verified.delete(verified.keys().next().value!);
    return line;
  };

  const playerApi = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = typeof request.body === 'object' && request.body !== null ? request.body as Params : {};
    const q: Params = { ...body, ...(request.query as Params) };
    const line = await login(q.username, q.password);
    if (line === null) return reply.send(deniedLogin);
    const state = api.state();
    const action = q.action ?? '';
    if (action === 'get_live_categories') return reply.send(liveCategories(state));
    if (action === 'get_live_streams') return reply.send(liveStreams(state, q.category_id));
    if (epgActions.has(action)) return reply.send({ epg_listings: [] });
    if (vodAndSeriesActions.has(action)) return reply.send([]);
    if (infoActions.has(action)) return reply.send({});
    // No action, or one we do not know: account info, as the panels answer.
    return reply.send({
      user_info: userInfo(line, q.password!, 0),
      server_info: serverInfo({ host: request.hostname, port: request.port ?? (request.protocol === 'https' ? 443 : 80), https: request.protocol === 'https', nowMs: api.nowMs() }),
    });
  };
  const anyQuery = { querystring: Type.Record(Type.String(), Type.String()) };
  app.get('/player_api.php', { schema: { ...anyQuery, hide: true } }, playerApi);
  app.post('/player_api.php', { schema: { ...anyQuery, hide: true } }, playerApi);

  app.get('/get.php', { schema: { ...anyQuery, hide: true } }, async (request, reply) => {
    const q = request.query as Params;
    const line = await login(q.username, q.password);
    if (line === null) return reply.code(403).type('text/plain').send('unknown line, wrong password, or the line is disabled or expired\n');
    const type = q.type ?? 'm3u_plus';
    if (type !== 'm3u_plus' && type !== 'm3u') return reply.code(400).type('text/plain').send(`type "${type}" is not served: use type=m3u_plus\n`);
    const output = q.output ?? 'ts';
    const extension = output === 'ts' || output === 'mpegts' ? 'ts' : output === 'm3u8' || output === 'hls' ? 'm3u8' : null;
    if (extension === null) return reply.code(400).type('text/plain').send(`output "${output}" is not served: use output=ts or output=m3u8\n`);
    const body = m3uPlus(api.state(), { baseUrl: `${request.protocol}://${request.host}`, username: line.username, password: q.password!, extension });
    return reply.headers({ 'content-type': 'audio/x-mpegurl; charset=utf-8', 'content-disposition': 'attachment; filename="playlist.m3u"', 'cache-control': 'no-cache' }).send(body);
  });

  app.get('/live/:user/:pass/:file', { schema: { params: Type.Object({ user: Type.String(), pass: Type.String(), file: Type.String() }), hide: true } }, async (request, reply) => {
    const { user, pass, file } = request.params;
    const match = /^(\d{1,10})(?:\.(ts|m3u8))?$/.exec(file);
    if (match === null) return reply.code(404).type('text/plain').send('not a live stream URL: use /live/<user>/<pass>/<stream_id>.ts or .m3u8\n');
    const line = await login(user, pass);
    if (line === null) return reply.code(403).type('text/plain').send('unknown line, wrong password, or the line is disabled or expired\n');
    const state = api.state();
    const stream = streamOfNumber(state, Number(match[1]));
    if (stream === null || !stream.enabled) return reply.code(404).type('text/plain').send(`no live stream ${match[1]}: reload the playlist (get.php)\n`);
    return reply.code(302).headers({ location: playlistUrl(state, stream, api.nowMs()), 'cache-control': 'no-cache' }).send();
  });
};

/** The stable playlist path of `stream`, signed when its service signs viewer URLs. */
export function playlistUrl(state: ClusterState, stream: StreamRecord, nowMs: number): string {
  const secret = hlsOf(state, stream).signingSecret;
  const path = `/live/${stream.id}/index.m3u8`;
  return secret === null ? path : `${path}?${signedQuery(secret, stream.id, Math.floor(nowMs / 1000) + signedRedirectTtlS)}`;
}
