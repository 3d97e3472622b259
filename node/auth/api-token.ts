// API tokens: `otm_<id>_<secret>`. The id finds the record in the replicated state; the state
// holds only the secret's sha256, compared in constant time.
import { MalformedApiTokenError } from './errors.ts';
import { hashSecret, newSecret, newTokenId, sameHash } from './secrets.ts';

const apiTokenPattern = /^otm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewApiToken {
  /** What the user keeps and sends as `Authorization: Bearer <token>`. */
  readonly token: string;
  readonly id: string;
  /** What the state stores (ApiTokenRecord.secretHash). */
  readonly secretHash: string;
}

export function newApiToken(): NewApiToken {
  const id = newTokenId();
  const secret = newSecret();
  return { token: `otm_${id}_${secret}`, id, secretHash: hashSecret(secret) };
}

/** Splits a token into id and secret. Throws MalformedApiTokenError when it is not one. */
export function parseApiToken(token: string): { readonly id: string; readonly secret: string } {
  const match = apiTokenPattern.exec(token.trim());
  if (match === null) throw new MalformedApiTokenError('this is not an ottmesh API token (expected otm_<id>_<secret>): use the one in the data directory\'s admin-token file');
  return { id: match[1]!, secret: match[2]! };
}

/** True when `secret` is the one whose hash is `secretHash`. Constant-time. */
export function secretMatches(secret: string, secretHash: string): boolean {
  return sameHash(hashSecret(secret), secretHash);
}
