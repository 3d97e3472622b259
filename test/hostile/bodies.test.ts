// Oversized bodies and wrong content types on every route that takes a body (enumerated from the
// app, so routes added later are covered): one byte over the route's limit is 413 and a type it
// does not parse is 415, each a JSON message that says what to do, nothing changed. Over a real
// socket: a chunked body over the limit, a declared Content-Length over it (answered before the
// body is read), and a body that stops halfway (dropped when the request timeout passes, while
// other requests are served meanwhile).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { defaultBodyLimitBytes } from '../../node/http/index.ts';
import { bearer } from '../http/team.ts';
import { assertRefusal } from './checks.ts';
import { hostileApp } from './hostile-app.ts';
import type { HostileApp, RouteInfo } from './hostile-app.ts';
import { rawGet, rawRequest } from './raw-http.ts';

/** A stalled upload is dropped after this in the test server (the default is minutes). */
const requestTimeoutMs = 1500;
let h: HostileApp;
let port = 0;
before(async () => {
  h = await hostileApp({ requestTimeoutMs, timeoutCheckIntervalMs: 200 });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as { port: number }).port;
});
after(() => h.close());

/** Routes with their own parsers: the playlist import (text), the executable upload (bytes), Xtream's form. */
const ownParsers: Record<string, { readonly type: string; readonly limit: number }> = {
  'POST /api/v1/import/m3u': { type: 'audio/x-mpegurl', limit: 16 * 1024 * 1024 },
  'POST /player_api.php': { type: 'application/x-www-form-urlencoded', limit: 4096 },
};
const bodyRoutes = (): RouteInfo[] => h.routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method) && r.url !== '/api/v1/upgrade/executable');
const concrete = (url: string) => url.replace(/:id|:name|:username|:stream/g, 'news').replace(/:action/, 'drain').replace(/:[a-z]+/gi, 'x');
const headersFor = (r: RouteInfo): Record<string, string> => (r.url.startsWith('/internal/') ? { authorization: `Bearer ${h.api.internalToken()}` } : bearer('admin'));

test('every body route: one byte over its limit is 413 with a message, nothing changed', { timeout: 60_000 }, async (t) => {
  const routes = bodyRoutes();
  assert.ok(routes.length >= 25, `body routes found: ${routes.length}`);
  for (const r of routes) {
    const own = ownParsers[`${r.method} ${r.url}`];
    const limit = own?.limit ?? r.bodyLimit ?? defaultBodyLimitBytes;
    const type = own?.type ?? 'application/json';
    const filler = 'a'.repeat(limit + 1 - 8);
    const payload = type === 'application/json' ? `{"x":"${filler}"}` : `x=${filler}xxxxxx`;
    assert.equal(Buffer.byteLength(payload), limit + 1);
    const before = h.api.current;
    const res = await h.app.inject({ method: r.method as 'POST', url: concrete(r.url), headers: { ...headersFor(r), 'content-type': type }, payload });
    assertRefusal(res, 413, /larger than|too large/i, `${r.method} ${r.url}`);
    assert.equal(h.api.current, before);
  }
  t.diagnostic(`${routes.length} body routes`);
});

test('every JSON body route: a body in another type is 415 saying which type to send', { timeout: 60_000 }, async () => {
  // Routes without a body schema take no body (node actions, logout): they ignore one.
  for (const r of bodyRoutes().filter((x) => ownParsers[`${x.method} ${x.url}`] === undefined && (x.schema as { body?: unknown } | undefined)?.body !== undefined)) {
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png', 'application/jsonx']) {
      const before = h.api.current;
      const res = await h.app.inject({ method: r.method as 'POST', url: concrete(r.url), headers: { ...headersFor(r), 'content-type': type }, payload: 'name=x' });
      // text/plain has a parser (a string body): that is a 400 which names the type to use.
      assertRefusal(res, type === 'text/plain' ? 400 : 415, /content.?type|media type/i, `${r.method} ${r.url} as ${type}`);
      assert.equal(h.api.current, before);
    }
  }
});

test('the executable upload: another type is 415, a declared size over 300 MB is 413 before anything is read', async () => {
  const wrong = await h.app.inject({ method: 'PUT', url: '/api/v1/upgrade/executable', headers: { ...bearer('admin'), 'content-type': 'application/json' }, payload: '{}' });
  assertRefusal(wrong, 415, /application\/octet-stream/);
  const head = ['PUT /api/v1/upgrade/executable HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${bearer('admin').authorization}`, 'Content-Type: application/octet-stream', `Content-Length: ${400 * 1024 * 1024}`, '', 'ELF'].join('\r\n');
  const res = await rawRequest(port, head);
  assert.equal(res.status, 413, res.body);
  assert.match(res.body, /larger than 300 MB/);
});

test('over a socket: a chunked body over the limit is 413; a Content-Length over it is 413 at once', async () => {
  const auth = bearer('admin').authorization;
  const chunk = 'a'.repeat(16 * 1024);
  const chunked = [
    'POST /api/v1/streams HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${auth}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', '',
  ].join('\r\n') + Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('') + '0\r\n\r\n';
  const a = await rawRequest(port, chunked);
  assert.equal(a.status, 413, a.body);
  assert.match(JSON.parse(a.body.slice(a.body.indexOf('{'), a.body.lastIndexOf('}') + 1)).message, /larger than the 65536 bytes/);
  const declared = ['POST /api/v1/streams HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${auth}`, 'Content-Type: application/json', 'Content-Length: 999999999', '', '{'].join('\r\n');
  const b = await rawRequest(port, declared);
  assert.equal(b.status, 413, b.body);
});

test('a body that stops halfway is dropped when the request timeout passes; others are served meanwhile', { timeout: 20_000 }, async () => {
  const auth = bearer('admin').authorization;
  const stalled = ['POST /api/v1/streams HTTP/1.1', 'Host: 127.0.0.1', `Authorization: ${auth}`, 'Content-Type: application/json', 'Content-Length: 1000', '', '{"id":"half'].join('\r\n');
  const started = performance.now();
  const pending = rawRequest(port, stalled, 15_000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await rawGet(port, '/api/v1/health')).status, 200, 'the server answers others while one upload stalls');
  const res = await pending;
  const ms = performance.now() - started;
  assert.ok(res.closed || res.status === 408, 'the stalled request was ended by the server');
  assert.ok(ms < requestTimeoutMs + 3000, `dropped after ${Math.round(ms)} ms`);
  assert.ok(res.status === 408 || res.status === 0, `answered ${res.status}`);
  if (res.status === 408) assert.match(res.body, /Request Timeout|timeout/i);
  assert.equal(h.api.current.streams['half'], undefined);
});
