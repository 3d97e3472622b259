// Two gateways polling one worker over real HTTP on loopback (hand-written worker files): the
// numbering from the base, gateway-side fencing, the seal and its report, a switch, and a
// gateway that missed numbers filling them from its peer's cache.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { HlsPoller } from '../../node/hls/poller.ts';
import { SegmentCache } from '../../node/hls/segment-cache.ts';
import { FakeCluster, hlsApp, internalToken, tempDir, waitFor } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function listen(app: FastifyInstance): Promise<string> {
  cleanups.push(() => app.close());
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return address;
}

/** Writes the worker's files of one epoch: seg-<k>.ts holding "e<epoch>k<k>", and a playlist. */
async function writeWorker(root: string, epoch: number, ks: readonly number[]): Promise<void> {
  const dir = join(root, 's', String(epoch));
  await mkdir(dir, { recursive: true });
  for (const k of ks) await writeFile(join(dir, `seg-${k}.ts`), `e${epoch}k${k}`);
  const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${ks[0] ?? 0}`, ...ks.flatMap((k) => ['#EXTINF:1.000000,', `seg-${k}.ts`])];
  // As ffmpeg does: a temp file renamed over the old one, so a reader never sees half of it.
  await writeFile(join(dir, 'index.m3u8.tmp'), `${lines.join('\n')}\n`);
  await rename(join(dir, 'index.m3u8.tmp'), join(dir, 'index.m3u8'));
}

test('two gateways: base + k, fencing, seal reported, switch at last + 1, holes filled from the peer', async () => {
  const root = await tempDir('ottmesh-hls-poller-');
  cleanups.push(root.remove);
  const cluster = new FakeCluster('w');
  const worker = await hlsApp({ source: { stream: () => null, timeline: () => null, originUrl: () => null }, cache: new SegmentCache(), streamsRoot: root.path, internalToken: () => internalToken });
  cluster.urls.set('w', await listen(worker));

  const seals: string[] = [];
  let fencedB = false;
  const gateway = async (id: string, isFenced: () => boolean) => {
    const view = new FakeCluster(id, cluster);
    const cache = new SegmentCache({ bytesMax: 1 << 20 });
    const poller = new HlsPoller({ cluster: view, cache, internalToken: () => internalToken, isFenced, onSealApplied: (s, e) => seals.push(`${id} ${s} ${e}`), logger: { warn: () => undefined } }, { pollIntervalMs: 40 });
    cleanups.push(() => poller.stop());
    const app = await hlsApp({ source: poller, cache, streamsRoot: root.path, internalToken: () => internalToken });
    cluster.urls.set(id, await listen(app));
    return { poller, app };
  };
  const a = await gateway('gwA', () => false);
  const b = await gateway('gwB', () => fencedB);
  const last = (g: { poller: HlsPoller }): number | null => g.poller.timeline('s')?.lastPublished() ?? null;

  cluster.addStream('s', { segmentS: 1, windowSegments: 4 });
  cluster.assign('s', 'w', 1, 10);
  a.poller.start();
  b.poller.start();
  assert.equal((await a.app.inject({ method: 'GET', url: '/live/s/index.m3u8' })).statusCode, 503, 'no segment yet: starting');
  await writeWorker(root.path, 1, [0]);
  await waitFor('both gateways to publish 10', 5000, () => last(a) === 10 && last(b) === 10);

  fencedB = true;
  await writeWorker(root.path, 1, [0, 1, 2]);
  await waitFor('A to publish 12', 5000, () => last(a) === 12);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(last(b), 10, 'a fenced gateway publishes nothing new');
  assert.ok(b.poller.stats().fencedRounds > 0);

  cluster.seal('s');
  await waitFor('both gateways to apply the seal', 5000, () => seals.length === 2);
  assert.deepEqual(seals.sort(), ['gwA s 1', 'gwB s 1']);
  assert.deepEqual(a.poller.gatewayFigures(), [{ id: 's', epoch: 1, lastPublished: 12, sealed: true }]);
  assert.deepEqual(b.poller.gatewayFigures(), [{ id: 's', epoch: 1, lastPublished: 10, sealed: true }]);
  await writeWorker(root.path, 1, [0, 1, 2, 3]);

  // The leader switches at one past the highest number reported: 13.
  await writeWorker(root.path, 2, [0]);
  cluster.assign('s', 'w', 2, 13);
  await waitFor('A to publish 13', 5000, () => last(a) === 13);
  fencedB = false;
  await waitFor('B to fill 11 and 12 from A, then publish 13', 5000, () => last(b) === 13);
  assert.equal(b.poller.stats().peerHits, 2);
  assert.equal(b.poller.timeline('s')!.stats.fromPeers, 2);
  for (const g of [a, b]) {
    const view = g.poller.timeline('s')!.view();
    assert.deepEqual(view.segments.map((s) => [s.n, s.epoch, s.k, s.discontinuity]), [[10, 1, 0, false], [11, 1, 1, false], [12, 1, 2, false], [13, 2, 0, true]]);
    for (const [n, body] of [[11, 'e1k1'], [12, 'e1k2'], [13, 'e2k0']] as const) {
      assert.equal((await g.app.inject({ method: 'GET', url: `/live/s/${n}.ts` })).body, body);
    }
  }
  assert.deepEqual(a.poller.gatewayFigures(), [{ id: 's', epoch: 2, lastPublished: 13 }]);

  // The worker died: its files are gone, but the listed segments are still served.
  await rm(join(root.path, 's'), { recursive: true });
  assert.equal((await b.app.inject({ method: 'GET', url: '/live/s/13.ts' })).statusCode, 200);

  // Unassigned (disabled): the timeline and the segments go.
  cluster.assignments.delete('s');
  await waitFor('A to drop the stream', 5000, () => a.poller.timeline('s') === null);
  assert.equal((await a.app.inject({ method: 'GET', url: '/live/s/index.m3u8' })).statusCode, 404);
  assert.equal((await a.app.inject({ method: 'GET', url: '/live/s/13.ts' })).statusCode, 404);
});

test('a gateway that starts (or restarts) while the worker runs lists the newest window at once, never less', async () => {
  const root = await tempDir('ottmesh-hls-poller-');
  cleanups.push(root.remove);
  const cluster = new FakeCluster('w');
  const worker = await hlsApp({ source: { stream: () => null, timeline: () => null, originUrl: () => null }, cache: new SegmentCache(), streamsRoot: root.path, internalToken: () => internalToken });
  cluster.urls.set('w', await listen(worker));
  // The worker lists window + 3 segments, as workerListSize() makes it.
  await writeWorker(root.path, 1, [3, 4, 5, 6, 7, 8, 9]);
  cluster.addStream('s', { segmentS: 1, windowSegments: 4 });
  cluster.assign('s', 'w', 1, 100);
  const poller = new HlsPoller({ cluster: new FakeCluster('gwA', cluster), cache: new SegmentCache({ bytesMax: 1 << 20 }), internalToken: () => internalToken, isFenced: () => false, logger: { warn: () => undefined } }, { pollIntervalMs: 40 });
  cleanups.push(() => poller.stop());
  const lengths = new Set<number>();
  const sampler = setInterval(() => lengths.add(poller.timeline('s')?.view().segments.length ?? 0), 1);
  poller.start();
  await waitFor('the first window', 5000, () => poller.timeline('s')?.lastPublished() === 109);
  clearInterval(sampler);
  assert.deepEqual(poller.timeline('s')!.view().segments.map((s) => s.n), [106, 107, 108, 109]);
  assert.equal(poller.stats().segmentsCopied, 4, 'only the tail is copied');
  assert.deepEqual([...lengths].filter((n) => n > 0), [4], 'never a shorter list on the way');
});
