// Path traversal and odd encodings on the routes that read files or name streams: /live (the
// gateway and Xtream), /origin and /internal (a worker's own files), /hls, /ui and /download,
// over a real socket with the request line exactly as written: '../', '%2e%2e%2f', double
// encoding, overlong UTF-8, NUL, backslashes, very long paths. Every one is a 4xx (never a 5xx)
// and never serves a file outside the streams directory: every file the server opens while
// they run is recorded, and a canary file next to the streams directory never appears. Clients
// that hang up mid-answer (an event stream, a download) leave no timer and no file open.
import assert from 'node:assert/strict';
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';

import { hostileApp, linePassword, secretFileText, segmentNumber } from './hostile-app.ts';
import type { HostileApp } from './hostile-app.ts';
import { bearer } from '../http/team.ts';
import { rawGet, rawRequest } from './raw-http.ts';
import type { RawAnswer } from './raw-http.ts';

let h: HostileApp;
let port = 0;
const opened: string[] = [];
const realOpen = fsPromises.open;

before(async () => {
  h = await hostileApp();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as { port: number }).port;
  // Record every path the server opens (sendLocalFile uses fs/promises' open).
  fsPromises.open = ((path: Parameters<typeof realOpen>[0], ...rest: unknown[]) => {
    opened.push(String(path));
    return (realOpen as (...a: unknown[]) => ReturnType<typeof realOpen>)(path, ...rest);
  }) as typeof realOpen;
  syncBuiltinESMExports();
});
after(async () => {
  fsPromises.open = realOpen;
  syncBuiltinESMExports();
  await h.close();
});

const internal = () => ({ authorization: `Bearer ${h.api.internalToken()}` });
const long = 'a'.repeat(70_000);

/** Each prefix gets every traversal suffix. */
const traversals = [
  '../../../secret.txt', '..%2f..%2f..%2fsecret.txt', '%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt', '%2e%2e/%2e%2e/%2e%2e/secret.txt', '%252e%252e%252fsecret.txt',
  '..%252f..%252f..%252fsecret.txt', '%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afsecret.txt', '%e0%80%ae%e0%80%ae/secret.txt', '..%c0%af..%c0%afsecret.txt',
  '..\\..\\..\\secret.txt', '..%5c..%5c..%5csecret.txt', 'seg-0.ts%00../../secret.txt', 'seg-0.ts%00', 'index.m3u8%00.ts', '.%2e/.%2e/secret.txt',
  '%2e%2e%5c%2e%2e%5csecret.txt', '..;/..;/secret.txt', '....//....//secret.txt', '%u002e%u002e%u2215secret.txt', '\u2024\u2024/secret.txt',
  'seg-0.ts/../../../../secret.txt', '/etc/passwd', '%2fetc%2fpasswd', '..%00/secret.txt', `${long}.ts`, 'seg-0.ts?x=../../secret.txt#', '%', '%zz', '%%32%65%%32%65/secret.txt',
];
const prefixes: { readonly prefix: string; readonly headers: () => Record<string, string> }[] = [
  { prefix: '/live/news/', headers: () => ({}) },
  { prefix: '/live/free/', headers: () => ({}) },
  { prefix: '/live/', headers: () => ({}) },
  { prefix: `/live/alice/${linePassword}/`, headers: () => ({}) },
  { prefix: '/live/alice/', headers: () => ({}) },
  { prefix: '/origin/v1/hls/free/1/', headers: () => ({}) },
  { prefix: '/origin/v1/hls/free/', headers: () => ({}) },
  { prefix: '/origin/v1/hls/', headers: () => ({}) },
  { prefix: '/internal/v1/hls/free/1/', headers: internal },
  { prefix: '/internal/v1/hls/free/', headers: internal },
  { prefix: '/internal/v1/hls/free/public/', headers: internal },
  { prefix: '/internal/v1/hls/', headers: internal },
  { prefix: '/internal/v1/streams/', headers: internal },
  { prefix: '/hls/', headers: () => ({}) },
  { prefix: '/ui/', headers: () => ({}) },
  { prefix: '/download/', headers: () => ({}) },
  { prefix: '/', headers: () => ({}) },
];

