// Join tokens: everything a new node needs to reach the cluster and prove it was invited, as
// one copy-pasteable string (base64url of JSON). The state keeps only the secret's hash.
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';

import { InvalidJoinTokenError } from './errors.ts';
import { hashSecret, newSecret, newTokenId } from './secrets.ts';

export const joinTokenFormatVersion = 1;
/** A join token longer than this is refused before decoding (it carries a few addresses). */
export const joinTokenLengthMax = 16 * 1024;

const JoinTokenPayloadSchema = Type.Object({
  v: Type.Literal(joinTokenFormatVersion),
  clusterId: Type.String({ minLength: 1, maxLength: 128 }),
  /** The pre-shared network key, as the p2p layer encodes it. */
  networkKey: Type.String({ minLength: 1, maxLength: 1024 }),
  /** Multiaddrs of members to dial (with /p2p/<id>). */
  addrs: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 32 }),
  tokenId: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  secret: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
}, { additionalProperties: false });
const payloadValidator = Compile(JoinTokenPayloadSchema);

export interface JoinTokenPayload {
  readonly v: 1;
  readonly clusterId: string;
  readonly networkKey: string;
  readonly addrs: readonly string[];
  readonly tokenId: string;
  readonly secret: string;
}

export interface NewJoinSecret {
  readonly tokenId: string;
  readonly secret: string;
  /** What the state stores (JoinTokenRecord.secretHash). */
  readonly secretHash: string;
}

/** A fresh token id and secret; the caller records `{ id: tokenId, secretHash }` in the state
 *  and gives the secret out only inside the encoded token. */
export function newJoinSecret(): NewJoinSecret {
  const secret = newSecret();
  return { tokenId: newTokenId(), secret, secretHash: hashSecret(secret) };
}

/** Throws InvalidJoinTokenError if the payload would not decode again (e.g. no addresses). */
export function encodeJoinToken(payload: JoinTokenPayload): string {
  if (!payloadValidator.Check(payload)) throw new InvalidJoinTokenError(`cannot make a join token: ${firstError(payload)}`);
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** Decodes a token as pasted (surrounding whitespace is ignored). Throws InvalidJoinTokenError
 *  saying what is wrong and what to do. */
export function decodeJoinToken(text: string): JoinTokenPayload {
  const token = text.trim();
  const fail = (why: string): InvalidJoinTokenError =>
    new InvalidJoinTokenError(`this is not a valid join token (${why}): copy the whole last line printed by 'ottmesh token create'`);
  if (token.length === 0) throw fail('it is empty');
  if (token.length > joinTokenLengthMax) throw fail(`it is longer than ${joinTokenLengthMax} characters`);
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw fail('it holds characters a join token never has');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw fail('it does not decode; was it cut short?');
  }
  const version = (value as { v?: unknown } | null)?.v;
  if (typeof version === 'number' && version > joinTokenFormatVersion) {
    throw new InvalidJoinTokenError(`this join token has format ${version}, newer than this ottmesh reads: upgrade ottmesh on this server to the cluster's version`);
  }
  if (!payloadValidator.Check(value)) throw fail(firstError(value));
  return value;
}

function firstError(value: unknown): string {
  const error = payloadValidator.Errors(value).find((e) => e.keyword !== 'boolean');
  if (error === undefined) return 'it does not match the join token format';
  return `${error.instancePath === '' ? 'the token' : error.instancePath.slice(1)} ${error.message}`;
}
