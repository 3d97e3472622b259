// Authentication and roles for every /api/v1 route, in one onRequest hook that buildServer installs
// before any route (installAuth), so no route can forget either. A request authenticates with an
// API token (`Authorization: Bearer otm_<id>_<secret>`, checked against this node's applied state,
// the secret's hash in constant time) or the dashboard's session cookie (signed, expiring:
// node/auth/session.ts). Its role comes from the state on every request: the user's role, capped
// by the token's, so a demoted or deleted user loses their rights at once. A route says the least
// role it needs in its config (`config: { role: 'admin' }`); otherwise GET and HEAD need read-only
// and every other method operator. Routes with `config: { public: true }` need nothing.
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { cookieValue, credentialOf, MalformedApiTokenError, parseApiToken, secretMatches, sessionCookieName, sessionKeyFrom, verifySession } from '../auth/index.ts';
import { findApiToken, lowerRole, roleProblem } from '../state/index.ts';
import type { Actor, Role } from '../state/index.ts';
import { ForbiddenError, UnauthorizedError } from './errors.ts';
import type { ClusterApi } from './service.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a caller needs; default: read-only for GET and HEAD, operator otherwise. */
    role?: Role;
    /** No authentication at all (health, login, logout, the OpenAPI document). */
    public?: boolean;
  }
}

/** Who made a request: the user, the role it is allowed as, how it authenticated. */
export type Principal = Actor;

/** The routes the hook guards: the REST API. /live, /internal, /metrics, the dashboard's files
 *  and the Xtream surface have their own rules. */
export const apiPrefix = '/api/v1/';

const principals = new WeakMap<FastifyRequest, Principal>();

/** The role a route needs when its config names none. */
export function defaultRole(method: string): Role {
  return method === 'GET' || method === 'HEAD' ? 'read-only' : 'operator';
}

/** One read barrier in flight per node, shared by every request that waits on it: an
 *  unauthenticated caller sending made-up token ids must not queue a barrier per request. */
const barriers = new WeakMap<object, Promise<void>>();
function catchUp(api: Pick<AuthApi, 'read'>): Promise<void> {
  let barrier = barriers.get(api);
  if (barrier === undefined) {
    barrier = api.read().catch(() => undefined).finally(() => barriers.delete(api));
    barriers.set(api, barrier);
  }
  return barrier;
}

/** Installs the hook on `app` (call before registering routes, so every route inherits it).
 *  It answers 401 (UnauthorizedError) saying what is missing, or 403 (ForbiddenError) naming the
 *  role needed and the caller's; it runs before the body is parsed. */
export function installAuth(app: FastifyInstance, api: AuthApi): void {
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    // No route matched: the 404 handler answers (saying where the API lives).
    if (route === undefined || !route.startsWith(apiPrefix)) return;
    const config = request.routeOptions.config;
    if (config.public === true) return;
    const principal = await authenticate(api, request);
    principals.set(request, principal);
    const problem = roleProblem(principal.role, config.role ?? defaultRole(request.method));
    if (problem !== null) throw new ForbiddenError(problem);
  });
}

/** Who a request authenticated as. Throws (a bug) on a route the hook does not guard. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (principal === undefined) throw new Error(`route ${request.routeOptions.url ?? request.url} reads the principal but is not authenticated (public, or outside ${apiPrefix})`);
  return principal;
}

/** The actor a change made by this request is proposed and audited as. */
export function actorOf(request: FastifyRequest): Actor {
  return principalOf(request);
}

type AuthApi = Pick<ClusterApi, 'state' | 'read' | 'internalToken' | 'nowMs'>;

async function authenticate(api: AuthApi, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const session = header === undefined ? cookieValue(request.headers.cookie, sessionCookieName) : null;
  if (session !== null) {
    const checked = verifySession(session, sessionKeyFrom(api.internalToken()), api.nowMs());
    if (!checked.ok) throw new UnauthorizedError(checked.reason);
    const users = api.state().users;
    const user = Object.hasOwn(users, checked.session.user) ? users[checked.session.user]! : null;
    if (user === null) throw new UnauthorizedError(`user ${checked.session.user} no longer exists: log in again`);
    if (checked.session.credential !== undefined && checked.session.credential !== credentialOf(user.passwordHash)) {
      throw new UnauthorizedError(`the password of ${user.name} was changed: log in again`);
    }
    if (checked.session.id !== undefined && Object.hasOwn(api.state().revokedSessions, checked.session.id)) {
      throw new UnauthorizedError('this session was ended by logging out: log in again');
    }
    return { user: user.name, role: user.role, via: 'session', tokenId: null };
  }
  return tokenPrincipal(api, header);
}

async function tokenPrincipal(api: AuthApi, header: string | undefined): Promise<Principal> {
  if (header === undefined || header === '') throw new UnauthorizedError('this needs an API token: send the header \'Authorization: Bearer <token>\' (or log in: POST /api/v1/login)');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) throw new UnauthorizedError('the Authorization header must be \'Bearer <token>\'');
  let parsed: { id: string; secret: string };
  try {
    parsed = parseApiToken(match[1]!);
  } catch (err) {
    if (err instanceof MalformedApiTokenError) throw new UnauthorizedError(err.message);
    throw err;
  }
  let state = api.state();
  if (findApiToken(state, parsed.id) === null) {
    // A token made a moment ago through another node may not be applied here yet: catch up once
    // (a read barrier) before calling it unknown. A failed barrier leaves the answer at 401.
    await catchUp(api);
    state = api.state();
  }
  const record = findApiToken(state, parsed.id);
  const user = record !== null && Object.hasOwn(state.users, record.user) ? state.users[record.user]! : null;
  // One message for every case, so the answer does not tell which token ids exist.
  if (record === null || user === null || !secretMatches(parsed.secret, record.secretHash)) {
    throw new UnauthorizedError('unknown or revoked API token (a node that has just joined may not have caught up yet)');
  }
  return { user: user.name, role: lowerRole(user.role, record.role), via: 'token', tokenId: record.id };
}
