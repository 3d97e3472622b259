// Secrets: API tokens, join tokens, secret hashes and passwords. The adapter side (node:crypto)
export { redactedUrl } from './redact.ts';
// of what the state stores as hashes.
export { newApiToken, parseApiToken, secretMatches } from './api-token.ts';
export type { NewApiToken } from './api-token.ts';
export { InvalidJoinTokenError, MalformedApiTokenError, PasswordHashFormatError } from './errors.ts';
export { decodeJoinToken, encodeJoinToken, joinTokenFormatVersion, joinTokenLengthMax, newJoinSecret } from './join-token.ts';
export type { JoinTokenPayload, NewJoinSecret } from './join-token.ts';
export { dummyPasswordHash, generatePassword, generatedPasswordLength, hashPassword, verifyPassword } from './password.ts';
export { hashSecret, newSecret, newTokenId, sameHash } from './secrets.ts';
export { cookieValue, credentialOf, newSessionId, sessionCookieName, sessionKeyFrom, sessionTtlMs, signSession, verifySession } from './session.ts';
export type { Session } from './session.ts';
