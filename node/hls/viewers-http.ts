// HLS viewer sessions of Xtream lines (docs/iptv.md "Connections"). The Xtream route answers
// /live/<user>/<pass>/<id>.m3u8 with a 302 to the stable playlist plus `vt=<token>`: a token
// signed with a key every member derives from the cluster's internal token, naming the line, the
// stream, a random session id, an expiry and a tag of the line's password hash. This plugin's
// hook sees every fetch of /live/<stream>/index.m3u8 that carries one: it checks the token and
// the line (still active, same password), refreshes the session in the ViewerRegistry, or admits
// it again if it idled out (or the player moved to another node) and the line has room. Requests
// without `vt` (operators' stable URLs) are not line viewers and pass untouched.
//
// Registered with fastify-plugin so the hook applies at the root: register it before hlsRoutes.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

import { lineActive } from '../state/index.ts';
import type { ClusterState } from '../state/index.ts';
import { sendError } from './replies.ts';
import { viewerTokenParam } from './signing.ts';
import type { ViewerRegistry } from './viewers.ts';

/** The query parameter that carries the token (defined with the signature that covers it). */
export { viewerTokenParam };
/** The playlist route the hook watches (hlsRoutes registers it under /live). */
export const playlistRouteUrl = '/live/:stream/index.m3u8';
const tokenCharsMax = 512;
const macBytes = 16;

export interface ViewerSession {
  readonly line: string;
  readonly streamId: string;
  readonly sessionId: string;
  /** Unix seconds. */
  readonly expS: number;
  /** passwordTag() of the line's hash when the token was made. */
  readonly passwordTag: string;
}

/** The signing key of viewer tokens, from the cluster's internal token (same on every member). */
export function viewerTokenKey(internalToken: string): Buffer {
  return createHmac('sha256', internalToken).update('ottmesh viewer session token v1').digest();
}

/** A short tag of a line's password hash: a changed password voids its tokens. */
export function passwordTag(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url').slice(0, 12);
}

export function newSessionId(): string {
  return randomBytes(12).toString('base64url');
}

/** `<payload>.<mac>`, both base64url: URL-safe as it is. */
export function viewerToken(key: Buffer, session: ViewerSession): string {
  const payload = Buffer.from([session.line, session.streamId, session.sessionId, String(session.expS), session.passwordTag].join('\n')).toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

export type TokenCheck = { readonly ok: true; readonly session: ViewerSession } | { readonly ok: false; readonly message: string };

/** Checks a token's signature and expiry at `nowMs`. */
export function readViewerToken(key: Buffer, token: string, nowMs: number): TokenCheck {
  const bad = { ok: false, message: 'the viewer token is not valid: open the channel again from the playlist (its /live/<user>/<pass>/<id>.m3u8 URL)' } as const;
  if (token.length > tokenCharsMax) return bad;
  const dot = token.indexOf('.');
  if (dot <= 0) return bad;
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = Buffer.from(mac(key, payload), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return bad;
  const parts = Buffer.from(payload, 'base64url').toString('utf8').split('\n');
  if (parts.length !== 5 || !/^\d{1,12}$/.test(parts[3]!)) return bad;
  const [line, streamId, sessionId, exp, tag] = parts as [string, string, string, string, string];
  const expS = Number(exp);
  if (expS * 1000 <= nowMs) return { ok: false, message: 'the viewer token expired: open the channel again from the playlist' };
  return { ok: true, session: { line, streamId, sessionId, expS, passwordTag: tag } };
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest().subarray(0, macBytes).toString('base64url');
}

export interface ViewerSessionsOptions {
  readonly api: { state(): ClusterState; nowMs(): number; internalToken(): string };
  readonly viewers: ViewerRegistry;
}

/** The message a player shows when its line is at its limit. */
export function lineFullMessage(line: string, active: number, max: number): string {
  return `line ${line} already has ${active} of its ${max} allowed connection${max === 1 ? '' : 's'}: close another player first`;
}

const sessionHook: FastifyPluginAsync<ViewerSessionsOptions> = async (app, { api, viewers }) => {
  let keyFor: { token: string; key: Buffer } | null = null;
  const key = (): Buffer => {
    const token = api.internalToken();
    if (keyFor?.token !== token) keyFor = { token, key: viewerTokenKey(token) };
    return keyFor.key;
  };
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== playlistRouteUrl) return;
    const token = (request.query as Record<string, unknown>)[viewerTokenParam];
    if (token === undefined) return;
    if (typeof token !== 'string') return sendError(reply, 400, `give ${viewerTokenParam} once`);
    const checked = readViewerToken(key(), token, api.nowMs());
    if (!checked.ok) return sendError(reply, 403, checked.message);
    const { session } = checked;
    const streamId = (request.params as { stream?: string }).stream;
    if (session.streamId !== streamId) return sendError(reply, 403, `the viewer token is for another stream than ${streamId}: open the channel again from the playlist`);
    const state = api.state();
    const line = Object.hasOwn(state.lines, session.line) ? state.lines[session.line]! : null;
    if (line === null || !lineActive(line, api.nowMs()) || passwordTag(line.passwordHash) !== session.passwordTag) {
      return sendError(reply, 403, `line ${session.line} is disabled, expired, deleted or has a new password: log in again`);
    }
    if (viewers.touchSession(session.sessionId)) return;
    const admitted = viewers.admit({ line: line.username, maxConnections: line.maxConnections, streamId: session.streamId, clientIp: request.ip, kind: 'hls', sessionId: session.sessionId });
    if (admitted.ok) return;
    if (admitted.reason === 'line-full') return sendError(reply, 403, lineFullMessage(line.username, admitted.active, admitted.max));
    return sendError(reply.header('retry-after', '5'), 503, `this node serves ${admitted.max} viewers already: retry later`);
  });
};

/** The hook as a root-level plugin (fastify-plugin: no encapsulation). */
export const hlsViewerSessions = fp(sessionHook, { name: 'ottmesh-hls-viewer-sessions', fastify: '5.x' });
