// Accounts: the users who log in to the dashboard and the API tokens scripts use, and the rules
// apply() keeps for them: names, bounds, a token never above its user's role, and always at
// least one admin. Pure: passwords arrive hashed (scrypt, node/auth) and token secrets as sha256.
import { isRole, roleAtLeast } from './roles.ts';
import { own, withEntry, withoutEntries, withoutEntry } from './state.ts';
import type { ApiTokenRecord, ApplyResult, ClusterState, Command, Role, UserRecord } from './types.ts';

/** Most users the cluster keeps (every change copies the table). A cluster has a team, not a crowd. */
export const usersMax = 1000;
/** Most API tokens the cluster keeps, all users together. */
export const apiTokensMax = 1000;
/** Most sessions kept revoked at once (each only until it would have expired: 12 h). */
export const revokedSessionsMax = 10_000;
/** User names: letters, digits and . _ @ - (an e-mail address fits), starting with a letter or digit. */
export const userNamePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const apiTokenNameLengthMax = 64;

const ok: ApplyResult = { ok: true };

interface Applied {
  readonly state: ClusterState;
  readonly result: ApplyResult;
}

type Of<T extends Command['type']> = Extract<Command, { type: T }>;

function refuse(state: ClusterState, reason: string): Applied {
  return { state, result: { ok: false, reason } };
}

/** What is wrong with `user` on its own (null: nothing). */
export function userProblem(user: UserRecord): string | null {
  if (!userNamePattern.test(user.name)) {
    return `the user name "${user.name.slice(0, 64)}" must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '@' and '-', starting with a letter or digit`;
  }
  if (!isRole(user.role)) return `the role "${String(user.role)}" is not one of read-only, operator, admin`;
  return passwordHashProblem(user.name, user.passwordHash);
}

function passwordHashProblem(name: string, passwordHash: string): string | null {
  return passwordHash.startsWith('scrypt$') ? null : `the password of user ${name} is not a scrypt hash: hash it with node/auth hashPassword before proposing`;
}

