// The EPG refresher against a loopback HTTP server: plain, .gz and Content-Encoding gzip guides,
// a refetch when a service's streams change, and failures (HTTP errors, broken XML, oversize,
// timeouts) that keep the last good copy and are reported once per streak.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

import { realGossipClock } from '../../node/gossip/clock.ts';
import { EpgRefresher, encodingOf } from '../../node/epg/refresher.ts';
import type { EpgRefresherInit } from '../../node/epg/refresher.ts';
import { defaultHls, emptyState } from '../../node/state/index.ts';
import type { ClusterState, StreamRecord } from '../../node/state/index.ts';
import { waitFor } from '../hls/helpers.ts';

const now = Date.now();
/** XMLTV time of `now + hours`. */
const at = (hours: number): string => new Date(now + hours * 3_600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14) + ' +0000';
const xmltv = (title: string, extraChannel = ''): string => `<?xml version="1.0" encoding="UTF-8"?>
<tv>
  <channel id="News.uk"><display-name>News</display-name><icon src="https://logos.example/news.png"/></channel>${extraChannel}
  <programme start="${at(-1)}" stop="${at(1)}" channel="News.uk"><title>${title}</title></programme>
  <programme start="${at(1)}" stop="${at(2)}" channel="News.uk"><title>Later</title></programme>
  <programme start="${at(0)}" stop="${at(1)}" channel="Sport.uk"><title>Match</title></programme>
</tv>
`;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
const server = createServer((req, res) => {
  hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
  const handler = routes.get(req.url!);
  if (handler === undefined) res.writeHead(404).end('no such guide');
  else handler(req, res);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => new Promise<void>((resolve) => {
  server.closeAllConnections();
  server.close(() => resolve());
}));

function stateWith(urls: string[], streamIds: string[]): ClusterState {
  const streams: Record<string, StreamRecord> = {};
  for (const id of streamIds) {
    streams[id] = { id, name: id.toUpperCase(), sources: [{ url: 'http://127.0.0.1:9/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy', serviceId: 'tv', pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: now };
  }
  return { ...emptyState(), services: { tv: { id: 'tv', name: 'TV', policy: {}, hls: defaultHls, epgUrls: urls, createdAtMs: now } }, streams };
}

function refresher(state: { current: ClusterState }, init: EpgRefresherInit = {}): { epg: EpgRefresher; log: string[] } {
  const log: string[] = [];
  const epg = new EpgRefresher(
    { state: () => state.current, fetch: globalThis.fetch, clock: realGossipClock, log: (line) => log.push(line) },
    { checkIntervalMs: 20, retryMinMs: 100, retryMaxMs: 200, changeSettleMs: 50, changeMinIntervalMs: 100, timeoutMs: 2000, ...init },
  );
  return { epg, log };
}

const titleNow = (epg: EpgRefresher, id = 'news-uk'): string | undefined => epg.guide().stream(id)?.programmes[0]?.title;

test('plain, .gz and Content-Encoding: gzip guides; a refetch when the service gains a stream', { timeout: 20_000 }, async () => {
  routes.set('/plain.xml', (_req, res) => res.writeHead(200, { 'content-type': 'application/xml' }).end(xmltv('Plain')));
  routes.set('/guide.xml.gz', (_req, res) => res.writeHead(200, { 'content-type': 'application/gzip' }).end(gzipSync(xmltv('Gzipped file'))));
  routes.set('/encoded.xml', (_req, res) => res.writeHead(200, { 'content-type': 'application/xml', 'content-encoding': 'gzip' }).end(gzipSync(xmltv('Encoded'))));
  for (const [path, title] of [['/plain.xml', 'Plain'], ['/guide.xml.gz', 'Gzipped file'], ['/encoded.xml', 'Encoded']] as const) {
    const state = { current: stateWith([`${base}${path}`], ['news-uk']) };
    const { epg, log } = refresher(state);
    epg.start();
    try {
      await waitFor(`the guide of ${path}`, 5000, () => titleNow(epg) === title);
      assert.equal(epg.guide().logo('news-uk'), 'https://logos.example/news.png');
      const [source] = epg.sources();
      assert.equal(source!.lastError, null);
      assert.equal(source!.matched, 1);
      assert.equal(source!.programmes, 2);
      assert.deepEqual(log, []);
      if (path === '/plain.xml') {
        // A stream the guide has (Sport.uk) joins the service: fetched again, and now it matches.
        const fetched = hits.get(path)!;
        state.current = stateWith([`${base}${path}`], ['news-uk', 'sport-uk']);
        await waitFor('the refetch for the new stream', 5000, () => titleNow(epg, 'sport-uk') === 'Match');
        assert.equal(hits.get(path), fetched + 1);
        assert.equal(epg.sources()[0]!.streams, 2);
        // A service that drops the URL drops its guide.
        state.current = stateWith([], ['news-uk', 'sport-uk']);
        await waitFor('the guide to go', 2000, () => epg.guide().size === 0 && epg.sources().length === 0);
      }
    } finally {
      await epg.stop();
    }
  }
});

test('a failing source keeps its last good copy, says why, and recovers', { timeout: 20_000 }, async () => {
  type Mode = 'ok' | 'error' | 'broken' | 'huge' | 'slow';
  let mode = 'ok' as Mode;
  routes.set('/flaky.xml', (_req, res) => {
    if (mode === 'ok') res.writeHead(200).end(xmltv('Good'));
    else if (mode === 'error') res.writeHead(503).end('down for maintenance');
    else if (mode === 'broken') res.writeHead(200).end('<tv><channel id="News.uk"></tv>');
    else if (mode === 'huge') res.writeHead(200).end(`<tv>${'<!-- padding -->'.repeat(10_000)}</tv>`);
    else setTimeout(() => res.writeHead(200).end(xmltv('Too late')), 1500);
  });
  const state = { current: stateWith([`${base}/flaky.xml`], ['news-uk']) };
  const { epg, log } = refresher(state, { downloadBytesMax: 100_000, timeoutMs: 700, refreshIntervalMs: 50 });
  epg.start();
  try {
    await waitFor('the first copy', 5000, () => titleNow(epg) === 'Good');
    const expectations: [Mode, RegExp][] = [['error', /answered HTTP 503/], ['broken', /<\/tv> closes <channel>/], ['huge', /larger than 100000 bytes/], ['slow', /within 0\.7 s/]];
    for (const [next, problem] of expectations) {
      mode = next;
      await waitFor(`the ${next} failure to be reported`, 5000, () => problem.test(epg.sources()[0]!.lastError ?? ''));
      assert.equal(titleNow(epg), 'Good', `${next}: the last good copy is still served`);
    }
    const reported = log.length;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(log.length, reported, 'a repeated failure is logged once');
    assert.ok(log.every((line) => /keeping the last good copy/.test(line)), log.join('\n'));
    mode = 'ok';
    routes.set('/flaky.xml', (_req, res) => res.writeHead(200).end(xmltv('Fixed')));
    await waitFor('recovery', 5000, () => titleNow(epg) === 'Fixed' && epg.sources()[0]!.lastError === null);
    assert.match(log.at(-1)!, /works again/);
  } finally {
    await epg.stop();
  }
});

test('a source that never worked is reported; unknown URLs and refused connections too', { timeout: 10_000 }, async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/guide.xml`;
  await new Promise((resolve) => closed.close(resolve));
  const state = { current: stateWith([`${base}/missing.xml`, deadUrl], ['news-uk']) };
  const { epg, log } = refresher(state);
  epg.start();
  try {
    await waitFor('both failures', 5000, () => epg.sources().every((s) => s.lastError !== null));
    const byUrl = new Map(epg.sources().map((s) => [s.url, s.lastError]));
    assert.match(byUrl.get(`${base}/missing.xml`)!, /HTTP 404/);
    assert.match(byUrl.get(deadUrl)!, /cannot fetch/);
    assert.ok(log.some((line) => /no copy yet/.test(line)));
    assert.equal(epg.guide().size, 0);
  } finally {
    await epg.stop();
  }
});

test('encodings: BOM and XML declaration pick the decoder; unknown ones fall back to UTF-8', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  assert.equal(encodingOf(bytes('<?xml version="1.0" encoding="ISO-8859-1"?><tv/>')), 'windows-1252');
  assert.equal(encodingOf(bytes('<?xml version="1.0"?><tv/>')), 'utf-8');
  assert.equal(encodingOf(bytes('<?xml version="1.0" encoding="klingon"?>')), 'utf-8');
  assert.equal(encodingOf(new Uint8Array([0xff, 0xfe, 0x3c, 0x00])), 'utf-16le');
  assert.equal(encodingOf(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('<?xml version="1.0" encoding="utf-8"?>')])), 'utf-8');
});
