// Commands and the state as bytes (JSON) for the Raft log and snapshots, decoded with schema
// checks. Pure.
import { Compile } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';

import { emptyAudit, emptyChannels, emptyLines, emptyRevokedSessions } from './state.ts';
import { auditEntries, auditPageSize } from './audit.ts';
import { CorruptCommandError, CorruptSnapshotError, InvalidCommandError, UnknownCommandError } from './errors.ts';
import { commandSchemas, ClusterStateSchema } from './schema.ts';
import type { CommandType } from './schema.ts';
import type { AuditEntry, ClusterState, Command } from './types.ts';

/** Bumped when the snapshot layout changes incompatibly; a node refuses a newer one. */
export const snapshotFormatVersion = 1;
/** A command larger than this is refused at encode time (one entry, sent to every replica). */
export const commandBytesMax = 64 * 1024;

const commandValidators = Object.fromEntries(
  Object.entries(commandSchemas).map(([type, schema]) => [type, Compile(schema)]),
) as Record<CommandType, ReturnType<typeof Compile>>;
const stateValidator = Compile(ClusterStateSchema);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The command as log-entry bytes. Throws InvalidCommandError (naming the field) when it does
 *  not match its schema or is too large: a command that would not decode never reaches the log. */
export function encodeCommand(command: Command): Uint8Array {
  const type: string = command.type;
  const validator = Object.hasOwn(commandValidators, type) ? commandValidators[type as CommandType] : undefined;
  if (validator === undefined) throw new InvalidCommandError(`unknown command type "${type}"`);
  if (!validator.Check(command)) throw new InvalidCommandError(`${type} command: ${describe(validator.Errors(command))}`);
  const bytes = encoder.encode(JSON.stringify(command));
  if (bytes.length > commandBytesMax) throw new InvalidCommandError(`${type} command is ${bytes.length} bytes, more than the ${commandBytesMax} allowed`);
  return bytes;
}

/** Decodes a committed entry's command. Throws UnknownCommandError for a type this version does
 *  not know, CorruptCommandError for anything else that is not a valid command. `index` (the
 *  entry's) only goes into the messages. */
export function decodeCommand(bytes: Uint8Array, index?: number): Command {
  const where = index === undefined ? 'a committed entry' : `committed entry ${index}`;
  const value = parseJson(bytes, (why) => new CorruptCommandError(`${where} is not a command (${why})`));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CorruptCommandError(`${where} is not a command object`);
  const type: unknown = (value as { type?: unknown }).type;
  if (typeof type !== 'string') throw new CorruptCommandError(`${where} has no command type`);
  if (!Object.hasOwn(commandValidators, type)) throw new UnknownCommandError(type, index);
  const validator = commandValidators[type as CommandType];
  if (!validator.Check(value)) throw new CorruptCommandError(`${where}: ${type} command: ${describe(validator.Errors(value))}`);
  return value as Command;
}

/** The whole state as snapshot bytes: the JSON of {v, state}, the audit log last in the state.
 *  A full audit page never changes (withAuditEntry copies, and only the last page grows), so its
 *  bytes are made once and kept with it: a snapshot of a state with 10,000 entries cost 5-7 ms
 *  of JSON and UTF-8 every 10,000 writes (15-22 ms under load), on every node at about the same
 *  moment; now it copies the cached pages. */
export function encodeState(state: ClusterState): Uint8Array {
  const { audit, ...rest } = withoutEmptyRevokedSessions(withoutUnsetFloatingAddress(state));
  const others = JSON.stringify(rest); // "{...}"
  const fields = others === '{}' ? '' : `${others.slice(1, -1)},`;
  const parts: Uint8Array[] = [encoder.encode(`{"v":${snapshotFormatVersion},"state":{${fields}"audit":[`)];
  audit.forEach((page, i) => {
    if (i > 0) parts.push(comma);
    parts.push(pageBytes(page));
  });
  parts.push(closing);
  const bytes = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return bytes;
}

const comma = encoder.encode(',');
const closing = encoder.encode(']}}');
const fullPageBytes = new WeakMap<readonly AuditEntry[], Uint8Array>();

function pageBytes(page: readonly AuditEntry[]): Uint8Array {
  if (page.length < auditPageSize) return encoder.encode(JSON.stringify(page));
  let bytes = fullPageBytes.get(page);
  if (bytes === undefined) {
    bytes = encoder.encode(JSON.stringify(page));
    fullPageBytes.set(page, bytes);
  }
  return bytes;
}

/** No session revoked: the table is left out, as versions before it wrote the state. */
function withoutEmptyRevokedSessions(state: ClusterState): ClusterState {
  if (Object.keys(state.revokedSessions).length > 0) return state;
  const { revokedSessions: _none, ...older } = state;
  return older as ClusterState;
}

/** A cluster with no floating address writes its settings as versions before it did, so a node
 *  not yet upgraded (a rolling upgrade) still reads the snapshot; decodeState() fills them in. */
function withoutUnsetFloatingAddress(state: ClusterState): ClusterState {
  const { floatingAddress, floatingInterface, ...older } = state.settings;
  if (floatingAddress !== null || floatingInterface !== null) return state;
  return { ...state, settings: older as ClusterState['settings'] };
}

