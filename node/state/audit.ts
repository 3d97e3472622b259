// The audit log: who changed what, when. apply() appends an entry for every command that carries
// an actor and was accepted, in the same step as the change (so the log and the state never
// disagree), plus dashboard logins. Bounded: the newest auditEntriesMax are kept. Summaries name
// what changed, never a value that could be secret (passwords, token secrets, source URLs that may
// carry credentials, signing secrets): only field names for those. Pure.
import { isoFromMs } from './names.ts';
import { own } from './state.ts';
import type { Actor, AuditEntry, BareCommand, ClusterState, Role } from './types.ts';

/** Entries kept at least; beyond this the oldest page goes (so at most this plus a page less one
 *  are kept). About 250 bytes each in a snapshot. */
export const auditEntriesMax = 10_000;
/** Entries per page of the log (ClusterState.audit). */
export const auditPageSize = 100;
/** Longest summary kept (longer ones are cut with an ellipsis). */
export const auditSummaryLengthMax = 200;
const targetLengthMax = 128;
/** Stands for a login name that matches no user. */
export const unknownUser = '(unknown user)';

type Of<T extends BareCommand['type']> = Extract<BareCommand, { type: T }>;

/** Every entry of the log, oldest first. */
export function auditEntries(state: ClusterState): AuditEntry[] {
  return state.audit.flat();
}

/** `state` with one more entry (the next id), the oldest page dropped once the others hold
 *  auditEntriesMax. Copies the last page and the list of pages, never the whole log. */
export function withAuditEntry(state: ClusterState, entry: Omit<AuditEntry, 'id'>): ClusterState {
  const pages = state.audit;
  const last = pages.at(-1);
  const id = (last?.at(-1)?.id ?? 0) + 1;
  const added = { id, ...entry, target: cut(entry.target, targetLengthMax), summary: cut(entry.summary, auditSummaryLengthMax) };
  let next: (readonly AuditEntry[])[];
  if (last === undefined || last.length >= auditPageSize) {
    next = [...pages, [added]];
  } else {
    next = pages.slice(); // one copy of the list on every write, not a slice and a spread
    next[next.length - 1] = [...last, added];
  }
  const count = (next.length - 1) * auditPageSize + next.at(-1)!.length;
  if (count - auditPageSize >= auditEntriesMax) next = next.slice(1);
  return { ...state, audit: next };
}

/** The entry for `command`, made by `actor` allowed as `role`, as applied to `before`. */
export function auditEntryOf(before: ClusterState, command: BareCommand, actor: Actor, role: Role): Omit<AuditEntry, 'id'> {
  const { target, summary } = describeChange(before, command);
  return { atMs: command.atMs, user: actor.user, role, via: actor.via, tokenId: actor.tokenId, action: command.type, target, summary };
}

/** The entry for a dashboard login attempt. */
export function loginEntryOf(c: Of<'RecordLogin'>): Omit<AuditEntry, 'id'> {
  const skipped = c.unrecorded > 0 ? ` (${c.unrecorded} earlier attempts on that node were not recorded: over its budget)` : '';
  return {
    // A name that is no user's may be a password typed in the wrong field: never recorded.
    atMs: c.atMs, user: c.role === null ? unknownUser : c.user, role: c.role, via: 'session', tokenId: null, action: c.ok ? 'Login' : 'LoginFailed', target: c.role === null ? unknownUser : c.user,
    summary: `${c.ok ? 'logged in' : 'failed login (wrong username or password)'} from ${c.from}${skipped}`,
  };
}

/** The entry for a logout (the session it ended is refused from then on). */
export function logoutEntryOf(before: ClusterState, c: Of<'RevokeSession'>): Omit<AuditEntry, 'id'> {
  const role = own(before.users, c.user)?.role ?? null;
  return { atMs: c.atMs, user: c.user, role, via: 'session', tokenId: null, action: 'Logout', target: c.user, summary: 'logged out (the session is refused from now on)' };
}

