// The install routes (GET /install.sh, /download/ottmesh, /download/ottmesh.sha256) through
// app.inject() with a small file standing in for the executable, and the installCommand of
// POST /api/v1/join-tokens. The real executable and a real install: test/install/.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';

import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { installErrorHandler } from '../../node/http/error-handler.ts';
import { installRoutes } from '../../node/http/routes/install.ts';
import { adminApiToken, FakeApi } from './fake-api.ts';

const dir = mkdtempSync(join(tmpdir(), 'ottmesh-install-routes-'));
const apps: (FastifyInstance | HttpServer)[] = [];
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A fastify app with only the install routes, serving whatever is at `path`. */
function installApp(path: string): FastifyInstance {
  const app = Fastify();
  installErrorHandler(app, { retryAfterS: 1, bodyLimitBytes: 1024 });
  void app.register(installRoutes, { executablePath: () => path });
  apps.push(app);
  return app;
}

function standIn(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o755 });
  return path;
}

test('GET /install.sh bakes in the URL the client used and the executable\'s sha256; the script parses', async () => {
  const content = '#!/bin/sh\necho "ottmesh 0.0.0-standin"\n';
  const app = installApp(standIn('exe-a', content));
  const res = await app.inject({ method: 'GET', url: '/install.sh', headers: { host: '10.0.0.5:8080' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/x-shellscript; charset=utf-8');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(res.body, /^#!\/bin\/sh\n/);
  assert.match(res.body, /^OTTMESH_URL='http:\/\/10\.0\.0\.5:8080'$/m);
  assert.match(res.body, /^OTTMESH_URL_HOST='10\.0\.0\.5'$/m);
  assert.match(res.body, new RegExp(`^OTTMESH_SHA256='${sha256(content)}'$`, 'm'));
  const script = join(dir, 'install-a.sh');
  writeFileSync(script, res.body);
  execFileSync('sh', ['-n', script]);
  // An IPv6 literal and a DNS name with a port are plain hosts too.
  for (const [host, url] of [['[::1]:8080', 'http://[::1]:8080'], ['Edge-1.example.net', 'http://edge-1.example.net']] as const) {
    const ok = await app.inject({ method: 'GET', url: '/install.sh', headers: { host } });
    assert.equal(ok.statusCode, 200, host);
    assert.ok(ok.body.includes(`OTTMESH_URL='${url}'`), host);
  }
});

test('GET /install.sh refuses a Host header that is not a plain host[:port] (nothing reaches the script)', async () => {
  const app = installApp(standIn('exe-b', 'x'));
  for (const host of ["evil';rm -rf /;'", 'a b', '$(id)', '`id`', 'h:99999', 'h/x', 'h:80:80', 'user@h', 'h\\x', '[::1]x']) {
    const res = await app.inject({ method: 'GET', url: '/install.sh', headers: { host } });
    assert.equal(res.statusCode, 400, `Host ${JSON.stringify(host)}: ${res.body}`);
    assert.match(res.json<{ message: string }>().message, /Host header must be a plain host name or address/);
  }
});

test('GET /download/ottmesh streams the file with its length; HEAD gives the length only; .sha256 is sha256sum\'s format', async () => {
  const content = `#!/bin/sh\n# ${'x'.repeat(200_000)}\n`;
  const path = standIn('exe-c', content);
  const app = installApp(path);
  const res = await app.inject({ method: 'GET', url: '/download/ottmesh' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(content)));
  assert.equal(res.body, content);
  const head = await app.inject({ method: 'HEAD', url: '/download/ottmesh' });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], String(Buffer.byteLength(content)));
  assert.equal(head.body, '');
  const sum = await app.inject({ method: 'GET', url: '/download/ottmesh.sha256' });
  assert.equal(sum.statusCode, 200);
  assert.equal(sum.body, `${sha256(content)}  ottmesh\n`);
  // What sha256sum -c expects, with the file saved as "ottmesh".
  writeFileSync(join(dir, 'ottmesh'), res.rawPayload);
  writeFileSync(join(dir, 'ottmesh.sha256'), sum.body);
  execFileSync('sha256sum', ['-c', 'ottmesh.sha256'], { cwd: dir, stdio: 'ignore' });
});

test('a new build (new mtime and size) gets a new sha256; the same file keeps the cached one', async () => {
  const path = standIn('exe-d', 'one');
  const app = installApp(path);
  const sumOf = async () => (await app.inject({ method: 'GET', url: '/download/ottmesh.sha256' })).body.split(' ')[0];
  assert.equal(await sumOf(), sha256('one'));
  writeFileSync(path, 'two, longer');
  utimesSync(path, new Date(), new Date(Date.now() + 5000));
  assert.equal(await sumOf(), sha256('two, longer'));
  const script = (await app.inject({ method: 'GET', url: '/install.sh', headers: { host: 'n1:8080' } })).body;
  assert.ok(script.includes(`OTTMESH_SHA256='${sha256('two, longer')}'`));
});

test('without an executable: 404 saying to build one; /install.sh is a script that says so and fails', async () => {
  const app = installApp(join(dir, 'missing', 'ottmesh'));
  for (const url of ['/download/ottmesh', '/download/ottmesh.sha256']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 404, url);
    assert.match(res.json<{ message: string }>().message, /no ottmesh executable to serve: run 'npm run build:exe'/, url);
  }
  const script = await app.inject({ method: 'GET', url: '/install.sh', headers: { host: 'n1:8080' } });
  assert.equal(script.statusCode, 200);
  const run = spawnSync('sh', ['-s', '--', 'TOKEN'], { input: script.body, encoding: 'utf8' });
  assert.equal(run.status, 5);
  assert.match(run.stderr, /^ottmesh-install: error: this node has no ottmesh executable to serve: run 'npm run build:exe'/);
});

