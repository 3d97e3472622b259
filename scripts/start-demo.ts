// `npm start`: a one-node cluster in ./data (created on the first run, started again after) with
// a demo channel: a test pattern made by ffmpeg on this machine (served on 127.0.0.1), added as
// the stream "demo" and played at the stable URL it prints. OTTMESH_DATA_DIR, OTTMESH_HTTP_PORT,
// OTTMESH_P2P_PORT override; OTTMESH_DEMO=0 runs the node without the demo channel.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

import { LiveSource } from '../test/cluster/live-source.ts';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(root, process.env['OTTMESH_DATA_DIR'] ?? 'data');
const httpPort = process.env['OTTMESH_HTTP_PORT'] ?? '8080';
const api = `http://127.0.0.1:${httpPort}`;
const args = existsSync(join(dataDir, 'config.json'))
  ? ['start', '--data-dir', dataDir]
  : ['init', '--data-dir', dataDir, '--name', hostname().split('.')[0] || 'node1', '--http-port', httpPort, '--p2p-port', process.env['OTTMESH_P2P_PORT'] ?? '7600'];
const node = spawn(join(root, 'bin/ottmesh'), args, { stdio: 'inherit' });
const source = process.env['OTTMESH_DEMO'] === '0' ? null : new LiveSource();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => node.kill(signal));
node.on('exit', (code) => {
  void source?.close().finally(() => process.exit(code ?? 1));
  if (source === null) process.exit(code ?? 1);
});

if (source !== null) {
  try {
    await source.start();
    await addDemoChannel(source.url);
  } catch (err) {
    console.error(`demo channel: ${(err as Error).message} (the node runs on without it)`);
  }
}

async function addDemoChannel(sourceUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let token = '';
  for (;;) {
    if (Date.now() > deadline) throw new Error('the node did not come up within 60 s');
    const tokenFile = join(dataDir, 'admin-token');
    if (existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim();
    const health = await fetch(`${api}/api/v1/health`).then((r) => (r.ok ? r.json() as Promise<{ leaderId: string | null }> : null), () => null);
    if (token !== '' && health?.leaderId) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const body = { name: 'Demo (test pattern)', sources: [{ url: sourceUrl }], profile: 'copy' };
  // The source listens on a new port every run: create the channel, or point it at today's source.
  const exists = (await fetch(`${api}/api/v1/streams/demo`, { headers })).status === 200;
  const res = exists
    ? await fetch(`${api}/api/v1/streams/demo`, { method: 'PATCH', headers, body: JSON.stringify({ sources: body.sources }) })
    : await fetch(`${api}/api/v1/streams`, { method: 'POST', headers, body: JSON.stringify({ id: 'demo', ...body }) });
  if (!res.ok) throw new Error(`the API answered ${res.status}: ${await res.text()}`);
  console.log(`demo channel: ${api}/live/demo/index.m3u8 (plays in a few seconds; e.g. ffplay or VLC)`);
}
