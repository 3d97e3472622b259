// The Xtream Codes surface players speak (../shared/IPTV-CONVENTIONS.md section 3; docs/iptv.md),
// with no API token: a viewer line's username and password authenticate each request.
//   GET|POST /player_api.php?username&password[&action]  account info, live categories and
//            streams, get_short_epg / get_simple_data_table (from the guide), VOD and series (empty)
//   GET /get.php?username&password&type=m3u_plus&output=ts|m3u8   the playlist (x-tvg-url: xmltv.php)
//   GET /xmltv.php?username&password                     the XMLTV guide of the streams
//   GET /live/<user>/<pass>/<id>.ts (or no extension)     a continuous MPEG-TS (the relay)
//   GET /live/<user>/<pass>/<id>.m3u8                     302 to the stable playlist with a viewer token
// A line has at most maxConnections viewers across the cluster (ViewerRegistry): the
// (max+1)th gets 403 saying so. Failed logins are limited per client address (429).
// Without a relay (a server built without the node's gateway) .ts URLs are redirected to the
// HLS playlist like .m3u8 ones; without a registry connections are not counted.
import { createHash } from 'node:crypto';

import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';

import { dummyPasswordHash, verifyPassword } from '../../auth/index.ts';
import { signedQuery } from '../../hls/signing.ts';
import type { TsRelayHub } from '../../hls/ts-relay.ts';
import { lineFullMessage, newSessionId, passwordTag, viewerToken, viewerTokenKey, viewerTokenParam } from '../../hls/viewers-http.ts';
import type { ViewerRegistry } from '../../hls/viewers.ts';
import { Guide, shortEpg, shortEpgLimit, simpleDataTable } from '../../iptv/epg.ts';
import { FailedLoginLimiter } from '../../iptv/login-limiter.ts';
import type { LoginLimiterInit } from '../../iptv/login-limiter.ts';
import { deniedLogin, liveCategories, liveStreams, m3uPlus, serverInfo, streamOfNumber, userInfo } from '../../iptv/xtream.ts';
import { hlsOf, lineActive } from '../../state/index.ts';
import type { ClusterState, LineRecord, StreamRecord } from '../../state/index.ts';
import type { ClusterApi } from '../service.ts';

/** Verified (username, password) pairs are remembered (as a sha256 of both, with the stored hash
 *  they matched) so a player's many calls do not each cost a 50-100 ms scrypt. Bounded: the
 *  oldest is forgotten first. A changed password changes the stored hash, which voids the entry. */
export const verifiedLoginsMax = 4096;
/** A redirect to a signed playlist (and its viewer token) stays valid this long (players
 *  re-request the /live URL after). */
export const signedRedirectTtlS = 6 * 3600;
/** A form body (POST player_api.php) larger than this is refused. */
export const formBodyBytesMax = 4096;
/** IPv6 clients are grouped by this prefix for the failed-login limit (one subscriber's /64
 *  holds countless addresses). */
export const loginLimitIpv6Subnet = 64;

/** The merged guide (EpgRefresher fits). */
export interface GuideReader {
  guide(): Guide;
}

export interface XtreamRoutesOptions {
  readonly api: ClusterApi;
  /** Counts viewers and enforces max_connections; absent: not counted (active_cons "0"). */
  readonly viewers?: ViewerRegistry;
  /** Serves .ts URLs as MPEG-TS; absent: they are redirected to HLS like .m3u8. */
  readonly relay?: TsRelayHub;
  /** The guide for xmltv.php and the EPG actions; absent: empty guides. */
  readonly epg?: GuideReader;
  /** Failed logins per client address. Default 20 a minute. */
  readonly failedLogins?: LoginLimiterInit;
}

const vodAndSeriesActions = new Set([
  'get_vod_categories', 'get_vod_streams', 'get_series_categories', 'get_series',
]);
const infoActions = new Set(['get_vod_info', 'get_series_info']);
const deniedMessage = 'unknown line, wrong password, or the line is disabled or expired\n';

