// The channel API through app.inject() against a fake ClusterApi: streams, services, groups,
// policy and node actions; defaults, validation (400 with the path or the reason), 404 and 409.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { buildServer } from '../../node/http/index.ts';
import { defaultPolicy } from '../../node/placement/policy.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { apply } from '../../node/state/index.ts';
import { adminApiToken, FakeApi, nowMs } from './fake-api.ts';

// Answers are checked field by field; a loose type keeps the assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const freeTv = join(import.meta.dirname, '../../../shared/data/m3u/free-tv_playlist.m3u8');
const auth = { authorization: `Bearer ${adminApiToken.token}` };
const servers: HttpServer[] = [];
after(() => Promise.all(servers.map((app) => app.close())));

function serve(): { api: FakeApi; call: (method: string, url: string, payload?: unknown) => Promise<{ statusCode: number; json: () => Json }> } {
  const api = new FakeApi('p1', 'alpha');
  const app = buildServer({ api });
  servers.push(app);
  return { api, call: (method, url, payload) => app.inject({ method: method as 'GET', url, headers: auth, ...(payload === undefined ? {} : { payload: payload as object }) }) };
}

test('POST /api/v1/streams with the minimal body: everything else takes its default', async () => {
  const { call } = serve();
  const res = await call('POST', '/api/v1/streams', { id: 'news', name: 'News', sources: [{ url: 'http://127.0.0.1:9/news.ts' }], profile: 'copy' });
  assert.equal(res.statusCode, 201);
  const body = res.json();
  assert.equal(body.id, 'news');
  assert.equal(body.status, 'unplaced');
  assert.equal(body.nodeId, null);
  assert.equal(body.epoch, null);
  assert.equal(body.restarts, 0);
  assert.equal(body.url, '/live/news/index.m3u8');
  assert.deepEqual(body.config, {
    id: 'news', name: 'News', sources: [{ url: 'http://127.0.0.1:9/news.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy',
    serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: nowMs,
  });
  assert.equal((await call('POST', '/api/v1/streams', { id: 'news', name: 'Again', sources: [{ url: 'udp://239.1.1.1:1234' }] })).statusCode, 409);
  const list = await call('GET', '/api/v1/streams');
  assert.deepEqual(list.json().map((s: { id: string }) => s.id), ['news']);
});

test('bad stream bodies: 400 naming the field, or saying what is allowed', async () => {
  const { call } = serve();
  const pipe = await call('POST', '/api/v1/streams', { id: 'x', name: 'X', sources: [{ url: 'pipe:cat' }] });
  assert.equal(pipe.statusCode, 400);
  assert.match(pipe.json().message, /scheme "pipe:" is not allowed: use one of http, https, udp, rtp, rtmp, rtmps, srt/);
  const file = await call('POST', '/api/v1/streams', { id: 'x', name: 'X', sources: [{ url: 'file:///etc/passwd' }] });
  assert.match(file.json().message, /"file:" is not allowed/);
  const id = await call('POST', '/api/v1/streams', { id: '../etc', name: 'X', sources: [{ url: 'http://h/x' }] });
  assert.equal(id.statusCode, 400);
  assert.equal(id.json().path, '/body/id');
  const extra = await call('POST', '/api/v1/streams', { id: 'x', name: 'X', sources: [{ url: 'http://h/x' }], colour: 'red' });
  assert.equal(extra.statusCode, 400);
  assert.match(extra.json().message, /unknown field "colour"/);
  const none = await call('POST', '/api/v1/streams', { id: 'x', name: 'X', sources: [] });
  assert.equal(none.json().path, '/body/sources');
  const policy = await call('POST', '/api/v1/streams', { id: 'x', name: 'X', sources: [{ url: 'http://h/x' }], policy: { cpuCeilPct: 150 } });
  assert.equal(policy.json().path, '/body/policy/cpuCeilPct');
});

test('PATCH, PUT and DELETE a stream; 404 for unknown ones; GET shows the worker and its figures', async () => {
  const { api, call } = serve();
  await call('POST', '/api/v1/streams', { id: 'news', name: 'News', sources: [{ url: 'http://h/a.ts' }] });
  const patched = await call('PATCH', '/api/v1/streams/news', { profile: { height: 480, videoKbps: 1200 } });
  assert.equal(patched.statusCode, 200);
  assert.deepEqual(patched.json().config.profile, { height: 480, videoKbps: 1200, audioKbps: 128 });
  api.current = apply(api.current, { type: 'AssignStream', atMs: nowMs, streamId: 'news', nodeId: 'p2', base: 0 }).state;
  api.figures.set('p2', [{ id: 'news', status: 'running', source: '0', inKbps: 2500, restarts: 2 }]);
  const shown = (await call('GET', '/api/v1/streams/news')).json();
  assert.deepEqual({ status: shown.status, nodeId: shown.nodeId, epoch: shown.epoch, source: shown.source, bitrateKbps: shown.bitrateKbps, restarts: shown.restarts },
    { status: 'running', nodeId: 'p2', epoch: 1, source: 'http://h/a.ts', bitrateKbps: 2500, restarts: 2 });
  const replaced = await call('PUT', '/api/v1/streams/news', { name: 'N', sources: [{ url: 'srt://h:9000' }] });
  assert.equal(replaced.json().config.profile, 'copy');
  assert.equal((await call('DELETE', '/api/v1/streams/news')).statusCode, 204);
  assert.equal((await call('GET', '/api/v1/streams/news')).statusCode, 404);
  assert.equal((await call('PATCH', '/api/v1/streams/nope', { name: 'x' })).statusCode, 404);
});

test('services, groups and the global policy', async () => {
  const { call } = serve();
  const svc = await call('POST', '/api/v1/services', { id: 'sports', name: 'Sports', policy: { hotStandby: true }, hls: { segmentS: 4, windowSegments: 5 } });
  assert.equal(svc.statusCode, 201);
  assert.deepEqual(svc.json().hls, { segmentS: 4, windowSegments: 5, mode: 'proxy', signingSecret: null });
  await call('POST', '/api/v1/streams', { id: 'match', name: 'Match', sources: [{ url: 'http://h/m.ts' }], serviceId: 'sports' });
  assert.deepEqual((await call('GET', '/api/v1/services/sports')).json().streams, ['match']);
  assert.equal((await call('DELETE', '/api/v1/services/sports')).statusCode, 409);
  assert.match((await call('POST', '/api/v1/streams', { id: 'y', name: 'Y', sources: [{ url: 'http://h/y' }], serviceId: 'nope' })).json().message, /unknown service nope/);
  assert.equal((await call('POST', '/api/v1/groups', { name: 'edge', priority: 5 })).statusCode, 201);
  assert.deepEqual((await call('GET', '/api/v1/groups')).json(), [{ name: 'edge', priority: 5, nodes: ['p2'] }]);
  const policy = await call('PUT', '/api/v1/policy', { policy: { strategy: 'binpack', cpuCeilPct: 70 }, hls: { segmentS: 4 } });
  assert.equal(policy.statusCode, 200);
  assert.deepEqual(policy.json(), { policy: { strategy: 'binpack', cpuCeilPct: 70 }, hls: { segmentS: 4, windowSegments: 6, mode: 'proxy', signingSecret: null }, defaults: { ...defaultPolicy } });
  const short = await call('PUT', '/api/v1/policy', { policy: {}, hls: { segmentS: 10, windowSegments: 2 } });
  assert.equal(short.statusCode, 400);
  assert.match(short.json().message, /3 target durations/);
});

test('node actions: drain, disable, enable (which also ends a drain), weight and groups', async () => {
  const { call } = serve();
  assert.deepEqual((await call('POST', '/api/v1/nodes/p2/drain')).json(), { id: 'p2', name: 'beta', enabled: true, draining: true, weight: 1, groups: ['edge'] });
  assert.equal((await call('POST', '/api/v1/nodes/p2/disable')).json().enabled, false);
  assert.deepEqual((await call('POST', '/api/v1/nodes/p2/enable')).json(), { id: 'p2', name: 'beta', enabled: true, draining: false, weight: 1, groups: ['edge'] });
  const patched = await call('PATCH', '/api/v1/nodes/p2', { weight: 2, groups: ['edge', 'eu'] });
  assert.deepEqual(patched.json(), { id: 'p2', name: 'beta', enabled: true, draining: false, weight: 2, groups: ['edge', 'eu'] });
  assert.equal((await call('POST', '/api/v1/nodes/p2/reboot')).statusCode, 400);
  assert.equal((await call('POST', '/api/v1/nodes/p9/drain')).statusCode, 404);
});

test('placement explain names every node with its verdict; a plan dry run lists what a drain would move', async () => {
  const { api, call } = serve();
  await call('POST', '/api/v1/streams', { id: 'news', name: 'News', sources: [{ url: 'http://h/a.ts' }] });
  api.members.set('p1', { state: 'alive', cpuPct: 10, memPct: 10, streams: 0 });
  api.members.set('p2', { state: 'down', cpuPct: 0, memPct: 0, streams: 0 });
  const explained = await call('GET', '/api/v1/placement/explain?stream=news');
  assert.equal(explained.statusCode, 200);
  const verdicts = Object.fromEntries(explained.json().nodes.map((n: Json) => [n.nodeId, n]));
  assert.equal(verdicts['p1'].feasible, true);
  assert.equal(typeof verdicts['p1'].score, 'number');
  assert.deepEqual([verdicts['p2'].feasible, verdicts['p2'].reason.code], [false, 'down']);
  assert.equal((await call('GET', '/api/v1/placement/explain?stream=nope')).statusCode, 404);
  api.current = apply(api.current, { type: 'AssignStream', atMs: nowMs, streamId: 'news', nodeId: 'p1', base: 0 }).state;
  api.members.set('p2', { state: 'alive', cpuPct: 0, memPct: 0, streams: 0 });
  const plan = await call('POST', '/api/v1/placement/plan', { nodes: { p1: { draining: true } } });
  assert.equal(plan.statusCode, 200);
  assert.deepEqual(plan.json().moves.map((m: Json) => [m.streamId, m.from, m.to]), [['news', 'p1', 'p2']]);
  assert.equal(api.current.nodeAdmin['p1'], undefined, 'a dry run changes nothing');
  assert.deepEqual((await call('POST', '/api/v1/placement/plan', {})).json().moves, []);
});

test('GET /api/v1/streams/:id/log: the worker\'s ffmpeg stderr tail; the internal route needs the internal token', async () => {
  const { api, call } = serve();
  await call('POST', '/api/v1/streams', { id: 'news', name: 'News', sources: [{ url: 'http://h/a.ts' }] });
  assert.equal((await call('GET', '/api/v1/streams/news/log')).statusCode, 409, 'unplaced');
  api.current = apply(api.current, { type: 'AssignStream', atMs: nowMs, streamId: 'news', nodeId: 'p2', base: 0 }).state;
  assert.equal((await call('GET', '/api/v1/streams/news/log')).statusCode, 502, 'the worker does not answer');
  api.logs.set('p2/news', ['[http @ 0x1] HTTP error 404 Not Found']);
  assert.deepEqual((await call('GET', '/api/v1/streams/news/log')).json(), { stream: 'news', nodeId: 'p2', epoch: 1, lines: ['[http @ 0x1] HTTP error 404 Not Found'] });
  assert.equal((await call('GET', '/internal/v1/streams/news/log')).statusCode, 401, 'an API token is not the internal token');
});

test('POST /api/v1/import/m3u: creates streams, skips what cannot be a source with the line and reason; dryRun creates nothing', async () => {
  const { api } = serve();
  const app = buildServer({ api });
  servers.push(app);
  const playlist = [
    '#EXTM3U',
    '#EXTINF:-1 tvg-id="News.us" group-title="News",News (720p)',
    '#EXTVLCOPT:http-user-agent=Mozilla/5.0',
    'http://host/news.m3u8',
    '#EXTINF:-1,Local file',
    'file:///etc/passwd',
    '#EXTINF:-1,Program',
    'pipe://ffmpeg -i http://x -f mpegts pipe:1',
    '#EXTINF:-1,Twice',
    'http://host/news.m3u8',
    '#EXTINF:-1,Multicast',
    'udp://239.0.0.1:1234',
    '#EXTINF:-1,No URL',
  ].join('\r\n');
  const post = (query: string) => app.inject({ method: 'POST', url: `/api/v1/import/m3u${query}`, headers: { ...auth, 'content-type': 'audio/x-mpegurl' }, payload: playlist });
  const dry = await post('?dryRun=true');
  assert.equal(dry.statusCode, 200, dry.body);
  assert.deepEqual(dry.json().created, ['news-us', 'multicast']);
  assert.deepEqual(dry.json().skipped.map((s: Json) => [s.line, s.title]), [[5, 'Local file'], [7, 'Program'], [9, 'Twice'], [13, 'No URL']]);
  assert.match(dry.json().skipped[0].reason, /"file:" is not allowed/);
  assert.match(dry.json().skipped[2].reason, /same URL as line 2/);
  assert.deepEqual(api.current.streams, {}, 'a dry run creates nothing');
  const real = await post('');
  assert.deepEqual(real.json().created, ['news-us', 'multicast']);
  assert.deepEqual(api.current.streams['news-us']?.sources, [{ url: 'http://host/news.m3u8', priority: 0, userAgent: 'Mozilla/5.0', referrer: null }]);
  assert.equal(api.current.streams['news-us']?.name, 'News (720p)');
  assert.deepEqual((await post('')).json().created, ['news-us-2', 'multicast-2'], 'a second import gets new ids');
  const json = await app.inject({ method: 'POST', url: '/api/v1/import/m3u', headers: auth, payload: { x: 1 } });
  assert.equal(json.statusCode, 415);
  assert.equal((await post('?service=nope')).statusCode, 400);
});

test('a real 550 KB playlist imports in a dry run, as text/plain too (counts as the file)', { skip: existsSync(freeTv) ? false : 'no ../shared/data/m3u here' }, async () => {
  const { api } = serve();
  const app = buildServer({ api });
  servers.push(app);
  const res = await app.inject({ method: 'POST', url: '/api/v1/import/m3u?dryRun=true', headers: { ...auth, 'content-type': 'text/plain' }, payload: readFileSync(freeTv, 'utf8') });
  assert.equal(res.statusCode, 200, res.body.slice(0, 300));
  const { created, skipped } = res.json() as { created: string[]; skipped: { reason: string }[] };
  assert.equal(created.length + skipped.length, 2059, 'every entry is created or skipped');
  assert.equal(new Set(created).size, created.length, 'unique ids');
  assert.ok(skipped.some((s) => /not an absolute URL/.test(s.reason)), '"[NO PUBLIC STREAM]" lines are skipped');
});

test('troubleshooting: probe a source on a chosen node; a node log tail; bad URLs and unknown nodes refused', async () => {
  const { api, call } = serve();
  const probed = await call('POST', '/api/v1/probe', { url: 'udp://239.0.0.1:1234', nodeId: 'p2' });
  assert.equal(probed.statusCode, 200);
  assert.deepEqual(probed.json(), { nodeId: 'p2', ok: true, streams: ['Stream #0:0: Video: h264'], lines: [], ms: 5 });
  assert.deepEqual(api.probed, [{ nodeId: 'p2', url: 'udp://239.0.0.1:1234' }]);
  assert.equal((await call('POST', '/api/v1/probe', { url: 'udp://239.0.0.1:1234' })).json().nodeId, 'p1', 'this node by default');
  assert.match((await call('POST', '/api/v1/probe', { url: 'pipe:cat' })).json().message, /not allowed/);
  assert.equal((await call('POST', '/api/v1/probe', { url: 'http://h/x', nodeId: 'p7' })).statusCode, 404);
  assert.deepEqual((await call('GET', '/api/v1/nodes/p1/log')).json(), { nodeId: 'p1', lines: ['node started'] });
  assert.equal((await call('GET', '/api/v1/nodes/p2/log')).statusCode, 502, 'a node that does not answer');
  assert.equal((await call('GET', '/internal/v1/node/log')).statusCode, 401);
});

test('GET /api/v1/nodes/:id/history: the load samples of the last hour', async () => {
  const { call } = serve();
  assert.deepEqual((await call('GET', '/api/v1/nodes/p2/history')).json().samples[0], { atMs: nowMs, cpuPct: 10, memPct: 20, netRxBytesPerS: 1, netTxBytesPerS: 2, streams: 0 });
  assert.equal((await call('GET', '/api/v1/nodes/p9/history')).statusCode, 404);
});