test('every node serves the install routes without credentials', async () => {
  const app = buildServer({ api: new FakeApi('p1', 'alpha') });
  apps.push(app);
  for (const url of ['/install.sh', '/download/ottmesh.sha256']) {
    const res = await app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:8080' } });
    // 200 where the checkout has dist/ottmesh (npm run build:exe), else 404 (sha256) or the
    // failing script (200): never a demand for a token.
    assert.ok(res.statusCode === 200 || res.statusCode === 404, `${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
  }
  assert.equal((await app.inject({ method: 'GET', url: '/install.sh', headers: { host: 'a b' } })).statusCode, 400);
});

test('POST /api/v1/join-tokens answers the install command for the address the caller used', async () => {
  const api = new FakeApi('p1', 'alpha');
  const app = buildServer({ api });
  apps.push(app);
  const auth = { authorization: `Bearer ${adminApiToken.token}` };
  const res = await app.inject({ method: 'POST', url: '/api/v1/join-tokens', headers: { ...auth, host: '10.0.0.5:8080' }, payload: {} });
  assert.equal(res.statusCode, 201);
  const body = res.json<{ token: string; installCommand: string }>();
  assert.equal(body.installCommand, `curl -fsSL http://10.0.0.5:8080/install.sh | sh -s -- ${body.token}`);
  // A Host header unfit for a shell line: the node's own advertised URL instead.
  const odd = await app.inject({ method: 'POST', url: '/api/v1/join-tokens', headers: { ...auth, host: 'x;id' }, payload: {} });
  assert.equal(odd.statusCode, 201);
  const oddBody = odd.json<{ token: string; installCommand: string }>();
  assert.equal(oddBody.installCommand, `curl -fsSL http://127.0.0.1:1/p1/install.sh | sh -s -- ${oddBody.token}`);
  const openapi = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{ paths: Record<string, unknown> }>();
  assert.ok(JSON.stringify(openapi.paths['/api/v1/join-tokens']).includes('installCommand'), 'documented in the OpenAPI document');
});

