// Dashboard sessions: a signed, expiring cookie value that every node can check without shared
// session storage: `s1.<base64url JSON {u, r, exp, h, s}>.<base64url HMAC-SHA256>`, signed with a key
// every member derives from the cluster's secret (so a restart or another node accepts it, and
// nothing else can make one). `h` fingerprints the password hash the user had at login, so
// changing the password ends every session of theirs; deleting the user does too (the API looks
// the user up on every request, and takes the role from the state, not from `r`). `s` is the
// session's random id: logging out clears the cookie and revokes the id cluster-wide
// (RevokeSession, kept in the state until `exp`), so a copy of the cookie is refused too.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { isRole } from '../state/index.ts';
import type { Role } from '../state/index.ts';

export const sessionCookieName = 'ottmesh_session';
export const sessionTtlMs = 12 * 3_600_000;
const version = 's1';

export interface Session {
  readonly user: string;
  /** The role at login (informational: the API uses the user's current role). */
  readonly role: Role;
  readonly expiresAtMs: number;
  /** credentialOf(the user's password hash) at login; absent in cookies made before it existed. */
  readonly credential?: string;
  /** The session's id (newSessionId()), what a logout revokes; absent in older cookies. */
  readonly id?: string;
}

/** A new session's id: 16 random bytes, base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** A short fingerprint of a password hash (not reversible to it, and the hash is salted anyway). */
export function credentialOf(passwordHash: string): string {
  return createHash('sha256').update(`ottmesh/session-credential/1\0${passwordHash}`).digest('base64url').slice(0, 22);
}

function mac(key: string, payload: string): string {
  return createHmac('sha256', key).update(`${version}.${payload}`).digest('base64url');
}

export function signSession(session: Session, key: string): string {
  const payload = Buffer.from(JSON.stringify({
    u: session.user, r: session.role, exp: session.expiresAtMs,
    ...(session.credential === undefined ? {} : { h: session.credential }), ...(session.id === undefined ? {} : { s: session.id }),
  })).toString('base64url');
  return `${version}.${payload}.${mac(key, payload)}`;
}

/** The session a cookie value carries, or why not (null value: no session). */
export function verifySession(value: string, key: string, nowMs: number): { ok: true; session: Session } | { ok: false; reason: string } {
  const [v, payload, sig] = value.split('.');
  if (v !== version || payload === undefined || sig === undefined) return { ok: false, reason: 'the session cookie is malformed: log in again' };
  const expected = Buffer.from(mac(key, payload));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'the session cookie is not valid for this cluster: log in again' };
  let data: { u?: unknown; r?: unknown; exp?: unknown; h?: unknown; s?: unknown };
  try {
    data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof data;
  } catch {
    return { ok: false, reason: 'the session cookie is malformed: log in again' };
  }
  if (typeof data.u !== 'string' || !isRole(data.r) || typeof data.exp !== 'number' || (data.h !== undefined && typeof data.h !== 'string') || (data.s !== undefined && (typeof data.s !== 'string' || data.s.length === 0 || data.s.length > 64))) {
    return { ok: false, reason: 'the session cookie is malformed: log in again' };
  }
  if (data.exp <= nowMs) return { ok: false, reason: 'the session has expired: log in again' };
  return { ok: true, session: { user: data.u, role: data.r, expiresAtMs: data.exp, ...(data.h === undefined ? {} : { credential: data.h }), ...(data.s === undefined ? {} : { id: data.s }) } };
}

/** The key sessions are signed with, from the cluster's internal secret. */
export function sessionKeyFrom(internalSecret: string): string {
  return createHmac('sha256', internalSecret).update('ottmesh/session/1').digest('hex');
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
