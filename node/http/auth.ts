// Authentication: an API token (`Authorization: Bearer otm_<id>_<secret>`, checked against the
// token records of this node's applied state, the secret's hash in constant time), or the
// dashboard's session cookie (signed, expiring: node/auth/session.ts) of a user that still exists.
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

import { cookieValue, MalformedApiTokenError, parseApiToken, secretMatches, sessionCookieName, sessionKeyFrom, verifySession } from '../auth/index.ts';
import { findApiToken } from '../state/index.ts';
import type { Role } from '../state/index.ts';
import { UnauthorizedError } from './errors.ts';
import type { ClusterApi } from './service.ts';

/** Who made a request: the user behind the API token or the session. */
export interface Principal {
  readonly user: string;
  readonly role: Role;
  readonly via: 'token' | 'session';
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** An onRequest hook that lets the request through only with a valid API token or session
 *  cookie; throws UnauthorizedError (401) saying what is missing. Runs before the body is parsed. */
export function requireApiToken(api: Pick<ClusterApi, 'state' | 'internalToken' | 'nowMs'>): onRequestAsyncHookHandler {
  return async (request) => {
    const header = request.headers.authorization;
    const session = header === undefined ? cookieValue(request.headers.cookie, sessionCookieName) : null;
    if (session !== null) {
      const checked = verifySession(session, sessionKeyFrom(api.internalToken()), api.nowMs());
      if (!checked.ok) throw new UnauthorizedError(checked.reason);
      const user = Object.hasOwn(api.state().users, checked.session.user) ? api.state().users[checked.session.user]! : null;
      if (user === null) throw new UnauthorizedError(`user ${checked.session.user} no longer exists: log in again`);
      principals.set(request, { user: user.name, role: user.role, via: 'session' });
      return;
    }
    const record = authenticate(api.state(), header);
    principals.set(request, { user: record.user, role: record.role, via: 'token' });
  };
}

/** Who a request authenticated as (only inside routes using requireApiToken). */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (principal === undefined) throw new Error(`route ${request.routeOptions.url ?? request.url} reads the principal without requireApiToken`);
  return principal;
}

function authenticate(state: Parameters<typeof findApiToken>[0], header: string | undefined): NonNullable<ReturnType<typeof findApiToken>> {
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
  const record = findApiToken(state, parsed.id);
  // One message for both cases, so the answer does not tell which token ids exist.
  if (record === null || !secretMatches(parsed.secret, record.secretHash)) {
    throw new UnauthorizedError('unknown or revoked API token (a node that has just joined may not have caught up yet)');
  }
  return record;
}
