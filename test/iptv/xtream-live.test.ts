// The Xtream surface wired as a node wires it: a worker ffmpeg writes HLS (video + audio, 1 s
// segments), a gateway polls it, and one fastify app serves /live (with the viewer-session hook)
// and the Xtream routes with the viewer registry, the .ts relay and the EPG (from a loopback
// XMLTV server). Real ffmpeg plays the .ts URL across a worker switch; connections are counted
// per line (HLS sessions and relays, this node and "other nodes"); failed logins are limited.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';

import { hashPassword } from '../../node/auth/index.ts';
import { realGossipClock } from '../../node/gossip/clock.ts';
import { HlsPoller } from '../../node/hls/poller.ts';
import { hlsRoutes } from '../../node/hls/routes.ts';
import { SegmentCache } from '../../node/hls/segment-cache.ts';
import { TsRelayHub } from '../../node/hls/ts-relay.ts';
import { hlsViewerSessions } from '../../node/hls/viewers-http.ts';
import { ViewerRegistry } from '../../node/hls/viewers.ts';
import { xtreamRoutes } from '../../node/http/routes/xtream.ts';
import { EpgRefresher } from '../../node/epg/refresher.ts';
import { streamNumbers } from '../../node/iptv/xtream.ts';
import { defaultHls } from '../../node/state/index.ts';
import type { LineRecord, StreamRecord } from '../../node/state/index.ts';
import { FakeApi, nowMs } from '../http/fake-api.ts';
import { FakeCluster, hlsApp, internalToken, tempDir, waitFor } from '../hls/helpers.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const stream = 'live-tv';
const processes: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const api = new FakeApi('p1', 'alpha');
const remote = new Map<string, number>();
const viewers = new ViewerRegistry({ remoteCount: (line) => remote.get(line) ?? 0 }, { sessionIdleMs: 1500 });
const cluster = new FakeCluster('w');
const cache = new SegmentCache({ bytesMax: 64 << 20 });
const poller = new HlsPoller({ cluster: new FakeCluster('gw1', cluster), cache, internalToken: () => internalToken, isFenced: () => false, logger: { warn: () => undefined } }, { pollIntervalMs: 100 });
const relay = new TsRelayHub({ gateway: () => ({ source: poller, cache }) }, { recheckIntervalMs: 100 });
const epgLog: string[] = [];
const epg = new EpgRefresher({ state: () => api.state(), fetch: globalThis.fetch, clock: { ...realGossipClock, wallMs: () => nowMs }, log: (line) => epgLog.push(line) }, { checkIntervalMs: 50 });
let root: { path: string; remove: () => Promise<void> };
let app: FastifyInstance;
let baseUrl = '';
let liveId = 0;
const passwords = new Map<string, string>();

