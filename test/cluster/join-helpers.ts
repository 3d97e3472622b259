// Helpers for tests that run `ottmesh join` expecting a refusal: tamper with a token's payload
// (base64url JSON), and check the one-line refusal.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessCluster, RunResult } from './processes.ts';

interface Payload {
  readonly tokenId: string;
  readonly secret: string;
  readonly networkKey: string;
}

export function payloadOf(token: string): Payload {
  return JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Payload;
}

/** The token with one field of its payload replaced. */
export function tamper(token: string, field: 'secret' | 'networkKey', value: string): string {
  const payload = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  assert.equal(typeof payload[field], 'string', `a join token carries ${field}`);
  payload[field] = value;
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** `ottmesh join` arguments for a throwaway node `name` on loopback, its data dir in the cluster's root. */
export function joinArgs(cluster: ProcessCluster, token: string, name: string): string[] {
  return ['join', token, '--data-dir', join(cluster.root, name), '--name', name, '--host', '127.0.0.1', '--p2p-port', '0', '--http-port', '0'];
}

/** Exit 1, one line on stderr starting with "ottmesh:" and matching `reason`, no data dir left. */
export function assertRefused(cluster: ProcessCluster, name: string, res: RunResult, reason: RegExp): void {
  const stderr = res.stderr.trim();
  assert.equal(res.code, 1, `join ${name}: exit code (stderr: ${stderr})`);
  assert.match(stderr, /^ottmesh: /, `join ${name}: the message starts with "ottmesh:"`);
  assert.equal(stderr.split('\n').length, 1, `join ${name}: one line, got:\n${stderr}`);
  assert.match(stderr, reason, `join ${name}: the reason`);
  assert.ok(!existsSync(join(cluster.root, name)), `join ${name}: its data dir is not left behind`);
}
