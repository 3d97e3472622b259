// Roles: what each may do, as one ordering (read-only < operator < admin) and the least role each
// command needs. The API checks a request's role before proposing (node/http/auth.ts); apply()
// checks a command's actor again against the state it is applied to, so a user demoted or a
// token revoked while the request was in flight cannot slip a change through. Pure.
import { own } from './state.ts';
import type { Actor, BareCommand, ClusterState, Role } from './types.ts';

/** Every role, least first. */
export const roles: readonly Role[] = ['read-only', 'operator', 'admin'];

/** The least role each command needs when an actor proposes it. Commands the leader or the join
 *  protocol proposes on their own carry no actor and are not checked here; an actor proposing
 *  one of them needs admin. */
const commandRoles: Readonly<Record<BareCommand['type'], Role>> = {
  InitCluster: 'admin', JoinNode: 'admin', UpdateNodeAddrs: 'admin',
  CreateJoinToken: 'admin', RemoveNode: 'admin', UpdateSettings: 'admin',
  CreateUser: 'admin', UpdateUser: 'admin', DeleteUser: 'admin', CreateApiToken: 'admin', DeleteApiToken: 'admin', RecordLogin: 'admin', RevokeSession: 'admin',
  AssignStream: 'admin', SetNextWorker: 'admin', SealStream: 'admin', SwitchStream: 'admin', UnassignStream: 'admin',
  SetNodeEnabled: 'operator', SetNodeAdmin: 'operator',
  CreateStream: 'operator', UpdateStream: 'operator', DeleteStream: 'operator',
  CreateService: 'operator', UpdateService: 'operator', DeleteService: 'operator',
  PutGroup: 'operator', DeleteGroup: 'operator', UpdatePolicy: 'operator',
  CreateLine: 'operator', UpdateLine: 'operator', DeleteLine: 'operator',
};

export function commandRole(type: BareCommand['type']): Role {
  return commandRoles[type];
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** True when `role` may do what `needed` may. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed);
}

/** The lesser of two roles. */
export function lowerRole(a: Role, b: Role): Role {
  return roleAtLeast(a, b) ? b : a;
}

/** The refusal for `role` doing what needs `needed`, or null when it may. */
export function roleProblem(role: Role, needed: Role): string | null {
  return roleAtLeast(role, needed) ? null : `this needs the ${needed} role (you are ${role})`;
}

/** The role `actor` has in `state` now: its user's role, capped by its API token's. Or why it
 *  has none (the user was deleted, the token revoked). */
export function actorRole(state: ClusterState, actor: Actor): { ok: true; role: Role } | { ok: false; reason: string } {
  const user = own(state.users, actor.user);
  if (user === undefined) return { ok: false, reason: `user ${actor.user} no longer exists` };
  if (actor.via === 'session') return { ok: true, role: user.role };
  const token = actor.tokenId === null ? undefined : own(state.apiTokens, actor.tokenId);
  if (token === undefined || token.user !== actor.user) return { ok: false, reason: `the API token ${actor.tokenId ?? '(none)'} of ${actor.user} was revoked` };
  return { ok: true, role: lowerRole(user.role, token.role) };
}