/** Decodes snapshot bytes. Throws CorruptSnapshotError saying what is wrong. */
export function decodeState(bytes: Uint8Array): ClusterState {
  const value = parseJson(bytes, (why) => new CorruptSnapshotError(`the cluster state snapshot is not JSON (${why})`));
  const parsed = (typeof value === 'object' && value !== null ? value : {}) as { v?: unknown; state?: unknown };
  const v = parsed.v;
  let state = parsed.state;
  if (typeof v !== 'number') throw new CorruptSnapshotError('the cluster state snapshot has no format version');
  if (v > snapshotFormatVersion) {
    throw new CorruptSnapshotError(`the cluster state snapshot has format ${v}, newer than this version reads (${snapshotFormatVersion}): ` +
      'upgrade this node to the version the rest of the cluster runs');
  }
  // Snapshots from before issue 4 have no channel fields: they start empty.
  if (typeof state === 'object' && state !== null && !('streams' in state)) state = { ...emptyChannels, ...state };
  // Snapshots from before issue 5 have no viewer lines.
  if (typeof state === 'object' && state !== null && !('lines' in state)) state = { ...emptyLines, ...state };
  // Snapshots from before the audit log have none.
  if (typeof state === 'object' && state !== null && !('audit' in state)) state = { ...emptyAudit, ...state };
  // Snapshots from before replicated logouts, or with none revoked, have no such table.
  if (typeof state === 'object' && state !== null && !('revokedSessions' in state)) state = { ...emptyRevokedSessions, ...state };
  // Snapshots from before the floating address have no such settings: none.
  const settings = (state as { settings?: unknown } | null)?.settings;
  if (typeof settings === 'object' && settings !== null && !('floatingAddress' in settings)) {
    state = { ...(state as object), settings: { floatingAddress: null, floatingInterface: null, ...settings } };
  }
  // Snapshots of the first audit log (one flat list, a few hours of development): into pages.
  const audit = (state as { audit?: unknown } | null)?.audit;
  if (Array.isArray(audit) && audit.length > 0 && !Array.isArray(audit[0])) state = { ...(state as object), audit: pagesOf(audit) };
  if (!stateValidator.Check(state)) throw new CorruptSnapshotError(`the cluster state snapshot is damaged: ${describe(stateValidator.Errors(state))}`);
  const decoded = state as ClusterState;
  const misfiled = misfiledKey(decoded) ?? auditOrderProblem(decoded);
  if (misfiled !== null) throw new CorruptSnapshotError(`the cluster state snapshot is damaged: ${misfiled}`);
  return decoded;
}

/** Every record must sit under its own id (name for users). */
function misfiledKey(state: ClusterState): string | null {
  const tables: [string, Readonly<Record<string, { id?: string; name?: string; streamId?: string; username?: string }>>, 'id' | 'name' | 'streamId' | 'username'][] = [
    ['nodes', state.nodes, 'id'], ['joinTokens', state.joinTokens, 'id'], ['users', state.users, 'name'], ['apiTokens', state.apiTokens, 'id'],
    ['streams', state.streams, 'id'], ['services', state.services, 'id'], ['groups', state.groups, 'name'], ['assignments', state.assignments, 'streamId'], ['lines', state.lines, 'username'],
  ];
  for (const [table, records, field] of tables) {
    for (const [key, record] of Object.entries(records)) {
      if (record[field] !== key) return `/${table}/${key} holds the record of ${String(record[field])}`;
    }
  }
  return null;
}

function pagesOf(entries: readonly unknown[]): unknown[][] {
  const pages: unknown[][] = [];
  for (let i = 0; i < entries.length; i += auditPageSize) pages.push(entries.slice(i, i + auditPageSize));
  return pages;
}

/** Audit ids grow along the log (apply() takes the next id from the last entry), and every page
 *  but the last is full (withAuditEntry's bound counts on it). */
function auditOrderProblem(state: ClusterState): string | null {
  const partial = state.audit.findIndex((page, i) => i < state.audit.length - 1 && page.length !== auditPageSize);
  if (partial >= 0) return `/audit/${partial} has ${state.audit[partial]!.length} entries: only the last page may have fewer than ${auditPageSize}`;
  const entries = auditEntries(state);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.id <= entries[i - 1]!.id) return `audit entry ${i} has id ${entries[i]!.id}, not more than the one before it`;
  }
  return null;
}

function parseJson(bytes: Uint8Array, fail: (why: string) => Error): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw fail((err as Error).message);
  }
}

/** The first meaningful schema error as "<path> <message>". TypeBox reports an unexpected field
 *  twice (a "schema is false" at the field, then additionalProperties at the object). */
export function describe(errors: readonly TLocalizedValidationError[]): string {
  const error = errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
  if (error === undefined) return 'does not match its schema';
  const path = error.instancePath === '' ? '/' : error.instancePath;
  if (error.keyword === 'additionalProperties') return `${path} has unexpected fields: ${error.params.additionalProperties.join(', ')}`;
  return `${path} ${error.message}`;
}
