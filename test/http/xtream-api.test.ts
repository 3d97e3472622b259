// The lines API and the Xtream Codes surface through app.inject() on a FakeApi, as buildServer
// registers it (no relay, registry or guide: test/iptv/xtream-live.test.ts has those): create/list/
// delete lines (no password in answers), player_api.php shapes and auth failures, get.php, an
// empty xmltv.php, /live redirects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { streamNumbers } from '../../node/iptv/xtream.ts';
import { defaultHls } from '../../node/state/index.ts';
import type { StreamRecord } from '../../node/state/index.ts';
import { adminApiToken, FakeApi, nowMs } from './fake-api.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const auth = { authorization: `Bearer ${adminApiToken.token}` };
const api = new FakeApi('p1', 'alpha');
let app: HttpServer;
const stream = (id: string, name: string, serviceId: string | null): StreamRecord => ({
  id, name, sources: [{ url: 'http://127.0.0.1:9/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy', serviceId,
  pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: nowMs,
});

before(async () => {
  app = buildServer({ api });
  await app.ready();
  await api.propose({ type: 'CreateService', atMs: nowMs, service: { id: 'sport', name: 'Sport', policy: {}, hls: defaultHls, createdAtMs: nowMs } }, null);
  await api.propose({ type: 'CreateStream', atMs: nowMs, stream: stream('news', 'News', null) }, null);
  await api.propose({ type: 'CreateStream', atMs: nowMs, stream: stream('goal', 'Goal', 'sport') }, null);
  for (const [username, expiresAt] of [['alice', null], ['old', '2025-06-01T12:00:01Z']] as const) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/lines', headers: auth, payload: { username, password: 'pw-1', maxConnections: 2, expiresAt } });
    assert.equal(res.statusCode, 201, res.body);
  }
  // 'old' expires one second after nowMs: make it expired by moving the line's expiry back.
  const old = api.current.lines.old!;
  api.current = { ...api.current, lines: { ...api.current.lines, old: { ...old, expiresAtMs: nowMs - 1 } } };
});
after(() => app.close());

const get = (url: string): Promise<{ statusCode: number; headers: Record<string, unknown>; body: string; json: () => Json }> =>
  app.inject({ method: 'GET', url, headers: { host: 'tv.example:8080' } });

test('lines API: 201 without the password, list, 400 on a bad body, delete, 401 without a token', async () => {
  const list = await app.inject({ method: 'GET', url: '/api/v1/lines', headers: auth });
  assert.deepEqual(list.json()[0], { username: 'alice', maxConnections: 2, expiresAt: null, enabled: true, createdAt: '2025-06-01T12:00:00.000Z' });
  assert.doesNotMatch(list.body, /pw-1|scrypt/);
  const bad = await app.inject({ method: 'POST', url: '/api/v1/lines', headers: auth, payload: { username: 'a/b', password: 'x' } });
  assert.equal(bad.statusCode, 400);
  const created = await app.inject({ method: 'POST', url: '/api/v1/lines', headers: auth, payload: { username: 'tmp', password: 'x', maxConnections: 1, expiresAt: null } });
  assert.equal(created.statusCode, 201);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/lines/tmp', headers: auth })).statusCode, 204);
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/lines/tmp', headers: auth })).statusCode, 409);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/lines' })).statusCode, 401);
});

test('player_api.php: wrong password, unknown, expired and disabled lines get auth 0', async () => {
  for (const q of ['username=alice&password=nope', 'username=bob&password=pw-1', 'username=old&password=pw-1', 'username=alice']) {
    const res = await get(`/player_api.php?${q}`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { user_info: { auth: 0 } }, q);
  }
});

test('player_api.php login answers user_info and server_info, by GET and by form POST', async () => {
  const res = await get('/player_api.php?username=alice&password=pw-1');
  const body = res.json();
  assert.equal(body.user_info.auth, 1);
  assert.equal(body.user_info.active_cons, '0');
  assert.equal(body.user_info.max_connections, '2');
  assert.equal(body.user_info.exp_date, null);
  assert.equal(body.server_info.url, 'tv.example');
  assert.equal(body.server_info.port, '8080');
  assert.equal(body.server_info.time_now, '2025-06-01 12:00:00');
  const posted = await app.inject({
    method: 'POST', url: '/player_api.php', headers: { host: 'tv.example:8080', 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'username=alice&password=pw-1&action=get_live_categories',
  });
  assert.deepEqual(posted.json().map((c: Json) => c.category_name), ['Live', 'Sport']);
});

test('player_api.php actions: streams with the category filter, empty EPG, VOD and series', async () => {
  const base = '/player_api.php?username=alice&password=pw-1&action=';
  const all = (await get(`${base}get_live_streams`)).json();
  assert.deepEqual(all.map((s: Json) => s.name), ['Goal', 'News']);
  assert.equal(all[0].stream_id, streamNumbers(api.current).get('goal'));
  const sport = (await get(`${base}get_live_categories`)).json().find((c: Json) => c.category_name === 'Sport').category_id;
  assert.deepEqual((await get(`${base}get_live_streams&category_id=${sport}`)).json().map((s: Json) => s.name), ['Goal']);
  assert.deepEqual((await get(`${base}get_short_epg&stream_id=1`)).json(), { epg_listings: [] });
  for (const action of ['get_vod_categories', 'get_vod_streams', 'get_series_categories', 'get_series']) assert.deepEqual((await get(`${base}${action}`)).json(), []);
});

test('get.php: m3u_plus with /live URLs on the Host the player used; 403 for a bad line', async () => {
  const res = await get('/get.php?username=alice&password=pw-1&type=m3u_plus&output=m3u8');
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /mpegurl/);
  const lines = res.body.split('\r\n');
  const guide = 'http://tv.example:8080/xmltv.php?username=alice&password=pw-1';
  assert.equal(lines[0], `#EXTM3U x-tvg-url="${guide}" url-tvg="${guide}"`);
  assert.equal(lines[1], '#EXTINF:-1 tvg-id="goal" tvg-name="Goal" tvg-logo="" group-title="Sport",Goal');
  assert.equal(lines[2], `http://tv.example:8080/live/alice/pw-1/${streamNumbers(api.current).get('goal')}.m3u8`);
  assert.match((await get('/get.php?username=alice&password=pw-1')).body, /\.ts\r\n/);
  assert.equal((await get('/get.php?username=alice&password=no')).statusCode, 403);
  assert.equal((await get('/get.php?username=alice&password=pw-1&output=rtmp')).statusCode, 400);
});

test('xmltv.php: an empty guide without an EPG; 403 for a bad line', async () => {
  const res = await get('/xmltv.php?username=alice&password=pw-1');
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/xml/);
  assert.equal(res.body, '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv generator-info-name="ottmesh">\n</tv>\n');
  assert.equal((await get('/xmltv.php?username=alice&password=x')).statusCode, 403);
});

test('/live/<user>/<pass>/<id>.<ext>: 302 to the stable playlist; 403 bad line; 404 unknown id', async () => {
  const id = streamNumbers(api.current).get('news')!;
  for (const file of [`${id}.m3u8`, `${id}.ts`, `${id}`]) {
    const res = await get(`/live/alice/pw-1/${file}`);
    assert.equal(res.statusCode, 302, file);
    assert.equal(res.headers.location, '/live/news/index.m3u8');
  }
  assert.equal((await get(`/live/alice/wrong/${id}.ts`)).statusCode, 403);
  assert.equal((await get(`/live/old/pw-1/${id}.ts`)).statusCode, 403);
  assert.equal((await get('/live/alice/pw-1/1.ts')).statusCode, 404);
});
