// Viewer lines (issue 5): the accounts IPTV players use on the Xtream Codes surface. Validation
// and the transitions apply() delegates to. Pure: the password arrives already hashed (the API
// hashes with scrypt, node/auth), and time is the command's atMs.
import { own, withEntry, withoutEntry } from './state.ts';
import type { ApplyResult, ClusterState, Command, LineRecord } from './types.ts';

/** Most lines the cluster keeps. Every change copies the table (the state is immutable), so this
 *  bounds what one write costs; a reseller's panel holds thousands, not millions. */
export const linesMax = 20_000;
/** Most simultaneous viewers one line may be given. */
export const lineConnectionsMax = 1000;
/** Usernames go into player URLs (/live/<user>/<pass>/<id>.ts) and query strings unescaped by
 *  many players, so only characters that need no escaping anywhere. */
export const usernamePattern = /^[A-Za-z0-9._-]{1,64}$/;

const ok: ApplyResult = { ok: true };

interface Applied {
  readonly state: ClusterState;
  readonly result: ApplyResult;
}

function refuse(state: ClusterState, reason: string): Applied {
  return { state, result: { ok: false, reason } };
}

/** What is wrong with `line` on its own (null: nothing). */
export function lineProblem(line: LineRecord): string | null {
  if (!usernamePattern.test(line.username)) {
    return `the line username "${line.username}" must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (it appears in player URLs)`;
  }
  if (!line.passwordHash.startsWith('scrypt$')) return `the password of line ${line.username} is not a scrypt hash: hash it with node/auth hashPassword before proposing`;
  if (!Number.isInteger(line.maxConnections) || line.maxConnections < 1 || line.maxConnections > lineConnectionsMax) {
    return `maxConnections of line ${line.username} must be an integer from 1 to ${lineConnectionsMax}, not ${line.maxConnections}`;
  }
  if (line.expiresAtMs !== null && (!Number.isInteger(line.expiresAtMs) || line.expiresAtMs < 0)) {
    return `the expiry of line ${line.username} must be a time in ms since the epoch, or null for never`;
  }
  return null;
}

export function createLine(state: ClusterState, command: Extract<Command, { type: 'CreateLine' }>): Applied {
  const line: LineRecord = { ...command.line, createdAtMs: command.atMs };
  const problem = lineProblem(line);
  if (problem !== null) return refuse(state, problem);
  if (own(state.lines, line.username) !== undefined) return refuse(state, `a line named ${line.username} already exists: change it with PATCH or pick another username`);
  if (line.expiresAtMs !== null && line.expiresAtMs <= command.atMs) return refuse(state, `line ${line.username} would already be expired: give an expiry in the future, or null`);
  if (Object.keys(state.lines).length >= linesMax) return refuse(state, `there are already ${linesMax} lines, the most the cluster keeps: delete unused ones`);
  return { state: { ...state, lines: withEntry(state.lines, line.username, line) }, result: ok };
}

/** Replaces a line's record; its creation time is kept. An expiry in the past is allowed here
 *  (an operator may end a line now). */
export function updateLine(state: ClusterState, command: Extract<Command, { type: 'UpdateLine' }>): Applied {
  const current = own(state.lines, command.line.username);
  if (current === undefined) return refuse(state, `unknown line ${command.line.username}: GET /api/v1/lines lists them`);
  const line: LineRecord = { ...command.line, createdAtMs: current.createdAtMs };
  const problem = lineProblem(line);
  if (problem !== null) return refuse(state, problem);
  return { state: { ...state, lines: withEntry(state.lines, line.username, line) }, result: ok };
}

export function deleteLine(state: ClusterState, command: Extract<Command, { type: 'DeleteLine' }>): Applied {
  if (own(state.lines, command.username) === undefined) return refuse(state, `unknown line ${command.username}: GET /api/v1/lines lists them`);
  return { state: { ...state, lines: withoutEntry(state.lines, command.username) }, result: ok };
}

/** Whether `line` may watch at `nowMs`: enabled and not expired. */
export function lineActive(line: LineRecord, nowMs: number): boolean {
  return line.enabled && (line.expiresAtMs === null || line.expiresAtMs > nowMs);
}
