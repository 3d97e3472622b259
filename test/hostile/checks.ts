// Assertions every hostile test makes: a refusal is a 4xx with a JSON message, and a refused
// request changed nothing.
import assert from 'node:assert/strict';

import type { ClusterState } from '../../node/state/index.ts';

export interface AnswerLike {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
}

/** A 4xx (or exactly `status`) with {statusCode, error, message}; `message` must match when given. Returns the message. */
export function assertRefusal(res: AnswerLike, status?: number, message?: RegExp, what = ''): string {
  const where = what === '' ? '' : `${what}: `;
  if (status === undefined) assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${where}expected a 4xx, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
  else assert.equal(res.statusCode, status, `${where}status (body: ${res.body.slice(0, 300)})`);
  assert.match(String(res.headers['content-type'] ?? ''), /^application\/json/, `${where}a JSON error`);
  const body = JSON.parse(res.body) as { statusCode: number; error: string; message: string };
  assert.equal(body.statusCode, res.statusCode, `${where}statusCode in the body`);
  assert.equal(typeof body.error, 'string');
  assert.ok(typeof body.message === 'string' && body.message.length >= 10, `${where}a message that says what is wrong: ${res.body.slice(0, 200)}`);
  if (message !== undefined) assert.match(body.message, message, `${where}message`);
  return body.message;
}

/** The state without the audit log (logins are recorded even when refused). */
export function withoutAudit(state: ClusterState): unknown {
  const { audit: _audit, ...rest } = state as ClusterState & { audit?: unknown };
  return rest;
}

/** Runs `request` and asserts the state is the same object afterwards (nothing applied). */
export async function unchangedBy<T>(state: () => ClusterState, request: () => Promise<T>, what: string): Promise<T> {
  const before = state();
  const result = await request();
  assert.equal(state(), before, `${what}: a refused request must not change the state`);
  return result;
}
