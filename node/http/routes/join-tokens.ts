// POST /api/v1/join-tokens: create a join token (a replicated write: api.propose reaches the leader). The
// secret leaves this node only inside the returned token string; the state keeps its hash.
// `installCommand` is the one-line install (docs/install.md) from this node, at the address the
// caller reached it at.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { newJoinSecret } from '../../auth/index.ts';
import { installBaseUrl, installCommand } from '../../install/install-script.ts';
import { findNode } from '../../state/index.ts';
import type { JoinTokenRecord } from '../../state/index.ts';
import { actorOf } from '../auth.ts';
import { CommandRefusedError } from '../errors.ts';
import { errorResponses, NameSchema } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

export const defaultJoinTokenTtlS = 3600;
export const joinTokenTtlSMax = 30 * 86_400;
export const joinTokenUsesMax = 1000;

const CreateBody = Type.Object({
  ttlS: Type.Integer({ minimum: 1, maximum: joinTokenTtlSMax, default: defaultJoinTokenTtlS }),
  uses: Type.Integer({ minimum: 1, maximum: joinTokenUsesMax, default: 1 }),
  groups: Type.Array(NameSchema, { maxItems: 32, uniqueItems: true, default: [] }),
}, { additionalProperties: false });

const CreatedBody = Type.Object({
  token: Type.String(),
  id: Type.String(),
  expiresAt: Type.String(),
  uses: Type.Integer(),
  groups: Type.Array(Type.String()),
  installCommand: Type.String({ description: 'curl -fsSL http://<this node>/install.sh | sh -s -- <token>: installs ottmesh on a new server and joins it' }),
});

export const joinTokenRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.post('/api/v1/join-tokens', {
    config: { role: 'admin' },
    schema: { body: CreateBody, response: { 201: CreatedBody, ...errorResponses } },
  }, async (request, reply) => {
    const { ttlS, uses, groups } = request.body;
    const { tokenId, secret, secretHash } = newJoinSecret();
    const atMs = api.nowMs();
    const record: JoinTokenRecord = {
      id: tokenId, secretHash, expiresAtMs: atMs + ttlS * 1000, usesLeft: uses, groups, createdAtMs: atMs, createdBy: actorOf(request).user,
    };
    const result = await api.propose({ type: 'CreateJoinToken', atMs, token: record }, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
    const token = api.newJoinTokenString(record, secret);
    // A Host header unfit for a shell line (never the case for a browser or curl) gets the URL
    // this node advertises instead.
    const baseUrl = installBaseUrl(request.protocol, request.headers.host) ?? findNode(api.state(), api.nodeId)?.httpUrl ?? '';
    return reply.code(201).send({ token, id: tokenId, expiresAt: new Date(record.expiresAtMs).toISOString(), uses, groups, installCommand: installCommand(baseUrl, token) });
  });
};
