// /api/v1/api-tokens (admin): tokens for scripts and tools (`Authorization: Bearer otm_...`). A new
// token belongs to the caller, with the caller's role or a lesser one, and is shown once: the state
// keeps only its secret's sha256. Revoking one takes effect on each node as it applies the change.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { newApiToken } from '../../auth/index.ts';
import { apiTokenNameLengthMax, isoFromMs, roleAtLeast } from '../../state/index.ts';
import type { ApiTokenRecord } from '../../state/index.ts';
import { actorOf } from '../auth.ts';
import { ApiError, CommandRefusedError, ForbiddenError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';
import { RoleSchema } from './users.ts';

const TokenName = Type.String({ maxLength: apiTokenNameLengthMax, pattern: '^[^\\u0000-\\u001f\\u007f]*$', description: 'what it is for ("ci", "grafana")' });
const CreateBody = Type.Object({
  name: Type.Optional(TokenName),
  /** Default: the caller's role; never more. */
  role: Type.Optional(RoleSchema),
}, { additionalProperties: false });
const Params = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });
const TokenView = Type.Object({ id: Type.String(), name: Type.String(), user: Type.String(), role: RoleSchema, createdAt: Type.String() });
const Created = Type.Object({ id: Type.String(), name: Type.String(), role: RoleSchema, token: Type.String({ description: 'shown once' }) });

function view(token: ApiTokenRecord) {
  return { id: token.id, name: token.name ?? '', user: token.user, role: token.role, createdAt: isoFromMs(token.createdAtMs) };
}

export const apiTokenRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const config = { role: 'admin' } as const;

  app.get('/api/v1/api-tokens', { config, schema: { response: { 200: Type.Array(TokenView), ...errorResponses } } }, async () => {
    await api.read();
    return Object.values(api.state().apiTokens).sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id)).map(view);
  });

  app.post('/api/v1/api-tokens', { config, schema: { body: CreateBody, response: { 201: Created, ...errorResponses } } }, async (request, reply) => {
    const actor = actorOf(request);
    const role = request.body.role ?? actor.role;
    if (!roleAtLeast(actor.role, role)) throw new ForbiddenError(`an API token cannot have more rights than you: you are ${actor.role}, it asks for ${role}`);
    const name = request.body.name ?? '';
    const { token, id, secretHash } = newApiToken();
    const atMs = api.nowMs();
    const result = await api.propose({ type: 'CreateApiToken', atMs, token: { id, name, secretHash, user: actor.user, role, createdAtMs: atMs } }, actor);
    if (!result.ok) throw new CommandRefusedError(result.reason);
    return reply.code(201).send({ id, name, role, token });
  });

  app.delete('/api/v1/api-tokens/:id', { config, schema: { params: Params, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const { id } = request.params;
    await api.read();
    if (!Object.hasOwn(api.state().apiTokens, id)) throw new ApiError(404, `no API token ${id}: GET /api/v1/api-tokens lists them`);
    const result = await api.propose({ type: 'DeleteApiToken', atMs: api.nowMs(), id }, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
    return reply.code(204).send(null);
  });
};
