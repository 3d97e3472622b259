// The dashboard every node serves: / and /ui/* (static files from ui/, hls.js from its npm
// package, read once at start and answered from memory), and GET /api/v1/events: server-sent
// events with the cluster and the streams every second while the page is open.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

import type { FastifyPluginAsync } from 'fastify';

import { embeddedUiFiles } from '../../exe-assets.ts';
import { principalOf } from '../auth.ts';
import type { ClusterApi } from '../service.ts';
import { clusterView } from './cluster.ts';
import { streamView } from './streams.ts';

/** How often the dashboard's event stream sends a snapshot. */
export const eventsIntervalMs = 1_000;

const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** ui/ beside the sources (node/http/routes -> ../../../ui) or beside the bundle (dist -> ../ui). */
function uiDir(): string {
  const here = import.meta.dirname;
  const found = [resolve(here, '../../../ui'), resolve(here, '../ui')].find((dir) => existsSync(join(dir, 'index.html')));
  if (found === undefined) throw new Error(`the dashboard files (ui/index.html) are missing next to ${here}: reinstall ottmesh`);
  return found;
}

function loadFiles(): Map<string, { body: Buffer; type: string }> {
  // The single executable carries ui/ and hls.min.js inside it (scripts/build-exe.sh).
  const embedded = embeddedUiFiles();
  if (embedded !== null) return new Map([...embedded].map(([name, body]) => [name, { body, type: types[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream' }]));
  const dir = uiDir();
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of ['index.html', 'app.js', 'style.css']) {
    files.set(name, { body: readFileSync(join(dir, name)), type: types[name.slice(name.lastIndexOf('.'))]! });
  }
  const hlsJs = join(dirname(createRequire(import.meta.url).resolve('hls.js/package.json')), 'dist/hls.min.js');
  files.set('hls.min.js', { body: readFileSync(hlsJs), type: types['.js']! });
  return files;
}

export const uiRoutes: FastifyPluginAsync<{ api: ClusterApi }> = async (app, { api }) => {
  const files = loadFiles();
  const send = (name: string) => async (_request: unknown, reply: import('fastify').FastifyReply) => {
    const file = files.get(name)!;
    return reply.header('content-type', file.type).header('cache-control', 'no-cache').send(file.body);
  };
  app.get('/', send('index.html'));
  for (const name of files.keys()) app.get(`/ui/${name}`, send(name));

  app.get('/api/v1/events', async (request, reply) => {
    const role = principalOf(request).role;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const snapshot = () => {
      const state = api.state();
      const streams = Object.values(state.streams).sort((a, b) => a.id.localeCompare(b.id)).map((s) => streamView(api, state, s, role));
      res.write(`event: snapshot\ndata: ${JSON.stringify({ cluster: clusterView(api), streams })}\n\n`);
    };
    snapshot();
    const timer = setInterval(snapshot, eventsIntervalMs);
    request.raw.on('close', () => clearInterval(timer));
  });
};
