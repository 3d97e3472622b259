// Whether a join token admits a node at a given time: the rule JoinNode applies, exported so
// the leader can refuse a bad attempt before proposing anything. Pure.
import { isoFromMs } from './names.ts';
import { own } from './state.ts';
import type { ClusterState } from './types.ts';

/** Why the token `tokenId` with secret hash `secretHash` cannot admit a node at `atMs`, or null
 *  when it can. The secret is checked before expiry and uses, so that someone without the
 *  secret learns nothing about the token beyond "does not match". A token is valid while
 *  `atMs < expiresAtMs`: at exactly `expiresAtMs` it has expired. */
export function joinTokenProblem(state: ClusterState, tokenId: string, secretHash: string, atMs: number): string | null {
  const token = own(state.joinTokens, tokenId);
  if (token === undefined) return 'unknown join token: it was never created in this cluster, or expired long ago; create a new one with \'ottmesh token create\'';
  if (!sameHash(token.secretHash, secretHash)) return 'join token secret does not match: copy the whole token again';
  if (atMs >= token.expiresAtMs) return `join token expired at ${isoFromMs(token.expiresAtMs)}: create a new one with 'ottmesh token create'`;
  if (token.usesLeft <= 0) return 'join token used up: create a new one with \'ottmesh token create\' (--uses N for several nodes)';
  return null;
}

/** Compares two hex hashes without stopping at the first difference. The comparison runs on
 *  every replica at apply time, far from any attacker's stopwatch, but it costs nothing. */
function sameHash(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
