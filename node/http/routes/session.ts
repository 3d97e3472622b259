// POST /api/v1/login {username, password}: the dashboard's login. On success a session cookie
// (HttpOnly, SameSite=Strict, 12 h) that every node accepts; attempts are limited per client
// address and recorded in the audit log (Login / LoginFailed, within a budget: login-audit.ts).
// POST /api/v1/logout clears it. GET /api/v1/me says who is logged in, with the role the state
// gives them now.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import rateLimit from '@fastify/rate-limit';
import { Type } from 'typebox';

import { cookieValue, credentialOf, dummyPasswordHash, newSessionId, sessionCookieName, sessionKeyFrom, sessionTtlMs, signSession, verifyPassword, verifySession } from '../../auth/index.ts';
import type { Command, Role } from '../../state/index.ts';
import { principalOf } from '../auth.ts';
import { LoginAuditBudget } from '../login-audit.ts';
import { ApiError, CommandRefusedError, UnauthorizedError } from '../errors.ts';
import { buildInfo, sameBuild } from '../../version.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

/** Login attempts per client address per minute. */
export const loginAttemptsPerMinute = 10;

const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const Me = Type.Object({ user: Type.String(), role: Type.String(), via: Type.String() });

export const sessionRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  await app.register(rateLimit, { global: false });
  const budget = new LoginAuditBudget();
  /** Records the attempt in the audit log without making the answer wait for the write. */
  const record = (user: string, role: Role | null, ok: boolean, from: string, log: (message: string) => void) => {
    const atMs = api.nowMs();
    const take = budget.take(atMs);
    if (!take.record) return;
    const command: Command = { type: 'RecordLogin', atMs, user, role, ok, from: from.slice(0, 64), unrecorded: take.unrecorded };
    api.propose(command, null).catch((err: unknown) => log(`the login of ${user} was not recorded in the audit log: ${(err as Error).message}`));
  };

  app.post('/api/v1/login', {
    config: { public: true, rateLimit: { max: loginAttemptsPerMinute, timeWindow: 60_000 } },
    schema: { body: LoginBody, response: { 200: Me, ...errorResponses } },
  }, async (request, reply) => {
    const { username, password } = request.body;
    const users = api.state().users;
    const user = Object.hasOwn(users, username) ? users[username]! : null;
    // The same answer and about the same time whether or not the user exists.
    const ok = await verifyPassword(password, user?.passwordHash ?? dummyPasswordHash);
    const log = (message: string) => request.log.warn(message);
    record(username, user?.role ?? null, user !== null && ok, request.ip, log);
    if (user === null || !ok) throw new UnauthorizedError('wrong username or password');
    const session = { user: user.name, role: user.role, expiresAtMs: api.nowMs() + sessionTtlMs, credential: credentialOf(user.passwordHash), id: newSessionId() };
    const value = signSession(session, sessionKeyFrom(api.internalToken()));
    void reply.header('set-cookie', `${sessionCookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${sessionTtlMs / 1000}`);
    return { user: user.name, role: user.role, via: 'session' };
  });

  // Clears the cookie, and revokes the session cluster-wide so that a copy of the cookie is
  // refused too; answered once the revocation is applied here (other nodes apply it within
  // moments). A cookie that is not a valid session only gets cleared.
  app.post('/api/v1/logout', { config: { public: true }, schema: { response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    void reply.header('set-cookie', `${sessionCookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    const value = cookieValue(request.headers.cookie, sessionCookieName);
    const checked = value === null ? null : verifySession(value, sessionKeyFrom(api.internalToken()), api.nowMs());
    if (checked?.ok === true && checked.session.id !== undefined) {
      const { id, user, expiresAtMs } = checked.session;
      // A node of an older build would stop on a command it does not know (a rolling upgrade).
      const older = olderMembers(api);
      if (older.length > 0) {
        throw new ApiError(503, `the cookie is cleared here, but the session was not revoked while ${older.join(', ')} run(s) another build (an upgrade under way): a copy of the cookie stays valid until it expires; log out again once every node runs ${buildInfo().version}`, 30);
      }
      let result;
      try {
        result = await api.propose({ type: 'RevokeSession', atMs: api.nowMs(), sessionId: id, user, expiresAtMs }, null);
      } catch (err) {
        throw new ApiError(503, `the cookie is cleared here, but the cluster could not revoke the session (${(err as Error).message}): log out again in a few seconds, or a copy of the cookie stays valid until it expires`, 2);
      }
      if (!result.ok) throw new CommandRefusedError(result.reason);
    }
    return reply.code(204).send(null);
  });

  app.get('/api/v1/me', { schema: { response: { 200: Me, ...errorResponses } } }, async (request) => {
    const { user, role, via } = principalOf(request);
    return { user, role, via };
  });
};

/** Members whose telemetry names another build than this node's, by name (one not heard from
 *  is not counted: it replays the log when it is back, and an older build needs upgrading then
 *  whatever the command). */
function olderMembers(api: ClusterApi): string[] {
  const own = buildInfo();
  return Object.values(api.state().nodes).filter((node) => {
    if (node.id === api.nodeId || api.nodeBuild === undefined) return false;
    const build = api.nodeBuild(node.id);
    return build !== null && !sameBuild(build, own);
  }).map((node) => node.name);
}