function checkAnswer(path: string, res: RawAnswer): void {
  const where = `GET ${path.slice(0, 160)}`;
  // A query or fragment after a real file name still names that file (a 200 of its bytes).
  assert.ok(res.status >= 400 ? res.status < 500 : /\?x=/.test(path), `${where}: expected a 4xx, got ${res.status} ${res.body.slice(0, 200)}`);
  assert.ok(!res.body.includes(secretFileText), `${where}: served the canary file`);
  assert.ok(!/root:.*:0:0:/.test(res.body), `${where}: served /etc/passwd`);
  assert.ok(!res.body.includes('"devDependencies"'), `${where}: served package.json`);
  if (res.status >= 400 && res.status !== 431 && res.status !== 414) {
    assert.match(res.headers['content-type'] ?? '', /^(application\/json|text\/plain)/, `${where}: a JSON (or, on Xtream paths, text) refusal`);
    assert.ok(res.body.length > 10, `${where}: says what is wrong`);
  }
}

test('the routes serve what they should (so the refusals below are not trivially 404)', async () => {
  const ok = [
    ['/origin/v1/hls/free/1/seg-0.ts', {}], ['/internal/v1/hls/free/1/index.m3u8', internal()], ['/internal/v1/hls/free/1/seg-0.ts', internal()],
    ['/live/free/index.m3u8', {}], [`/live/free/${segmentNumber}.ts`, {}], ['/ui/app.js', {}],
  ] as const;
  for (const [path, headers] of ok) assert.equal((await rawGet(port, path, headers)).status, 200, path);
});

test('traversal and odd encodings: 4xx, and no file outside the streams directory is opened or served', { timeout: 60_000 }, async (t) => {
  opened.length = 0;
  let sent = 0;
  const statuses = new Map<number, number>();
  for (const { prefix, headers } of prefixes) {
    for (const suffix of traversals) {
      const path = `${prefix}${suffix}`;
      const res = await rawGet(port, path, headers());
      sent++;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      checkAnswer(path, res);
    }
  }
  const root = resolve(h.streamsRoot);
  const outside = opened.filter((p) => !resolve(p).startsWith(`${root}/`));
  assert.deepEqual(outside, [], 'files opened outside the streams directory');
  t.diagnostic(`${sent} requests: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}; files opened: ${opened.length}, all inside ${root}`);
});

test('a NUL, a backslash or a space in the request line, a 100 KB path: refused by the server, no file opened', async () => {
  opened.length = 0;
  for (const path of ['/live/news/\u0000/index.m3u8', '/origin/v1/hls/free/1/seg-0.ts\u0000', '/live/news\\..\\..\\secret.txt', '/live/news/a b/index.m3u8', `/live/${'x'.repeat(100_000)}/index.m3u8`, '/live/news/\u00ff\u00fe']) {
    const res = await rawGet(port, path);
    assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(path.slice(0, 60))}: ${res.status} ${res.body.slice(0, 200)}`);
    assert.ok(!res.body.includes(secretFileText));
  }
  assert.deepEqual(opened.filter((p) => !p.includes('/streams/')), []);
});

test('a client that hangs up leaves nothing open: an event stream\'s timer, a download\'s file', { timeout: 30_000 }, async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const fds = async () => (await fsPromises.readdir('/proc/self/fd')).length;
  const [timersBefore, fdsBefore] = [timers(), await fds()];
  for (let i = 0; i < 20; i++) {
    // Read a little of each, then hang up (rawRequest closes the socket after its wait).
    const events = rawRequest(port, `GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${bearer('admin').authorization}\r\n\r\n`, 150);
    const download = rawRequest(port, 'GET /download/ottmesh HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 150);
    const [e, d] = await Promise.all([events, download]);
    assert.equal(e.status, 200);
    assert.match(e.headers['content-type'] ?? '', /event-stream/);
    assert.ok(d.status === 200 || d.status === 404, `download: ${d.status}`);
  }
  await waitUntil(async () => timers() <= timersBefore && (await fds()) <= fdsBefore + 2, 5_000, async () => `timers ${timers()} (before ${timersBefore}), fds ${await fds()} (before ${fdsBefore})`);
});

async function waitUntil(done: () => Promise<boolean>, timeoutMs: number, state: () => Promise<string>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) assert.fail(`still open after the clients hung up: ${await state()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
