// The gateway's routes through app.inject(): viewers (playlist, segments, CORS, signing,
// redirect mode, errors), the worker's origin route and the node-to-node routes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { segmentHeaders as factHeaders } from '../../node/hls/peer-segment.ts';
import { renderPlaylist } from '../../node/hls/playlist.ts';
import type { HlsSource } from '../../node/hls/routes.ts';
import { SegmentCache } from '../../node/hls/segment-cache.ts';
import { signedQuery } from '../../node/hls/signing.ts';
import { StreamTimeline } from '../../node/hls/timeline.ts';
import { defaultHls } from '../../node/state/index.ts';
import type { HlsSettings } from '../../node/state/index.ts';
import { auth, hlsApp, internalToken, tempDir } from './helpers.ts';

const nowMs = 1_800_000_000_000;
const secret = 'sixteen-chars-or-more-secret';
const workerUrl = 'http://10.0.0.7:8080';

interface FakeStream {
  hls: HlsSettings;
  running: boolean;
  timeline: StreamTimeline<Buffer> | null;
}

const streams = new Map<string, FakeStream>();
const cache = new SegmentCache();
const source: HlsSource = {
  stream: (id) => {
    const s = streams.get(id);
    return s === undefined ? null : { hls: s.hls, running: s.running };
  },
  timeline: (id) => streams.get(id)?.timeline ?? null,
  // Epoch 2 is the one its worker runs now.
  originUrl: (_id, epoch) => (epoch === 2 ? workerUrl : null),
};

/** A stream whose epoch 1 (base 100) published 3 segments, and epoch 2 (base 103) one. */
function publishedStream(id: string, hls: Partial<HlsSettings> = {}): FakeStream {
  const timeline = new StreamTimeline<Buffer>({ segmentS: 2, windowSegments: 6 });
  timeline.applyAssignment({ epoch: 1, base: 100, sealed: false, nodeId: 'w1' }, nowMs);
  const store = (published: ReturnType<typeof timeline.addWorkerSegment>): void => {
    for (const { segment: s, payload } of published) cache.put(id, s.n, { bytes: payload, durationS: s.durationS, epoch: s.epoch, k: s.k, workerDiscontinuity: false, pdtMs: s.pdtMs });
  };
  for (let k = 0; k < 3; k++) store(timeline.addWorkerSegment(1, { k, durationS: 2, discontinuity: false, pdtMs: nowMs + k * 2000 }, Buffer.from(`${id} e1 k${k}`), nowMs));
  timeline.applyAssignment({ epoch: 1, base: 100, sealed: true, nodeId: 'w1' }, nowMs);
  timeline.applyAssignment({ epoch: 2, base: 103, sealed: false, nodeId: 'w2' }, nowMs);
  store(timeline.addWorkerSegment(2, { k: 0, durationS: 2, discontinuity: false, pdtMs: nowMs + 6000 }, Buffer.from(`${id} e2 k0`), nowMs));
  const stream = { hls: { ...defaultHls, ...hls }, running: true, timeline };
  streams.set(id, stream);
  return stream;
}

let app: FastifyInstance;
let root: { path: string; remove: () => Promise<void> };

before(async () => {
  root = await tempDir('ottmesh-hls-routes-');
  await mkdir(join(root.path, 'news', '7'), { recursive: true });
  await writeFile(join(root.path, 'news', '7', 'index.m3u8'), '#EXTM3U\n#EXTINF:2,\nseg-3.ts\n');
  await writeFile(join(root.path, 'news', '7', 'seg-3.ts'), Buffer.alloc(100_000, 0x47));
  await writeFile(join(root.path, 'secret.txt'), 'not for anyone');
  publishedStream('news');
  publishedStream('paid', { signingSecret: secret });
  publishedStream('bounce', { mode: 'redirect' });
  publishedStream('bounce-paid', { mode: 'redirect', signingSecret: secret });
  streams.set('off', { hls: defaultHls, running: false, timeline: null });
  streams.set('soon', { hls: defaultHls, running: true, timeline: null });
  app = await hlsApp({ source, cache, streamsRoot: root.path, internalToken: () => internalToken, nowMs: () => nowMs });
});

after(async () => {
  await app.close();
  await root.remove();
});

