// /api/v1/lines: viewer lines for the Xtream Codes surface (routes/xtream.ts). The password is
// hashed here with scrypt (node/auth) and only the hash reaches the replicated state; no answer
// ever contains it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Static } from 'typebox';

import { hashPassword } from '../../auth/index.ts';
import { isoFromMs, lineConnectionsMax } from '../../state/index.ts';
import type { Command, LineRecord } from '../../state/index.ts';
import type { FastifyRequest } from 'fastify';
import { actorOf } from '../auth.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses, withoutDefaults } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const Username = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'A-Z, a-z, 0-9, . _ - (it appears in player URLs)' });
/** Passwords also go into URL paths and query strings that players do not escape: no '/', '?',
 *  '#', '&', '%', '+' or spaces. */
const Password = Type.String({ pattern: '^[A-Za-z0-9._~!*@=-]{1,128}$', description: 'A-Z, a-z, 0-9 and . _ ~ ! * @ = -' });
const ExpiresAt = Type.Union([Type.Null(), Type.String({ format: 'date-time' })], { default: null, description: 'ISO 8601; null: never' });
const MaxConnections = Type.Integer({ minimum: 1, maximum: lineConnectionsMax, default: 1 });
const CreateBody = Type.Object({ username: Username, password: Password, maxConnections: MaxConnections, expiresAt: ExpiresAt, enabled: Type.Boolean({ default: true }) }, { additionalProperties: false });
const PatchBody = withoutDefaults(Type.Partial(Type.Object({ password: Password, maxConnections: MaxConnections, expiresAt: ExpiresAt, enabled: Type.Boolean() }), { additionalProperties: false, minProperties: 1 }));
const Params = Type.Object({ username: Username });

export const LineView = Type.Object({
  username: Type.String(), maxConnections: Type.Integer(), expiresAt: Type.Union([Type.String(), Type.Null()]), enabled: Type.Boolean(), createdAt: Type.String(),
});

export function lineView(line: LineRecord): Static<typeof LineView> {
  return {
    username: line.username, maxConnections: line.maxConnections, expiresAt: line.expiresAtMs === null ? null : isoFromMs(line.expiresAtMs),
    enabled: line.enabled, createdAt: isoFromMs(line.createdAtMs),
  };
}

function expiryMs(expiresAt: string | null): number | null {
  if (expiresAt === null) return null;
  const ms = Date.parse(expiresAt);
  if (!Number.isFinite(ms)) throw new ApiError(400, `expiresAt "${expiresAt}" is not an ISO 8601 time: e.g. 2030-01-31T00:00:00Z, or null for never`);
  return ms;
}

export const lineRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const found = (username: string): LineRecord => {
    const line = Object.hasOwn(api.state().lines, username) ? api.state().lines[username] : undefined;
    if (line === undefined) throw new ApiError(404, `no line ${username}: GET /api/v1/lines lists them`);
    return line;
  };
  const propose = async (request: FastifyRequest, command: Command) => {
    const result = await api.propose(command, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
  };

  app.get('/api/v1/lines', { schema: { response: { 200: Type.Array(LineView), ...errorResponses } } }, async () => {
    await api.read();
    return Object.values(api.state().lines).sort((a, b) => a.username.localeCompare(b.username)).map(lineView);
  });

  app.get('/api/v1/lines/:username', { schema: { params: Params, response: { 200: LineView, ...errorResponses } } }, async (request) => {
    await api.read();
    return lineView(found(request.params.username));
  });

  app.post('/api/v1/lines', { schema: { body: CreateBody, response: { 201: LineView, ...errorResponses } } }, async (request, reply) => {
    const { username, password, maxConnections, expiresAt, enabled } = request.body;
    const expiresAtMs = expiryMs(expiresAt);
    const atMs = api.nowMs();
    const line: LineRecord = { username, passwordHash: await hashPassword(password), maxConnections, expiresAtMs, enabled, createdAtMs: atMs };
    await propose(request, { type: 'CreateLine', atMs, line });
    return reply.code(201).send(lineView(found(username)));
  });

  app.patch('/api/v1/lines/:username', { schema: { params: Params, body: PatchBody, response: { 200: LineView, ...errorResponses } } }, async (request) => {
    await api.read();
    const current = found(request.params.username);
    const { password, maxConnections, expiresAt, enabled } = request.body;
    const line: LineRecord = {
      ...current,
      ...(password === undefined ? {} : { passwordHash: await hashPassword(password) }),
      ...(maxConnections === undefined ? {} : { maxConnections }),
      ...(expiresAt === undefined ? {} : { expiresAtMs: expiryMs(expiresAt) }),
      ...(enabled === undefined ? {} : { enabled }),
    };
    await propose(request, { type: 'UpdateLine', atMs: api.nowMs(), line });
    return lineView(found(line.username));
  });

  app.delete('/api/v1/lines/:username', { schema: { params: Params, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    await propose(request, { type: 'DeleteLine', atMs: api.nowMs(), username: request.params.username });
    return reply.code(204).send(null);
  });
};
