// A FakeApi whose state has one user per role, each with an API token, for the role and account
// tests: admin (the init token), bob the operator, carol read-only. Passwords are real scrypt
// hashes (made once: about 50-100 ms each).
import { hashPassword, newApiToken } from '../../node/auth/index.ts';
import type { NewApiToken } from '../../node/auth/index.ts';
import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { apply } from '../../node/state/index.ts';
import type { ClusterState, Command, Role } from '../../node/state/index.ts';
import { adminApiToken, FakeApi, nowMs } from './fake-api.ts';

export const passwords = { admin: 'admin-password-1', bob: 'bob-password-12', carol: 'carol-password-1' } as const;
const hashes = {
  admin: await hashPassword(passwords.admin), bob: await hashPassword(passwords.bob), carol: await hashPassword(passwords.carol),
};

export const tokens: Record<Role, NewApiToken> = { 'admin': adminApiToken, 'operator': newApiToken(), 'read-only': newApiToken() };

export function bearer(role: Role): { authorization: string } {
  return { authorization: `Bearer ${tokens[role].token}` };
}

/** Applies `commands` (no actor) to `state`, throwing on a refusal. */
export function applied(state: ClusterState, ...commands: Command[]): ClusterState {
  for (const command of commands) {
    const result = apply(state, command);
    if (!result.result.ok) throw new Error(`fixture ${command.type}: ${result.result.reason}`);
    state = result.state;
  }
  return state;
}

export function teamApi(nodeId = 'p1', name = 'alpha'): FakeApi {
  const api = new FakeApi(nodeId, name);
  const base = { ...api.current, users: { admin: { name: 'admin', passwordHash: hashes.admin, role: 'admin' as const } } };
  api.current = applied(base,
    { type: 'CreateUser', atMs: nowMs, user: { name: 'bob', passwordHash: hashes.bob, role: 'operator' } },
    { type: 'CreateUser', atMs: nowMs, user: { name: 'carol', passwordHash: hashes.carol, role: 'read-only' } },
    { type: 'CreateApiToken', atMs: nowMs, token: { id: tokens.operator.id, name: 'bob-ci', secretHash: tokens.operator.secretHash, user: 'bob', role: 'operator', createdAtMs: 0 } },
    { type: 'CreateApiToken', atMs: nowMs, token: { id: tokens['read-only'].id, name: 'carol-dash', secretHash: tokens['read-only'].secretHash, user: 'carol', role: 'read-only', createdAtMs: 0 } },
  );
  return api;
}

const servers: HttpServer[] = [];

export function serve(api: FakeApi): HttpServer {
  const app = buildServer({ api });
  servers.push(app);
  return app;
}

export async function closeAll(): Promise<void> {
  await Promise.all(servers.splice(0).map((app) => app.close()));
}

/** Logs `user` in; the Cookie header value of the session. */
export async function login(app: HttpServer, user: string, password: string = (passwords as Record<string, string>)[user] ?? ''): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: user, password } });
  if (res.statusCode !== 200) throw new Error(`login of ${user}: ${res.statusCode} ${res.body}`);
  return String(res.headers['set-cookie']).split(';')[0]!;
}
