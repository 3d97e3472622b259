// Shared pieces of the gateway tests: a fastify app like the node's (same ajv options) with the
// HLS plugin, a cluster view the test changes by hand, and temp dirs that are removed after.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';

import type { GatewayCluster } from '../../node/hls/cluster-view.ts';
import { hlsRoutes } from '../../node/hls/routes.ts';
import type { HlsRoutesOptions } from '../../node/hls/routes.ts';
import { defaultHls } from '../../node/state/index.ts';
import type { Assignment, HlsSettings } from '../../node/state/index.ts';

export const internalToken = 'f'.repeat(64);
export const auth = { authorization: `Bearer ${internalToken}` };

export async function hlsApp(options: HlsRoutesOptions): Promise<FastifyInstance> {
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(hlsRoutes, options);
  await app.ready();
  return app;
}

/** A cluster the test edits: streams with settings, assignments, node URLs. */
export class FakeCluster implements GatewayCluster {
  readonly streams: Map<string, HlsSettings>;
  readonly assignments: Map<string, Assignment>;
  readonly urls: Map<string, string>;
  readonly self: string;

  /** `shared`: the same cluster seen from another node (the maps are shared). */
  constructor(self: string, shared?: FakeCluster) {
    this.self = self;
    this.streams = shared?.streams ?? new Map();
    this.assignments = shared?.assignments ?? new Map();
    this.urls = shared?.urls ?? new Map();
  }

  addStream(id: string, hls: Partial<HlsSettings> = {}): void {
    this.streams.set(id, { ...defaultHls, ...hls });
  }

  /** Gateways are the members whose id starts with "gw" (their peers). */
  assign(streamId: string, nodeId: string, epoch: number, base: number, sealed = false): void {
    this.assignments.set(streamId, { streamId, nodeId, epoch, base, firstIndex: 0, sealed, next: null, sinceMs: 0 });
  }

  seal(streamId: string): void {
    const a = this.assignments.get(streamId)!;
    this.assignments.set(streamId, { ...a, sealed: true });
  }

  assignedStreamIds(): Iterable<string> {
    return this.assignments.keys();
  }

  assignment(streamId: string): Assignment | null {
    return this.assignments.get(streamId) ?? null;
  }

  hlsSettings(streamId: string): HlsSettings | null {
    return this.streams.get(streamId) ?? null;
  }

  httpUrl(nodeId: string): string | null {
    return this.urls.get(nodeId) ?? null;
  }

  peerIds(): readonly string[] {
    return [...this.urls.keys()].filter((id) => id !== this.self && id.startsWith('gw')).sort();
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Polls `condition` every 50 ms until it holds; throws after `timeoutMs` saying what it waited for. */
export async function waitFor(what: string, timeoutMs: number, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
