// The Xtream Codes builders against the shapes players depend on (IPTV-CONVENTIONS.md 3.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  defaultCategoryId, hashedId, integerIds, liveCategories, liveStreams, m3uPlus, panelTime, serverInfo, streamNumbers, streamOfNumber, userInfo, xtreamIdMax,
} from '../../node/iptv/xtream.ts';
import { defaultHls } from '../../node/state/index.ts';
import type { ServiceRecord, StreamRecord } from '../../node/state/index.ts';

const t0 = Date.UTC(2025, 5, 1, 12);
const stream = (id: string, name: string, serviceId: string | null, enabled = true): StreamRecord => ({
  id, name, sources: [{ url: 'http://127.0.0.1:9/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy', serviceId,
  pinGroup: null, pinNode: null, priority: 0, enabled, policy: {}, createdAtMs: t0,
});
const service = (id: string, name: string): ServiceRecord => ({ id, name, policy: {}, hls: defaultHls, createdAtMs: t0 });
const catalog = {
  streams: { news: stream('news', 'News "24", HD', 'sports-svc'), movies: stream('movies', 'Movies', null), off: stream('off', 'Off', null, false) },
  services: { 'sports-svc': service('sports-svc', 'Sports'), empty: service('empty', 'Empty') },
};

test('ids are stable 31-bit integers, the same whatever else exists', () => {
  const alone = integerIds(['news']).get('news');
  assert.equal(integerIds(['zzz', 'news', 'aaa']).get('news'), alone);
  assert.equal(alone, hashedId('news'));
  assert.ok(alone! >= 2 && alone! <= xtreamIdMax);
  assert.equal(streamOfNumber(catalog, streamNumbers(catalog).get('movies')!)?.id, 'movies');
  assert.equal(streamOfNumber(catalog, 1), null);
});

test('get_live_categories: services with streams and the default category, string ids', () => {
  const categories = liveCategories(catalog);
  assert.deepEqual(categories.map((c) => c.category_name), ['Live', 'Sports']);
  assert.deepEqual(categories[0], { category_id: String(defaultCategoryId), category_name: 'Live', parent_id: 0 });
  assert.equal(typeof categories[1]!.category_id, 'string');
});

test('get_live_streams items carry every field with the players\' types; the category filter works', () => {
  const items = liveStreams(catalog);
  assert.deepEqual(items.map((i) => i.name), ['Movies', 'News "24", HD']);
  const item = items[1]!;
  assert.deepEqual(Object.keys(item).sort(), [
    'added', 'category_id', 'category_ids', 'custom_sid', 'direct_source', 'epg_channel_id', 'is_adult', 'name', 'num', 'stream_icon', 'stream_id',
    'stream_type', 'tv_archive', 'tv_archive_duration',
  ]);
  assert.equal(item.num, 2);
  assert.equal(item.stream_type, 'live');
  assert.equal(Number.isInteger(item.stream_id), true);
  assert.equal(item.added, String(t0 / 1000));
  assert.equal(item.epg_channel_id, 'news');
  assert.equal(typeof item.category_id, 'string');
  assert.deepEqual(item.category_ids, [Number(item.category_id)]);
  const sports = liveCategories(catalog).find((c) => c.category_name === 'Sports')!.category_id;
  assert.deepEqual(liveStreams(catalog, sports).map((i) => i.epg_channel_id), ['news']);
  assert.deepEqual(liveStreams(catalog, '999').length, 0);
});

test('user_info and server_info: strings where players expect strings', () => {
  const info = userInfo({ username: 'u', passwordHash: 'x', maxConnections: 3, expiresAtMs: t0 + 86_400_000, enabled: true, createdAtMs: t0 }, 'p', 0);
  assert.deepEqual(info, {
    username: 'u', password: 'p', message: '', auth: 1, status: 'Active', exp_date: String(t0 / 1000 + 86_400), is_trial: '0', active_cons: '0',
    created_at: String(t0 / 1000), max_connections: '3', allowed_output_formats: ['m3u8', 'ts'],
  });
  assert.equal(userInfo({ username: 'u', passwordHash: 'x', maxConnections: 1, expiresAtMs: null, enabled: true, createdAtMs: t0 }, 'p', 0).exp_date, null);
  assert.deepEqual(serverInfo({ host: 'tv.example', port: 8080, https: false, nowMs: t0 }), {
    url: 'tv.example', port: '8080', https_port: '443', server_protocol: 'http', rtmp_port: '0', timezone: 'UTC', timestamp_now: t0 / 1000,
    time_now: '2025-06-01 12:00:00', process: true,
  });
  assert.equal(panelTime(t0 + 1500), '2025-06-01 12:00:01');
});

test('m3u_plus: #EXTM3U, CRLF, tvg attributes, quotes made safe, /live/U/P/<id>.<ext> URLs', () => {
  const text = m3uPlus(catalog, { baseUrl: 'http://tv.example:8080', username: 'u', password: 'p', extension: 'ts' });
  const lines = text.split('\r\n');
  assert.equal(lines[0], '#EXTM3U');
  assert.equal(lines.length, 6);
  const id = streamNumbers(catalog).get('news');
  assert.equal(lines[3], `#EXTINF:-1 tvg-id="news" tvg-name="News '24', HD" tvg-logo="" group-title="Sports",News "24", HD`);
  assert.equal(lines[4], `http://tv.example:8080/live/u/p/${id}.ts`);
  assert.equal(lines[5], '');
});
