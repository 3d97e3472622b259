// Random ids and secrets, and the sha256 hashes the replicated state stores instead of secrets.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Token ids: 8 random bytes as 16 hex characters (never contain '_', so they can sit inside
 *  `otm_<id>_<secret>`). Unique enough for the few thousand tokens a cluster keeps. */
export const tokenIdBytes = 8;
/** Secrets: 32 random bytes, base64url without padding (43 characters). */
export const secretBytes = 32;

export function newTokenId(): string {
  return randomBytes(tokenIdBytes).toString('hex');
}

export function newSecret(): string {
  return randomBytes(secretBytes).toString('base64url');
}

/** sha256 of the secret's UTF-8 bytes, as lowercase hex: what the state stores. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex hashes (false when the lengths differ). */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