/** A worker's ffmpeg for one epoch: HLS with the supervisor's flags, video and audio. */
function workerFfmpeg(dir: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const child = spawn('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments+independent_segments+temp_file+omit_endlist+program_date_time',
    '-hls_segment_filename', `${dir}/seg-%d.ts`, '-start_number', '0', `${dir}/index.m3u8`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  processes.push(child);
  return child;
}

const guideXml = `<?xml version="1.0" encoding="UTF-8"?>
<tv>
  <channel id="Live.TV"><display-name>Live TV</display-name><icon src="https://logos.example/live.png"/></channel>
  <programme start="20250601110000 +0000" stop="20250601123000 +0000" channel="Live.TV"><title>Morning Show</title><desc>Coffee &amp; news</desc></programme>
  <programme start="20250601123000 +0000" stop="20250601130000 +0000" channel="Live.TV"><title>Noon</title></programme>
</tv>
`;

async function createLine(username: string, maxConnections: number, password = 'pw-1'): Promise<void> {
  const line: LineRecord = { username, passwordHash: await hashPassword(password), maxConnections, expiresAtMs: null, enabled: true, createdAtMs: nowMs };
  const result = await api.propose({ type: 'CreateLine', atMs: nowMs, line }, null);
  assert.ok(result.ok, JSON.stringify(result));
  passwords.set(username, password);
}

async function updateLine(username: string, change: Partial<LineRecord>): Promise<void> {
  const result = await api.propose({ type: 'UpdateLine', atMs: nowMs, line: { ...api.state().lines[username]!, ...change } }, null);
  assert.ok(result.ok, JSON.stringify(result));
}

before(async () => {
  root = await tempDir('ottmesh-xtream-live-');
  cleanups.push(() => root.remove());
  const guideServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/xml' }).end(guideXml));
  await new Promise<void>((resolve) => guideServer.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => guideServer.close(() => resolve())));
  const guideUrl = `http://127.0.0.1:${(guideServer.address() as AddressInfo).port}/guide.xml`;

  await api.propose({ type: 'CreateService', atMs: nowMs, service: { id: 'tv', name: 'TV', policy: {}, hls: defaultHls, epgUrls: [guideUrl], createdAtMs: nowMs } }, null);
  const record: StreamRecord = {
    id: stream, name: 'Live TV', sources: [{ url: 'http://127.0.0.1:9/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy', serviceId: 'tv',
    pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: nowMs,
  };
  await api.propose({ type: 'CreateStream', atMs: nowMs, stream: record }, null);
  await api.propose({ type: 'CreateStream', atMs: nowMs, stream: { ...record, id: 'other', name: 'Other' } }, null);
  liveId = streamNumbers(api.state()).get(stream)!;
  await Promise.all([createLine('alice', 3), createLine('solo', 1), createLine('hls1', 1), createLine('gone', 2)]);

  const worker = await hlsApp({ source: { stream: () => null, timeline: () => null, originUrl: () => null }, cache: new SegmentCache(), streamsRoot: root.path, internalToken: () => internalToken });
  cleanups.push(() => worker.close());
  cluster.urls.set('w', await worker.listen({ host: '127.0.0.1', port: 0 }));
  cluster.addStream(stream, { segmentS: 1, windowSegments: 6 });
  cluster.addStream('other', { segmentS: 1, windowSegments: 6 });
  cluster.assign(stream, 'w', 1, 1000);
  workerFfmpeg(join(root.path, stream, '1'));
  poller.start();
  cleanups.push(() => poller.stop());
  cleanups.push(() => relay.stop());
  epg.start();
  cleanups.push(() => epg.stop());

  // As the composition root wires them: the session hook first, then /live, then Xtream.
  app = Fastify({ ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(hlsViewerSessions, { api, viewers });
  await app.register(hlsRoutes, { source: poller, cache, streamsRoot: join(root.path, 'none'), internalToken: () => internalToken });
  await app.register(xtreamRoutes, { api, viewers, relay, epg, failedLogins: { failuresMax: 3 } });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  await waitFor('3 public segments', 20_000, () => (poller.timeline(stream)?.lastPublished() ?? -1) >= 1002);
});

const inject = (url: string, remoteAddress = '10.0.0.1') => app.inject({ method: 'GET', url, remoteAddress, headers: { host: 'tv.example:8080' } });
const liveUrl = (user: string, ext: 'ts' | 'm3u8', password = passwords.get(user)!) => `/live/${user}/${password}/${liveId}.${ext}`;

/** A raw HTTP GET of `path` from `localAddress`, collecting the body. */
function open(path: string, localAddress = '127.0.0.1'): Promise<{ res: IncomingMessage; req: ClientRequest; bytes: () => Buffer; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const req = get(`${baseUrl}${path}`, { localAddress }, (res) => {
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      resolve({ res, req, bytes: () => Buffer.concat(chunks), ended });
    });
    req.on('error', reject);
  });
}

test('.m3u8: 302 with a viewer token; the session counts while its playlist is fetched; the (max+1)th is refused', { timeout: 20_000 }, async () => {
  const first = await inject(liveUrl('hls1', 'm3u8'));
  assert.equal(first.statusCode, 302);
  const location = String(first.headers.location);
  assert.match(location, /^\/live\/live-tv\/index\.m3u8\?vt=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const playlist = await inject(location);
  assert.equal(playlist.statusCode, 200);
  assert.match(playlist.body, /^#EXTM3U\n/);
  assert.equal(viewers.local('hls1'), 1);

  const second = await inject(liveUrl('hls1', 'm3u8'), '10.0.0.2');
  assert.equal(second.statusCode, 403);
  assert.equal(second.body, 'line hls1 already has 1 of its 1 allowed connection: close another player first\n');
  const account = (await inject(`/player_api.php?username=hls1&password=pw-1`)).json();
  assert.equal(account.user_info.active_cons, '1');
  assert.equal(account.user_info.max_connections, '1');

  // The same player asking again (a reload through the redirecting URL) is not a second viewer.
  const again = await inject(liveUrl('hls1', 'm3u8'));
  assert.equal(again.statusCode, 302);
  assert.equal(viewers.local('hls1'), 1);
  const token = String(again.headers.location).split('vt=')[1]!;
  assert.equal((await inject(`/live/other/index.m3u8?vt=${token}`)).statusCode, 403, 'a token is for one stream');
  assert.equal((await inject(`/live/${stream}/index.m3u8?vt=${token.slice(0, -2)}xx`)).statusCode, 403, 'tampered');
  assert.equal((await inject(`/live/${stream}/index.m3u8`)).statusCode, 200, 'the stable URL without a token is not a line viewer');

  // Idle for longer than the session time: the place is free for another player.
  await new Promise((r) => setTimeout(r, 1600));
  assert.equal(viewers.local('hls1'), 0);
  const other = await inject(liveUrl('hls1', 'm3u8'), '10.0.0.2');
  assert.equal(other.statusCode, 302);
  // The old player comes back with its token: the line is full again, so it is refused.
  const back = await inject(`/live/${stream}/index.m3u8?vt=${token}`);
  assert.equal(back.statusCode, 403);
  assert.match(back.json().message, /already has 1 of its 1/);

  // Other nodes' viewers count too (their telemetry says how many).
  remote.set('alice', 3);
  assert.equal((await inject(liveUrl('alice', 'm3u8'))).statusCode, 403);
  remote.delete('alice');

  // A new password voids the tokens made with the old one.
  const current = String(other.headers.location);
  await updateLine('hls1', { passwordHash: await hashPassword('pw-2') });
  const voided = await inject(current, '10.0.0.2');
  assert.equal(voided.statusCode, 403);
  assert.match(voided.json().message, /new password/);
});

test('.ts: one continuous MPEG-TS that ffmpeg plays across a worker switch, timestamps and counters joined', { timeout: 90_000 }, async () => {
  const player = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', `${baseUrl}${liveUrl('alice', 'ts')}`, '-c', 'copy', '-f', 'null', '-', '-progress', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(player);
  let frames = 0;
  let stderr = '';
  player.stdout!.setEncoding('utf8').on('data', (text: string) => {
    for (const match of text.matchAll(/^frame=(\d+)$/gm)) frames = Number(match[1]);
  });
  player.stderr!.setEncoding('utf8').on('data', (text: string) => { stderr = (stderr + text).slice(-4000); });
  const capture = await open(liveUrl('alice', 'ts'));
  assert.equal(capture.res.statusCode, 200);
  assert.equal(capture.res.headers['content-type'], 'video/mp2t');
  assert.equal(capture.res.headers['transfer-encoding'], 'chunked');
  await waitFor('the player to read 2 s', 20_000, () => frames > 50);
  assert.equal(viewers.local('alice'), 2);

  // The switch, as the leader makes it: the next worker starts, the old epoch is sealed, the new
  // one continues at last + 1, the old ffmpeg dies.
  const nextDir = join(root.path, stream, '2');
  const second = workerFfmpeg(nextDir);
  await waitFor('the next worker\'s first segment', 20_000, () => existsSync(join(nextDir, 'index.m3u8')) && /seg-0\.ts/.test(readFileSync(join(nextDir, 'index.m3u8'), 'utf8')));
  cluster.seal(stream);
  await waitFor('the seal to apply', 5000, () => poller.timeline(stream)!.sealApplied(1));
  const last = poller.timeline(stream)!.lastPublished(1)!;
  cluster.assign(stream, 'w', 2, last + 1);
  processes[0]!.kill('SIGKILL');
  const framesAtSwitch = frames;
  await waitFor('the player to play 3 s past the switch', 30_000, () => frames > framesAtSwitch + 75);
  assert.equal(player.exitCode, null, `the player exited: ${stderr}`);
  await waitFor('the capture to reach past the switch', 10_000, () => (poller.timeline(stream)!.lastPublished(2) ?? 0) >= last + 4);
  await new Promise((r) => setTimeout(r, 1500));
  capture.req.destroy();
  player.kill('SIGTERM');
  second.kill('SIGTERM');
  await waitFor('both viewers to be released', 5000, () => viewers.local('alice') === 0);

  const file = join(root.path, 'capture.ts');
  writeFileSync(file, capture.bytes().subarray(0, capture.bytes().length - (capture.bytes().length % 188)));
  const csv = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,dts_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const byStream = new Map<string, number[]>();
  for (const row of csv.trim().split('\n')) {
    const [index, dts] = row.split(',');
    if (dts === undefined || dts === 'N/A') continue;
    byStream.set(index!, [...(byStream.get(index!) ?? []), Number(dts)]);
  }
  assert.equal(byStream.size, 2, 'video and audio');
  for (const [index, list] of byStream) {
    const steps = list.slice(1).map((t, i) => t - list[i]!);
    assert.ok(steps.every((s) => s >= 0), `stream ${index}: DTS never goes back`);
    assert.ok(Math.max(...steps) < 0.5, `stream ${index}: no hole (largest step ${Math.max(...steps).toFixed(3)} s)`);
    assert.ok(list.at(-1)! - list[0]! > 4, `stream ${index}: the capture spans the switch`);
  }
  const stats = relay.stats();
  assert.equal(stats.gaps, 0, 'every public number once, in order');
  assert.equal(stats.ended['client-closed'], 2);
});

test('.ts: the (max+1)th connection of a line is refused; a reconnect from the same address replaces the old one', { timeout: 20_000 }, async () => {
  const first = await open(liveUrl('solo', 'ts'), '127.0.0.1');
  assert.equal(first.res.statusCode, 200);
  await waitFor('bytes', 5000, () => first.bytes().length > 0);
  const refused = await open(liveUrl('solo', 'ts'), '127.0.0.2');
  await refused.ended;
  assert.equal(refused.res.statusCode, 403);
  assert.equal(refused.bytes().toString(), 'line solo already has 1 of its 1 allowed connection: close another player first\n');
  const reconnect = await open(liveUrl('solo', 'ts'), '127.0.0.1');
  assert.equal(reconnect.res.statusCode, 200);
  await first.ended; // the old connection is closed
  assert.equal(viewers.local('solo'), 1);
  reconnect.req.destroy();
  await waitFor('release', 5000, () => viewers.local('solo') === 0);
});

test('.ts: a line disabled while watching sees its stream end', { timeout: 20_000 }, async () => {
  const watching = await open(liveUrl('gone', 'ts'));
  assert.equal(watching.res.statusCode, 200);
  await waitFor('bytes', 5000, () => watching.bytes().length > 0);
  await updateLine('gone', { enabled: false });
  await watching.ended;
  assert.ok(watching.res.complete, 'a clean end of the chunked response');
  assert.equal(viewers.local('gone'), 0);
  assert.equal((await inject(liveUrl('gone', 'ts'))).statusCode, 403);
});

test('EPG through Xtream: get.php header and logos, xmltv.php, get_short_epg and get_simple_data_table', { timeout: 20_000 }, async () => {
  await waitFor('the guide', 10_000, () => epg.guide().stream(stream) !== null);
  const m3u = (await inject('/get.php?username=alice&password=pw-1&type=m3u_plus&output=ts')).body.split('\r\n');
  const guideUrl = 'http://tv.example:8080/xmltv.php?username=alice&password=pw-1';
  assert.equal(m3u[0], `#EXTM3U x-tvg-url="${guideUrl}" url-tvg="${guideUrl}"`);
  assert.ok(m3u.includes(`#EXTINF:-1 tvg-id="${stream}" tvg-name="Live TV" tvg-logo="https://logos.example/live.png" group-title="TV",Live TV`), m3u.join('\n'));
  assert.ok(m3u.includes(`http://tv.example:8080/live/alice/pw-1/${liveId}.ts`));

  const xml = await inject('/xmltv.php?username=alice&password=pw-1');
  assert.equal(xml.statusCode, 200);
  assert.match(String(xml.headers['content-type']), /^application\/xml/);
  assert.match(xml.body, /<channel id="live-tv"><display-name>Live TV<\/display-name>/);
  assert.match(xml.body, /<programme start="20250601110000 \+0000" stop="20250601123000 \+0000" channel="live-tv"><title>Morning Show<\/title><desc>Coffee &amp; news<\/desc><\/programme>/);
  assert.equal((await inject('/xmltv.php?username=alice&password=nope', '10.7.7.7')).statusCode, 403);

  const base = `/player_api.php?username=alice&password=pw-1&action=`;
  const streams = (await inject(`${base}get_live_streams`)).json() as Json[];
  assert.equal(streams.find((s) => s.stream_id === liveId).stream_icon, 'https://logos.example/live.png');
  const short = (await inject(`${base}get_short_epg&stream_id=${liveId}&limit=1`)).json();
  assert.equal(short.epg_listings.length, 1);
  const now = short.epg_listings[0];
  assert.equal(Buffer.from(now.title, 'base64').toString(), 'Morning Show');
  assert.equal(Buffer.from(now.description, 'base64').toString(), 'Coffee & news');
  assert.equal(now.start, '2025-06-01 11:00:00');
  assert.equal(now.stop_timestamp, String(Date.UTC(2025, 5, 1, 12, 30) / 1000));
  assert.equal(now.channel_id, stream);
  const table = (await inject(`${base}get_simple_data_table&stream_id=${liveId}`)).json();
  assert.deepEqual(table.epg_listings.map((l: Json) => l.now_playing), [1, 0]);
  assert.deepEqual((await inject(`${base}get_short_epg&stream_id=12`)).json(), { epg_listings: [] });
  assert.deepEqual(epgLog, []);
});

test('failed logins: 429 for the address after 3 failures, even with the right password; other addresses go on', { timeout: 20_000 }, async () => {
  for (let i = 0; i < 3; i++) assert.deepEqual((await inject('/player_api.php?username=alice&password=guess', '10.6.6.6')).json(), { user_info: { auth: 0 } });
  const limited = await inject('/player_api.php?username=alice&password=pw-1', '10.6.6.6');
  assert.equal(limited.statusCode, 429);
  assert.ok(Number(limited.headers['retry-after']) > 0);
  assert.match(limited.json().user_info.message, /too many failed logins from your address/);
  const live = await inject(liveUrl('alice', 'm3u8'), '10.6.6.6');
  assert.equal(live.statusCode, 429);
  assert.match(live.body, /wait \d+ s/);
  assert.equal((await inject('/player_api.php?username=alice&password=pw-1', '10.6.6.7')).json().user_info.auth, 1);
  // Correct logins, however many, do not use up the budget.
  for (let i = 0; i < 10; i++) assert.equal((await inject('/player_api.php?username=alice&password=pw-1', '10.6.6.8')).statusCode, 200);
});