type Params = Record<string, string | undefined>;
/** A login's outcome: the line, null (denied), or 'limited' with the seconds to wait. */
type Login = LineRecord | null | { readonly limitedS: number };

export const xtreamRoutes: FastifyPluginAsyncTypebox<XtreamRoutesOptions> = async (app, options) => {
  const { api, viewers, relay, epg } = options;
  const verified = new Map<string, string>();
  const limiter = new FailedLoginLimiter(options.failedLogins);
  const guide = (): Guide => epg?.guide() ?? Guide.empty;
  let tokenKey: { internal: string; key: Buffer } | null = null;
  const viewerKey = (): Buffer => {
    const internal = api.internalToken();
    if (tokenKey?.internal !== internal) tokenKey = { internal, key: viewerTokenKey(internal) };
    return tokenKey.key;
  };

  // Players POST player_api.php as a form; parsed here only (this plugin's routes).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: formBodyBytesMax }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  /** The line `username`/`password` name, if it may watch now; null otherwise (unknown, wrong
   *  password, disabled or expired: players are told only that). */
  const verify = async (username: string, password: string): Promise<LineRecord | null> => {
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

  /** verify(), within the failed-login limit of the client's address. */
  const login = async (request: FastifyRequest, username: string | undefined, password: string | undefined): Promise<Login> => {
    const address = normalizeIP(request.ip, loginLimitIpv6Subnet);
    const attempt = limiter.begin(address, api.nowMs());
    if (!attempt.ok) return { limitedS: Math.ceil(attempt.retryAfterMs / 1000) };
    let line: LineRecord | null = null;
    try {
      if (username !== undefined && password !== undefined) line = await verify(username, password);
    } finally {
      limiter.settle(address, line !== null, api.nowMs());
    }
    return line;
  };

  /** Answers a denied or limited login as text; null when `result` is a line. */
  const refuseText = (reply: FastifyReply, result: Login): FastifyReply | null => {
    if (result === null) return reply.code(403).type('text/plain').send(deniedMessage);
    if ('limitedS' in result) return reply.code(429).header('retry-after', String(result.limitedS)).type('text/plain').send(tooManyMessage(result.limitedS));
    return null;
  };

  const playerApi = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = typeof request.body === 'object' && request.body !== null ? request.body as Params : {};
    const q: Params = { ...body, ...(request.query as Params) };
    const line = await login(request, q.username, q.password);
    if (line === null) return reply.send(deniedLogin);
    if ('limitedS' in line) return reply.code(429).header('retry-after', String(line.limitedS)).send({ user_info: { auth: 0, message: tooManyMessage(line.limitedS).trim() } });
    const state = api.state();
    const action = q.action ?? '';
    if (action === 'get_live_categories') return reply.send(liveCategories(state));
    if (action === 'get_live_streams') {
      const g = guide();
      return reply.send(liveStreams(state, q.category_id, (id) => g.logo(id)));
    }
    if (action === 'get_short_epg' || action === 'get_simple_data_table') {
      const number = /^\d{1,10}$/.test(q.stream_id ?? '') ? Number(q.stream_id) : null;
      const stream = number === null ? null : streamOfNumber(state, number);
      const entry = stream === null || !stream.enabled ? null : guide().stream(stream.id);
      if (action === 'get_short_epg') return reply.send(shortEpg(entry, number ?? 0, api.nowMs(), shortEpgLimit(q.limit)));
      return reply.send(simpleDataTable(entry, number ?? 0, api.nowMs()));
    }
    if (vodAndSeriesActions.has(action)) return reply.send([]);
    if (infoActions.has(action)) return reply.send({});
    // No action, or one we do not know: account info, as the panels answer.
    return reply.send({
      user_info: userInfo(line, q.password!, viewers?.active(line.username) ?? 0),
      server_info: serverInfo({ host: request.hostname, port: request.port ?? (request.protocol === 'https' ? 443 : 80), https: request.protocol === 'https', nowMs: api.nowMs() }),
    });
  };
  const anyQuery = { querystring: Type.Record(Type.String(), Type.String()) };
  app.get('/player_api.php', { schema: { ...anyQuery, hide: true } }, playerApi);
  app.post('/player_api.php', { schema: { ...anyQuery, hide: true } }, playerApi);

  app.get('/get.php', { schema: { ...anyQuery, hide: true } }, async (request, reply) => {
    const q = request.query as Params;
    const line = await login(request, q.username, q.password);
    const refused = refuseText(reply, line);
    if (refused !== null) return refused;
    const type = q.type ?? 'm3u_plus';
    if (type !== 'm3u_plus' && type !== 'm3u') return reply.code(400).type('text/plain').send(`type "${type}" is not served: use type=m3u_plus\n`);
    const output = q.output ?? 'ts';
    const extension = output === 'ts' || output === 'mpegts' ? 'ts' : output === 'm3u8' || output === 'hls' ? 'm3u8' : null;
    if (extension === null) return reply.code(400).type('text/plain').send(`output "${output}" is not served: use output=ts or output=m3u8\n`);
    const baseUrl = `${request.protocol}://${request.host}`;
    const username = (line as LineRecord).username;
    const credentials = `username=${encodeURIComponent(username)}&password=${encodeURIComponent(q.password!)}`;
    const g = guide();
    const body = m3uPlus(api.state(), { baseUrl, username, password: q.password!, extension, guideUrl: `${baseUrl}/xmltv.php?${credentials}` }, (id) => g.logo(id));
    return reply.headers({ 'content-type': 'audio/x-mpegurl; charset=utf-8', 'content-disposition': 'attachment; filename="playlist.m3u"', 'cache-control': 'no-cache' }).send(body);
  });

  app.get('/xmltv.php', { schema: { ...anyQuery, hide: true } }, async (request, reply) => {
    const q = request.query as Params;
    const refused = refuseText(reply, await login(request, q.username, q.password));
    if (refused !== null) return refused;
    return reply.headers({ 'content-type': 'application/xml; charset=utf-8', 'content-disposition': 'attachment; filename="xmltv.xml"', 'cache-control': 'no-cache' }).send(guide().xmltv());
  });

  app.get('/live/:user/:pass/:file', { schema: { params: Type.Object({ user: Type.String(), pass: Type.String(), file: Type.String() }), hide: true } }, async (request, reply) => {
    const { user, pass, file } = request.params;
    const match = /^(\d{1,10})(?:\.(ts|m3u8))?$/.exec(file);
    if (match === null) return reply.code(404).type('text/plain').send('not a live stream URL: use /live/<user>/<pass>/<stream_id>.ts or .m3u8\n');
    const line = await login(request, user, pass);
    const refused = refuseText(reply, line);
    if (refused !== null) return refused;
    const lineRecord = line as LineRecord;
    const state = api.state();
    const stream = streamOfNumber(state, Number(match[1]));
    if (stream === null || !stream.enabled) return reply.code(404).type('text/plain').send(`no live stream ${match[1]}: reload the playlist (get.php)\n`);
    const hls = match[2] === 'm3u8' || relay === undefined;
    // A HEAD of .m3u8 is redirected like a GET (a counted session: one from the same address
    // replaces it); a HEAD of .ts only says what a GET would send.
    if (hls) return redirectToPlaylist(request, reply, lineRecord, stream);
    if (request.method === 'HEAD') return reply.code(200).headers(tsHeaders).send();
    return relayTs(request, reply, lineRecord, stream);
  });

  /** 302 to the stable playlist, with a viewer token when connections are counted. */
  const redirectToPlaylist = (request: FastifyRequest, reply: FastifyReply, line: LineRecord, stream: StreamRecord): FastifyReply => {
    const nowMs = api.nowMs();
    let location = playlistUrl(api.state(), stream, nowMs);
    if (viewers !== undefined) {
      const sessionId = newSessionId();
      const admitted = viewers.admit({ line: line.username, maxConnections: line.maxConnections, streamId: stream.id, clientIp: request.ip, kind: 'hls', sessionId });
      if (!admitted.ok) return refuseViewer(reply, line, admitted);
      const expS = Math.floor(nowMs / 1000) + signedRedirectTtlS;
      const token = viewerToken(viewerKey(), { line: line.username, streamId: stream.id, sessionId, expS, passwordTag: passwordTag(line.passwordHash) });
      // Where the service signs, the signature covers the token: without it the URL fails.
      location = playlistUrl(api.state(), stream, nowMs, token);
    }
    return reply.code(302).headers({ location, 'cache-control': 'no-cache' }).send();
  };

  /** The stream as one MPEG-TS response, for as long as the line may watch and the client reads. */
  const relayTs = (request: FastifyRequest, reply: FastifyReply, line: LineRecord, stream: StreamRecord): FastifyReply => {
    let viewerId: string | null = null;
    let body: { destroy(): void } | null = null;
    if (viewers !== undefined) {
      const admitted = viewers.admit({
        line: line.username, maxConnections: line.maxConnections, streamId: stream.id, clientIp: request.ip, kind: 'ts', onReplaced: () => body?.destroy(),
      });
      if (!admitted.ok) return refuseViewer(reply, line, admitted);
      viewerId = admitted.viewerId;
    }
    const passwordHash = line.passwordHash;
    const opened = relay!.open(stream.id, {
      allowed: () => {
        const state = api.state();
        const now = Object.hasOwn(state.lines, line.username) ? state.lines[line.username]! : null;
        const current = Object.hasOwn(state.streams, stream.id) ? state.streams[stream.id]! : null;
        return now !== null && now.passwordHash === passwordHash && lineActive(now, api.nowMs()) && current !== null && current.enabled;
      },
      onEnd: () => {
        if (viewerId !== null) viewers?.release(viewerId);
      },
    });
    if (!opened.ok) {
      if (viewerId !== null) viewers?.release(viewerId);
      if (opened.reason === 'no-stream') return reply.code(404).type('text/plain').send(`stream ${stream.id} is not served here yet: retry in a moment\n`);
      return reply.code(503).header('retry-after', '5').type('text/plain').send('this node relays as many MPEG-TS viewers as it may: use the .m3u8 URL, or retry later\n');
    }
    body = opened.stream;
    return reply.code(200).headers(tsHeaders).send(opened.stream);
  };
};