/** Why `name` is not an acceptable API token name (null: it is). Shown in lists, so no control characters. */
export function apiTokenNameProblem(name: string): string | null {
  if (name.length > apiTokenNameLengthMax) return `an API token name is at most ${apiTokenNameLengthMax} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'an API token name may not hold control characters';
  return null;
}

/** How many users are admins. */
export function adminCount(state: ClusterState): number {
  let n = 0;
  for (const user of Object.values(state.users)) if (user.role === 'admin') n++;
  return n;
}

function lastAdminProblem(state: ClusterState, user: UserRecord, what: string): string | null {
  if (user.role !== 'admin' || adminCount(state) > 1) return null;
  return `user ${user.name} is the last admin: ${what} would leave nobody able to manage users, tokens and settings; make another user admin first`;
}

export function createUser(state: ClusterState, c: Of<'CreateUser'>): Applied {
  const problem = userProblem(c.user);
  if (problem !== null) return refuse(state, problem);
  if (own(state.users, c.user.name) !== undefined) return refuse(state, `a user named ${c.user.name} already exists: change it with PATCH /api/v1/users/${c.user.name}`);
  if (Object.keys(state.users).length >= usersMax) return refuse(state, `there are already ${usersMax} users, the most the cluster keeps: delete unused ones`);
  return { state: { ...state, users: withEntry(state.users, c.user.name, c.user) }, result: ok };
}

/** Changes a user's password and/or role. Lowering the role lowers their API tokens that are above
 *  it, so a demoted user keeps no token with more rights than they have. */
export function updateUser(state: ClusterState, c: Of<'UpdateUser'>): Applied {
  const current = own(state.users, c.name);
  if (current === undefined) return refuse(state, `unknown user ${c.name}: GET /api/v1/users lists them`);
  const user: UserRecord = { ...current, ...(c.passwordHash === undefined ? {} : { passwordHash: c.passwordHash }), ...(c.role === undefined ? {} : { role: c.role }) };
  const problem = userProblem(user);
  if (problem !== null) return refuse(state, problem);
  if (user.role !== 'admin') {
    const lastAdmin = lastAdminProblem(state, current, `making them ${user.role}`);
    if (lastAdmin !== null) return refuse(state, lastAdmin);
  }
  return { state: { ...state, users: withEntry(state.users, user.name, user), apiTokens: capTokens(state.apiTokens, user.name, user.role) }, result: ok };
}

function capTokens(tokens: ClusterState['apiTokens'], user: string, role: Role): ClusterState['apiTokens'] {
  const above = Object.values(tokens).filter((t) => t.user === user && !roleAtLeast(role, t.role));
  let capped = tokens;
  for (const token of above) capped = withEntry(capped, token.id, { ...token, role });
  return capped;
}

/** Removes the user and revokes their API tokens. */
export function deleteUser(state: ClusterState, c: Of<'DeleteUser'>): Applied {
  const current = own(state.users, c.name);
  if (current === undefined) return refuse(state, `unknown user ${c.name}: GET /api/v1/users lists them`);
  const lastAdmin = lastAdminProblem(state, current, 'deleting them');
  if (lastAdmin !== null) return refuse(state, lastAdmin);
  return {
    state: { ...state, users: withoutEntry(state.users, c.name), apiTokens: withoutEntries(state.apiTokens, (_id, token) => token.user === c.name) },
    result: ok,
  };
}

export function createApiToken(state: ClusterState, c: Of<'CreateApiToken'>): Applied {
  const token: ApiTokenRecord = { ...c.token, createdAtMs: c.atMs };
  const user = own(state.users, token.user);
  if (user === undefined) return refuse(state, `unknown user ${token.user}: an API token belongs to an existing user`);
  if (!isRole(token.role)) return refuse(state, `the role "${String(token.role)}" is not one of read-only, operator, admin`);
  if (!roleAtLeast(user.role, token.role)) return refuse(state, `an API token cannot have more rights than its user: ${user.name} is ${user.role}, the token asks for ${token.role}`);
  const nameProblem = apiTokenNameProblem(token.name ?? '');
  if (nameProblem !== null) return refuse(state, nameProblem);
  if (own(state.apiTokens, token.id) !== undefined) return refuse(state, `an API token with id ${token.id} already exists`);
  if (Object.keys(state.apiTokens).length >= apiTokensMax) return refuse(state, `there are already ${apiTokensMax} API tokens, the most the cluster keeps: revoke unused ones`);
  return { state: { ...state, apiTokens: withEntry(state.apiTokens, token.id, token) }, result: ok };
}

export function deleteApiToken(state: ClusterState, c: Of<'DeleteApiToken'>): Applied {
  if (own(state.apiTokens, c.id) === undefined) return refuse(state, `unknown API token ${c.id}: GET /api/v1/api-tokens lists them`);
  return { state: { ...state, apiTokens: withoutEntry(state.apiTokens, c.id) }, result: ok };
}

/** The user's API tokens, oldest first. */
export function tokensOf(state: ClusterState, user: string): ApiTokenRecord[] {
  return Object.values(state.apiTokens).filter((t) => t.user === user).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
}

/** A logout: the session is refused until it would have expired; expired ones are dropped. */
export function revokeSession(state: ClusterState, c: Of<'RevokeSession'>): Applied {
  const live = withoutEntries(state.revokedSessions, (_id, expiresAtMs) => expiresAtMs <= c.atMs);
  if (c.expiresAtMs <= c.atMs) return { state: { ...state, revokedSessions: live }, result: ok };
  if (own(live, c.sessionId) === undefined && Object.keys(live).length >= revokedSessionsMax) {
    return refuse(state, `${revokedSessionsMax} sessions are revoked already, the most the cluster keeps: this one stays valid until it expires (change the password to end every session of ${c.user})`);
  }
  return { state: { ...state, revokedSessions: withEntry(live, c.sessionId, c.expiresAtMs) }, result: ok };
}
