// The operator exports, through buildServer as the composition root builds it (so the
// API's authentication applies): /api/v1/playlist.m3u (stable HLS URLs, signed where the service
// signs), /api/v1/epg.xml and /api/v1/epg/sources.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { checkViewerSignature } from '../../node/hls/signing.ts';
import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import type { EpgView } from '../../node/http/routes/playlists.ts';
import { mergeGuide } from '../../node/iptv/epg.ts';
import { GuideCollector, StreamMatcher } from '../../node/iptv/xmltv.ts';
import { XmltvParser } from '../../node/iptv/xmltv-parser.ts';
import { defaultHls } from '../../node/state/index.ts';
import type { StreamRecord } from '../../node/state/index.ts';
import { adminApiToken, FakeApi, nowMs } from '../http/fake-api.ts';

const auth = { authorization: `Bearer ${adminApiToken.token}`, host: 'tv.example:8080' };
const api = new FakeApi('p1', 'alpha');
let app: HttpServer;
const guideUrl = 'http://127.0.0.1:9/guide.xml';
const epg: EpgView = {
  guide: () => {
    const collector = new GuideCollector(new StreamMatcher(['news']), nowMs);
    const parser = new XmltvParser(collector);
    parser.feed('<tv><channel id="news"><display-name>N</display-name><icon src="http://l/n.png"/></channel><programme start="20250601120000" channel="news"><title>Now</title></programme></tv>');
    parser.end();
    return mergeGuide(1, api.state(), new Map([[guideUrl, collector.finish()]]));
  },
  sources: () => [{ url: guideUrl, streams: 1, matched: 1, programmes: 1, lastSuccessAtMs: nowMs, lastAttemptAtMs: nowMs, lastError: null, fetching: false }],
};
const stream = (id: string, name: string, serviceId: string | null, enabled = true): StreamRecord => ({
  id, name, sources: [{ url: 'http://127.0.0.1:9/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy', serviceId,
  pinGroup: null, pinNode: null, priority: 0, enabled, policy: {}, createdAtMs: nowMs,
});

before(async () => {
  app = buildServer({ api, iptv: { epg } });
  await app.ready();
  await api.propose({ type: 'CreateService', atMs: nowMs, service: { id: 'news-svc', name: 'News', policy: {}, hls: defaultHls, epgUrls: [guideUrl], createdAtMs: nowMs } }, null);
  await api.propose({ type: 'CreateService', atMs: nowMs, service: { id: 'paid', name: 'Paid', policy: {}, hls: { ...defaultHls, signingSecret: 's'.repeat(32) }, createdAtMs: nowMs } }, null);
  await api.propose({ type: 'CreateStream', atMs: nowMs, stream: stream('news', 'News "24"', 'news-svc') }, null);
  await api.propose({ type: 'CreateStream', atMs: nowMs, stream: stream('film', 'Film', 'paid') }, null);
  await api.propose({ type: 'CreateStream', atMs: nowMs, stream: stream('off', 'Off', null, false) }, null);
});
after(() => app.close());

test('playlist.m3u: stable HLS URLs with tvg attributes, no credentials; signed where the service signs', async () => {
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/playlist.m3u' })).statusCode, 401);
  const res = await app.inject({ method: 'GET', url: '/api/v1/playlist.m3u', headers: auth });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^audio\/x-mpegurl/);
  const lines = res.body.trimEnd().split('\n');
  assert.equal(lines[0], '#EXTM3U');
  assert.equal(lines.length, 5, 'two enabled streams');
  assert.equal(lines[1], '#EXTINF:-1 tvg-id="film" tvg-name="Film" tvg-logo="" group-title="Paid",Film');
  const signed = new URL(lines[2]!);
  assert.equal(`${signed.origin}${signed.pathname}`, 'http://tv.example:8080/live/film/index.m3u8');
  const check = checkViewerSignature('s'.repeat(32), 'film', signed.searchParams.get('exp'), signed.searchParams.get('sig'), nowMs);
  assert.ok(check.ok);
  assert.equal(Number(signed.searchParams.get('exp')), nowMs / 1000 + 86_400);
  assert.equal(lines[3], `#EXTINF:-1 tvg-id="news" tvg-name="News '24'" tvg-logo="http://l/n.png" group-title="News",News "24"`);
  assert.equal(lines[4], 'http://tv.example:8080/live/news/index.m3u8');

  const one = await app.inject({ method: 'GET', url: '/api/v1/playlist.m3u?service=paid&ttlS=600', headers: auth });
  assert.equal(one.body.trimEnd().split('\n').length, 3);
  assert.match(one.body, new RegExp(`exp=${nowMs / 1000 + 600}&`));
  const unknown = await app.inject({ method: 'GET', url: '/api/v1/playlist.m3u?service=nope', headers: auth });
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().message, /no service nope/);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/playlist.m3u?ttlS=5', headers: auth })).statusCode, 400);
});

test('epg.xml and epg/sources: the merged guide and each source\'s last fetch, authenticated', async () => {
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/epg.xml' })).statusCode, 401);
  const xml = await app.inject({ method: 'GET', url: '/api/v1/epg.xml', headers: auth });
  assert.equal(xml.statusCode, 200);
  assert.match(String(xml.headers['content-type']), /^application\/xml/);
  assert.match(xml.body, /<channel id="news"><display-name>News &quot;24&quot;<\/display-name><display-name>N<\/display-name>/);
  assert.match(xml.body, /<programme start="20250601120000 \+0000" stop="20250601130000 \+0000" channel="news"><title>Now<\/title><\/programme>/);
  const paid = await app.inject({ method: 'GET', url: '/api/v1/epg.xml?service=paid', headers: auth });
  assert.doesNotMatch(paid.body, /<channel/);
  const sources = await app.inject({ method: 'GET', url: '/api/v1/epg/sources', headers: auth });
  assert.deepEqual(sources.json(), [{ url: guideUrl, streams: 1, matched: 1, programmes: 1, lastSuccessAt: '2025-06-01T12:00:00.000Z', lastAttemptAt: '2025-06-01T12:00:00.000Z', lastError: null, fetching: false }]);
  const spec = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
  assert.ok(spec.paths['/api/v1/playlist.m3u'] && spec.paths['/api/v1/epg.xml'] && spec.paths['/api/v1/epg/sources'], 'documented in the OpenAPI document');
});