/** What `command` acts on and a short account of it, from the state before it applied. */
export function describeChange(before: ClusterState, command: BareCommand): { target: string; summary: string } {
  const nodeName = (id: string) => own(before.nodes, id)?.name ?? id;
  switch (command.type) {
    case 'SetNodeEnabled': return { target: command.id, summary: `${command.enabled ? 'enabled' : 'disabled'} node ${nodeName(command.id)}` };
    case 'SetNodeAdmin': {
      const parts = [
        command.draining === undefined ? null : `draining ${command.draining ? 'on' : 'off'}`,
        command.weight === undefined ? null : `weight ${command.weight}`,
        command.groups === undefined ? null : `groups [${command.groups.join(', ')}]`,
      ].filter((p) => p !== null);
      return { target: command.id, summary: `node ${nodeName(command.id)}: ${parts.join(', ') || 'no change'}` };
    }
    case 'RemoveNode': return { target: command.id, summary: `removed node ${nodeName(command.id)} (${command.id}) from the cluster` };
    case 'UpdateSettings': return { target: 'settings', summary: `settings: ${Object.entries(command.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ') || 'no change'}` };
    case 'CreateJoinToken': {
      const t = command.token;
      const groups = t.groups.length === 0 ? '' : `, groups [${t.groups.join(', ')}]`;
      return { target: t.id, summary: `created join token ${t.id}: ${t.usesLeft} use${t.usesLeft === 1 ? '' : 's'}, valid until ${isoFromMs(t.expiresAtMs)}${groups}` };
    }
    case 'CreateStream': return { target: command.stream.id, summary: `created stream ${command.stream.id} "${command.stream.name}"${command.stream.enabled ? '' : ' (disabled)'}` };
    case 'UpdateStream': return { target: command.stream.id, summary: `changed stream ${command.stream.id}${fieldsChanged(own(before.streams, command.stream.id), command.stream)}` };
    case 'DeleteStream': return { target: command.id, summary: `deleted stream ${command.id}` };
    case 'CreateService': return { target: command.service.id, summary: `created service ${command.service.id} "${command.service.name}"` };
    case 'UpdateService': return { target: command.service.id, summary: `changed service ${command.service.id}${fieldsChanged(own(before.services, command.service.id), command.service)}` };
    case 'DeleteService': return { target: command.id, summary: `deleted service ${command.id}` };
    case 'PutGroup': return { target: command.group.name, summary: `${own(before.groups, command.group.name) === undefined ? 'created' : 'changed'} group ${command.group.name}: priority ${command.group.priority}` };
    case 'DeleteGroup': return { target: command.name, summary: `deleted group ${command.name}` };
    case 'UpdatePolicy': {
      const changed = [...changedKeys(before.policy, command.policy), ...(command.hls === undefined ? [] : changedKeys(before.hls, command.hls).map((k) => `hls.${k}`))];
      return { target: 'policy', summary: `changed the cluster policy${changed.length === 0 ? ' (no change)' : `: ${changed.join(', ')}`}` };
    }
    case 'CreateLine': return { target: command.line.username, summary: `created line ${command.line.username}: ${lineTerms(command.line)}` };
    case 'UpdateLine': return { target: command.line.username, summary: `changed line ${command.line.username}${fieldsChanged(own(before.lines, command.line.username), command.line)}` };
    case 'DeleteLine': return { target: command.username, summary: `deleted line ${command.username}` };
    case 'CreateUser': return { target: command.user.name, summary: `created user ${command.user.name} (${command.user.role})` };
    case 'UpdateUser': {
      const old = own(before.users, command.name);
      const parts = [
        command.role === undefined || command.role === old?.role ? null : `role ${old?.role ?? '?'} -> ${command.role}`,
        command.passwordHash === undefined ? null : 'password changed',
      ].filter((p) => p !== null);
      return { target: command.name, summary: `changed user ${command.name}: ${parts.join(', ') || 'no change'}` };
    }
    case 'DeleteUser': {
      const tokens = Object.values(before.apiTokens).filter((t) => t.user === command.name).length;
      return { target: command.name, summary: `deleted user ${command.name}${tokens === 0 ? '' : ` and revoked their ${tokens} API token${tokens === 1 ? '' : 's'}`}` };
    }
    case 'CreateApiToken': {
      const t = command.token;
      return { target: t.id, summary: `created API token ${t.id}${t.name ? ` "${t.name}"` : ''} (${t.role}) for ${t.user}` };
    }
    case 'DeleteApiToken': {
      const t = own(before.apiTokens, command.id);
      return { target: command.id, summary: `revoked API token ${command.id}${t?.name ? ` "${t.name}"` : ''}${t === undefined ? '' : ` of ${t.user}`}` };
    }
    // Proposed by the leader, the join protocol or init, with no actor: described only in case one carries one.
    case 'InitCluster': return { target: command.clusterId, summary: `created cluster ${command.clusterId}` };
    case 'JoinNode': return { target: command.node.id, summary: `node ${command.node.name} joined with join token ${command.tokenId}` };
    case 'UpdateNodeAddrs': return { target: command.id, summary: `node ${nodeName(command.id)} changed its addresses` };
    case 'AssignStream': case 'SetNextWorker': case 'SealStream': case 'SwitchStream': case 'UnassignStream':
      return { target: command.streamId, summary: `${command.type} ${command.streamId}` };
    case 'RecordLogin': return { target: command.user, summary: loginEntryOf(command).summary };
    case 'RevokeSession': return { target: command.user, summary: logoutEntryOf(before, command).summary };
  }
}

