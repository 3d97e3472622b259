// POST /api/v1/login {username, password}: the dashboard's login. On success a session cookie
// (HttpOnly, SameSite=Strict, 12 h) that every node accepts; attempts are limited per client
// address. POST /api/v1/logout clears it. GET /api/v1/me says who is logged in.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import rateLimit from '@fastify/rate-limit';
import { Type } from 'typebox';

import { dummyPasswordHash, sessionCookieName, sessionKeyFrom, sessionTtlMs, signSession, verifyPassword } from '../../auth/index.ts';
import { principalOf, requireApiToken } from '../auth.ts';
import { UnauthorizedError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

/** Login attempts per client address per minute. */
export const loginAttemptsPerMinute = 10;

const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const Me = Type.Object({ user: Type.String(), role: Type.String(), via: Type.String() });

export const sessionRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  await app.register(rateLimit, { global: false });

  app.post('/api/v1/login', {
    config: { rateLimit: { max: loginAttemptsPerMinute, timeWindow: 60_000 } },
    schema: { body: LoginBody, response: { 200: Me, ...errorResponses } },
  }, async (request, reply) => {
    const { username, password } = request.body;
    const users = api.state().users;
    const user = Object.hasOwn(users, username) ? users[username]! : null;
    // The same answer and about the same time whether or not the user exists.
    const ok = await verifyPassword(password, user?.passwordHash ?? dummyPasswordHash);
    if (user === null || !ok) throw new UnauthorizedError('wrong username or password');
    const value = signSession({ user: user.name, role: user.role, expiresAtMs: api.nowMs() + sessionTtlMs }, sessionKeyFrom(api.internalToken()));
    void reply.header('set-cookie', `${sessionCookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${sessionTtlMs / 1000}`);
    return { user: user.name, role: user.role, via: 'session' };
  });

  app.post('/api/v1/logout', { schema: { response: { 204: Type.Null() } } }, async (_request, reply) => {
    void reply.header('set-cookie', `${sessionCookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.code(204).send(null);
  });

  app.get('/api/v1/me', { onRequest: requireApiToken(api), schema: { response: { 200: Me, ...errorResponses } } }, async (request) => principalOf(request));
};