test('the playlist: from memory, its content type, no-cache, CORS, numbering across the switch', async () => {
  const res = await app.inject({ method: 'GET', url: '/live/news/index.m3u8', headers: { origin: 'https://player.example' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/vnd.apple.mpegurl');
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.match(String(res.headers['access-control-expose-headers']), /Content-Length/);
  assert.equal(res.body, renderPlaylist(streams.get('news')!.timeline!.view()));
  assert.match(res.body, /#EXT-X-MEDIA-SEQUENCE:100\n/);
  assert.match(res.body, /102\.ts\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n#EXTINF:2\.000,\n103\.ts\n$/);
  const head = await app.inject({ method: 'HEAD', url: '/live/news/index.m3u8' });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-type'], 'application/vnd.apple.mpegurl');
});

test('a segment: from the cache, video/mp2t, immutable, CORS; gone or never there: 404', async () => {
  const res = await app.inject({ method: 'GET', url: '/live/news/101.ts' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'video/mp2t');
  assert.equal(res.headers['cache-control'], 'public, max-age=3600, immutable');
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.equal(res.body, 'news e1 k1');
  const missing = await app.inject({ method: 'GET', url: '/live/news/99.ts' });
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json<{ message: string }>().message, /segment 99 of stream news is not \(or no longer\) available/);
  assert.equal(missing.headers['access-control-allow-origin'], '*', 'players read errors too');
});

test('CORS preflight on /live', async () => {
  const res = await app.inject({ method: 'OPTIONS', url: '/live/news/index.m3u8', headers: { origin: 'https://player.example', 'access-control-request-method': 'GET' } });
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.match(String(res.headers['access-control-allow-methods']), /GET/);
});

test('stream ids and segment names are checked before any lookup: 400', async () => {
  for (const url of ['/live/News/index.m3u8', `/live/${'a'.repeat(65)}/index.m3u8`, '/live/-x/index.m3u8', '/live/news/abc.ts', '/live/news/1.ts.tmp', '/live/news/..%2F..%2Fetc.ts']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 400, url);
  }
  // A dot-dot segment is resolved by the router before matching: no route, 404.
  assert.equal((await app.inject({ method: 'GET', url: '/live/%2E%2E/index.m3u8' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/live/news/1/2.ts' })).statusCode, 404);
});

test('unknown stream, stopped stream: 404; a running stream without a segment yet: 503 starting', async () => {
  const unknown = await app.inject({ method: 'GET', url: '/live/nope/index.m3u8' });
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json<{ message: string }>().message, /no stream nope/);
  const off = await app.inject({ method: 'GET', url: '/live/off/index.m3u8' });
  assert.equal(off.statusCode, 404);
  assert.match(off.json<{ message: string }>().message, /not running/);
  const soon = await app.inject({ method: 'GET', url: '/live/soon/index.m3u8' });
  assert.equal(soon.statusCode, 503);
  assert.equal(soon.headers['retry-after'], '1');
  assert.match(soon.json<{ message: string }>().message, /starting/);
  assert.equal((await app.inject({ method: 'GET', url: '/live/nope/1.ts' })).statusCode, 404);
});

test('signed streams: 403 with the reason; a valid signature is repeated on segment URIs', async () => {
  const good = signedQuery(secret, 'paid', nowMs / 1000 + 60);
  const cases: [string, number, RegExp | null][] = [
    ['/live/paid/index.m3u8', 403, /^missing: /],
    [`/live/paid/index.m3u8?${signedQuery('another-secret-sixteen', 'paid', nowMs / 1000 + 60)}`, 403, /^bad-signature: /],
    [`/live/paid/index.m3u8?${signedQuery(secret, 'news', nowMs / 1000 + 60)}`, 403, /^bad-signature: /],
    [`/live/paid/index.m3u8?${signedQuery(secret, 'paid', nowMs / 1000 - 1)}`, 403, /^expired: /],
    ['/live/paid/100.ts', 403, /^missing: /],
    [`/live/paid/index.m3u8?${good}`, 200, null],
    [`/live/paid/100.ts?${good}`, 200, null],
  ];
  for (const [url, status, message] of cases) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, status, url);
    if (message !== null) assert.match(res.json<{ message: string }>().message, message, url);
  }
  const playlist = (await app.inject({ method: 'GET', url: `/live/paid/index.m3u8?${good}&_HLS_msn=5` })).body;
  assert.deepEqual(playlist.split('\n').filter((line) => line.includes('.ts')), [100, 101, 102, 103].map((n) => `${n}.ts?${good}`));
});

test('redirect mode: the active epoch\'s segments go to the worker\'s origin URL, older ones come from the cache', async () => {
  const res = await app.inject({ method: 'GET', url: '/live/bounce/103.ts' });
  assert.equal(res.statusCode, 302);
  assert.equal(res.headers.location, `${workerUrl}/origin/v1/hls/bounce/2/seg-0.ts`);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  const old = await app.inject({ method: 'GET', url: '/live/bounce/101.ts' });
  assert.equal(old.statusCode, 200);
  assert.equal(old.body, 'bounce e1 k1');
  const good = signedQuery(secret, 'bounce-paid', nowMs / 1000 + 60);
  const signed = await app.inject({ method: 'GET', url: `/live/bounce-paid/103.ts?${good}` });
  assert.equal(signed.headers.location, `${workerUrl}/origin/v1/hls/bounce-paid/2/seg-0.ts?${good}`);
});

test('the origin route serves a worker\'s own segment file to viewers (CORS, signing), and nothing else', async () => {
  const res = await app.inject({ method: 'GET', url: '/origin/v1/hls/news/7/seg-3.ts' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'video/mp2t');
  assert.equal(res.headers['content-length'], '100000');
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.equal(res.rawPayload.length, 100_000);
  assert.equal((await app.inject({ method: 'GET', url: '/origin/v1/hls/news/7/seg-4.ts' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/origin/v1/hls/news/7/index.m3u8' })).statusCode, 400);
  assert.equal((await app.inject({ method: 'GET', url: '/origin/v1/hls/paid/7/seg-3.ts' })).statusCode, 403);
});

test('internal routes need the internal token', async () => {
  for (const url of ['/internal/v1/hls/news/7/index.m3u8', '/internal/v1/hls/news/public/100.ts']) {
    const none = await app.inject({ method: 'GET', url });
    assert.equal(none.statusCode, 401, url);
    assert.match(none.json<{ message: string }>().message, /Authorization: Bearer <internal token>/);
    assert.equal((await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
    assert.equal(none.headers['access-control-allow-origin'], undefined, 'no CORS between nodes');
  }
});

test('internal: a worker\'s playlist and segments from <streamsRoot>/<stream>/<epoch>/, names checked', async () => {
  const playlist = await app.inject({ method: 'GET', url: '/internal/v1/hls/news/7/index.m3u8', headers: auth });
  assert.equal(playlist.statusCode, 200);
  assert.equal(playlist.headers['content-type'], 'application/vnd.apple.mpegurl');
  assert.equal(playlist.headers['cache-control'], 'no-store');
  assert.match(playlist.body, /seg-3\.ts/);
  const segment = await app.inject({ method: 'GET', url: '/internal/v1/hls/news/007/seg-3.ts', headers: auth });
  assert.equal(segment.statusCode, 200);
  assert.equal(segment.rawPayload.length, 100_000);
  assert.equal((await app.inject({ method: 'GET', url: '/internal/v1/hls/news/8/index.m3u8', headers: auth })).statusCode, 404);
  for (const url of ['/internal/v1/hls/news/7/secret.txt', '/internal/v1/hls/news/7/..%2F..%2Fsecret.txt', '/internal/v1/hls/news/x/index.m3u8', '/internal/v1/hls/news/7/seg-3.ts.tmp']) {
    assert.equal((await app.inject({ method: 'GET', url, headers: auth })).statusCode, 400, url);
  }
  assert.equal((await app.inject({ method: 'GET', url: '/internal/v1/hls/%2E%2E/7/index.m3u8', headers: auth })).statusCode, 404);
});

test('internal: a cached public segment for a peer, with its epoch and index in headers', async () => {
  const ok = await app.inject({ method: 'GET', url: '/internal/v1/hls/news/public/102.ts', headers: auth });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.body, 'news e1 k2');
  const expected = factHeaders(cache.get('news', 102)!);
  for (const [name, value] of Object.entries(expected)) assert.equal(ok.headers[name], value, name);
  assert.equal(ok.headers['x-ottmesh-epoch'], '1');
  assert.equal(ok.headers['x-ottmesh-index'], '2');
  assert.equal((await app.inject({ method: 'GET', url: '/internal/v1/hls/news/public/5.ts', headers: auth })).statusCode, 404);
});