function lineTerms(line: { maxConnections: number; expiresAtMs: number | null; enabled: boolean }): string {
  const expiry = line.expiresAtMs === null ? 'never expires' : `expires ${isoFromMs(line.expiresAtMs)}`;
  return `${line.maxConnections} connection${line.maxConnections === 1 ? '' : 's'}, ${expiry}${line.enabled ? '' : ', disabled'}`;
}

/** " (a, b)": the top-level fields whose values differ; names only, never values. */
function fieldsChanged(old: object | undefined, next: object): string {
  if (old === undefined) return '';
  const keys = changedKeys(old, next).filter((k) => k !== 'createdAtMs');
  return keys.length === 0 ? ' (no change)' : ` (${keys.map((k) => (k === 'passwordHash' ? 'password' : k)).join(', ')})`;
}

function changedKeys(old: object, next: object): string[] {
  const a = old as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** What GET /api/v1/audit filters by; every field optional but `limit`. */
export interface AuditFilter {
  readonly user?: string;
  readonly action?: string;
  readonly target?: string;
  /** A case-insensitive substring of the summary or the target. */
  readonly q?: string;
  /** Inclusive bounds on atMs. */
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly limit: number;
}

/** The entries matching `filter`, newest first, at most `limit`; `total` counts every match. */
export function queryAudit(entries: readonly AuditEntry[], filter: AuditFilter): { entries: AuditEntry[]; total: number } {
  const q = filter.q?.toLowerCase();
  const matches = (e: AuditEntry): boolean =>
    (filter.user === undefined || e.user === filter.user) &&
    (filter.action === undefined || e.action === filter.action) &&
    (filter.target === undefined || e.target === filter.target) &&
    (filter.sinceMs === undefined || e.atMs >= filter.sinceMs) &&
    (filter.untilMs === undefined || e.atMs <= filter.untilMs) &&
    (q === undefined || e.summary.toLowerCase().includes(q) || e.target.toLowerCase().includes(q));
  const found: AuditEntry[] = [];
  let total = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (!matches(entry)) continue;
    total++;
    if (found.length < filter.limit) found.push(entry);
  }
  return { entries: found, total };
}
