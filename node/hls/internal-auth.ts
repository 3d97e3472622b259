// The bearer token of the node-to-node HLS routes (/internal/v1/hls/...): workers serve their
// files to gateways and gateways fill each other's holes with it. Every member derives the same
// token from the cluster's network key (which only members hold), so nothing new is stored or
// replicated; a viewer or an outsider has neither.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const tokenLabel = 'ottmesh/internal-http/1';

/** The internal token for a network key (the libp2p pre-shared key bytes): 64 hex digits. */
export function internalTokenFromNetworkKey(networkKey: Uint8Array): string {
  return createHmac('sha256', networkKey).update(tokenLabel).digest('hex');
}

export type InternalAuthCheck = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** Checks an Authorization header against the token, in constant time (hashes of both sides
 *  are compared, so the length of the token does not leak either). */
export function checkInternalAuth(header: string | undefined, token: string): InternalAuthCheck {
  if (header === undefined || header === '') return { ok: false, message: 'this is a node-to-node route: send Authorization: Bearer <internal token>' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) return { ok: false, message: 'the Authorization header must be \'Bearer <internal token>\'' };
  const given = createHash('sha256').update(match[1]!).digest();
  const expected = createHash('sha256').update(token).digest();
  if (token === '' || !timingSafeEqual(given, expected)) return { ok: false, message: 'wrong internal token: is this node a member of the same cluster (same network key)?' };
  return { ok: true };
}