/** MPEG-TS relay answers: never cached, not buffered by proxies (nginx honours X-Accel-Buffering). */
const tsHeaders = { 'content-type': 'video/mp2t', 'cache-control': 'no-store', 'x-accel-buffering': 'no' } as const;

function refuseViewer(reply: FastifyReply, line: LineRecord, refusal: { reason: 'line-full'; active: number; max: number } | { reason: 'node-full'; max: number }): FastifyReply {
  if (refusal.reason === 'line-full') return reply.code(403).type('text/plain').send(`${lineFullMessage(line.username, refusal.active, refusal.max)}\n`);
  return reply.code(503).header('retry-after', '5').type('text/plain').send(`this node serves ${refusal.max} viewers already: retry later\n`);
}

function tooManyMessage(waitS: number): string {
  return `too many failed logins from your address: wait ${waitS} s, then check the username and password\n`;
}

/** The stable playlist path of `stream`, signed when its service signs viewer URLs. */
export function playlistUrl(state: ClusterState, stream: StreamRecord, nowMs: number, vt = ''): string {
  const secret = hlsOf(state, stream).signingSecret;
  const path = `/live/${stream.id}/index.m3u8`;
  if (secret !== null) return `${path}?${signedQuery(secret, stream.id, Math.floor(nowMs / 1000) + signedRedirectTtlS, vt)}`;
  return vt === '' ? path : `${path}?${viewerTokenParam}=${encodeURIComponent(vt)}`;
}
