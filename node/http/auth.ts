// API token authentication: `Authorization: Bearer otm_<id>_<secret>`, checked against the
// token records of this node's applied state (the secret's hash, in constant time).
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

import { MalformedApiTokenError, parseApiToken, secretMatches } from '../auth/index.ts';
import { findApiToken } from '../state/index.ts';
import type { ApiTokenRecord } from '../state/index.ts';
import { UnauthorizedError } from './errors.ts';
import type { ClusterApi } from './service.ts';

const principals = new WeakMap<FastifyRequest, ApiTokenRecord>();

/** An onRequest hook that lets the request through only with a valid API token; throws
 *  UnauthorizedError (401) saying what is missing. Runs before the body is parsed. */
export function requireApiToken(api: Pick<ClusterApi, 'state'>): onRequestAsyncHookHandler {
  return async (request) => {
    principals.set(request, authenticate(api.state(), request.headers.authorization));
  };
}

/** The token record a request authenticated with (only inside routes using requireApiToken). */
export function principalOf(request: FastifyRequest): ApiTokenRecord {
  const principal = principals.get(request);
  if (principal === undefined) throw new Error(`route ${request.routeOptions.url ?? request.url} reads the principal without requireApiToken`);
  return principal;
}

function authenticate(state: Parameters<typeof findApiToken>[0], header: string | undefined): ApiTokenRecord {
  if (header === undefined || header === '') throw new UnauthorizedError('this needs an API token: send the header \'Authorization: Bearer <token>\'');
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
