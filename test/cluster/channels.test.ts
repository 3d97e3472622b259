// Channels end to end (issue 4): three node processes from the CLI, a live source on loopback
// made by ffmpeg, a stream added through the API and placed with a hot standby. Viewers at the
// stable URL (pollers at every node, an ffmpeg client, hls.js in Chromium from another origin)
// keep playing through kill -9 of the worker and through a drain; every node gives each public
// number to the same segment, with no hole and no reversal. Then source failover and return.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LiveSource } from './live-source.ts';
import { BrowserPlayer, disagreements, FfmpegClient, holes, PlaylistWatcher } from './players.ts';
import { waitFor } from './processes.ts';
import type { ProcessCluster } from './processes.ts';
import { buildCluster, waitSettled, withCluster } from './scenario.ts';

interface StreamView {
  status: string;
  nodeId: string | null;
  standbyNodeId: string | null;
  epoch: number | null;
  source: string | null;
}

async function streamOf(cluster: ProcessCluster, via: string, admin: string, id: string): Promise<StreamView | null> {
  const res = await cluster.request(via, 'GET', `/api/v1/streams/${id}`, { token: admin });
  return res?.status === 200 ? (JSON.parse(res.body) as StreamView) : null;
}

async function nameOf(cluster: ProcessCluster, names: readonly string[], nodeId: string): Promise<string> {
  for (const name of names) if ((await cluster.health(name))?.nodeId === nodeId) return name;
  throw new Error(`no running node has id ${nodeId}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Samples hls.js every 250 ms from now on; the returned function stops and gives the longest
 *  time currentTime stood still. */
function watchStalls(browser: BrowserPlayer): () => number {
  let stallMs = 0;
  let last = -1;
  let stillSince = Date.now();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    browser.sample().then((now) => {
      if (now.currentTime > last) stillSince = now.atMs;
      stallMs = Math.max(stallMs, now.atMs - stillSince);
      last = Math.max(last, now.currentTime);
    }, () => undefined).finally(() => { busy = false; });
  }, 250);
  return () => {
    clearInterval(timer);
    return stallMs;
  };
}

test('a stream plays at the stable URL on every node through a worker kill and a drain, with contiguous numbering', { timeout: 240_000 }, async () => {
  const source = new LiveSource();
  const watchers: PlaylistWatcher[] = [];
  let client = null as FfmpegClient | null;
  const browser = new BrowserPlayer();
  try {
    await source.start();
    await withCluster('ottmesh-channels-', async (cluster) => {
      const names = ['n1', 'n2', 'n3'];
      const built = await buildCluster(cluster, names);
      await waitSettled(cluster, built, 3);
      const created = await cluster.request('n1', 'POST', '/api/v1/streams', {
        token: built.admin,
        body: { id: 'news', name: 'News', sources: [{ url: source.url }], profile: 'copy', policy: { hotStandby: true } },
      });
      assert.equal(created?.status, 201, created?.body);
      const placed = await waitFor('the stream running with a standby', async () => {
        const s = await streamOf(cluster, 'n1', built.admin, 'news');
        return s?.status === 'running' && s.standbyNodeId !== null ? s : null;
      }, 60_000, 250);
      const worker = await nameOf(cluster, names, placed.nodeId!);
      const viewerNode = names.find((n) => n !== worker)!;
      const log = await cluster.request(viewerNode, 'GET', '/api/v1/streams/news/log', { token: built.admin });
      assert.equal(log?.status, 200, `the worker's ffmpeg log through another node: ${log?.body}`);
      assert.ok(Array.isArray((JSON.parse(log.body) as { lines: unknown }).lines));
      const probe = await cluster.request(viewerNode, 'POST', '/api/v1/probe', { token: built.admin, body: { url: source.url, nodeId: placed.nodeId }, timeoutMs: 30_000 });
      assert.equal(probe?.status, 200, probe?.body);
      const probed = JSON.parse(probe.body) as { ok: boolean; streams: string[]; nodeId: string };
      assert.deepEqual([probed.ok, probed.nodeId], [true, placed.nodeId], probe.body);
      assert.ok(probed.streams.some((s) => /Video: h264/.test(s)), 'the probe names the source\'s video stream');
      const nodeLog = await cluster.request(viewerNode, 'GET', `/api/v1/nodes/${placed.nodeId}/log`, { token: built.admin });
      assert.equal(nodeLog?.status, 200, 'the worker node\'s log, asked through another node');
      assert.ok(Array.isArray((JSON.parse(nodeLog.body) as { lines: unknown }).lines));

      for (const name of names) {
        const w = new PlaylistWatcher(cluster.nodes.get(name)!.httpUrl, 'news');
        w.start();
        watchers.push(w);
      }
      await waitFor('every node listing segments', () => (watchers.every((w) => w.last >= 1) ? true : null), 30_000, 100);
      const viewerUrl = `${cluster.nodes.get(viewerNode)!.httpUrl}/live/news/index.m3u8`;
      client = new FfmpegClient(viewerUrl);
      await browser.start(viewerUrl);
      await waitFor('hls.js playing', async () => ((await browser.sample()).currentTime > 2 ? true : null), 30_000, 250);

      // kill -9 of the worker: the standby takes over; viewers keep playing.
      const survivors = watchers.filter((w) => w.baseUrl !== cluster.nodes.get(worker)!.httpUrl);
      const lastBefore = Math.max(...survivors.map((w) => w.last));
      const before = await browser.sample();
      const stopStallWatch = watchStalls(browser);
      const killedAt = Date.now();
      cluster.note(`kill -9 ${worker} (the worker)`);
      await cluster.kill(worker);
      await waitFor('a new segment at the stable URL after the kill', () => (survivors.some((w) => w.last > lastBefore) ? true : null), 20_000, 50);
      const failoverMs = Date.now() - killedAt;
      cluster.note(`new segment ${failoverMs} ms after the kill`);
      const after = await waitFor('the stream running on another node', async () => {
        const s = await streamOf(cluster, viewerNode, built.admin, 'news');
        return s?.status === 'running' && s.nodeId !== placed.nodeId ? s : null;
      }, 30_000, 250);
      await sleep(Math.max(0, killedAt + failoverMs + 12_000 - Date.now()));
      const stallMs = stopStallWatch();
      cluster.note(`hls.js: longest stall ${stallMs} ms (sampled every 250 ms) from the kill on`);
      const played = await browser.sample();
      assert.equal(played.fatal, null, `hls.js fatal error: ${played.fatal}; errors ${played.errors.join(', ')}`);
      assert.ok(played.currentTime - before.currentTime > 10, `currentTime advanced ${before.currentTime} -> ${played.currentTime}`);
      assert.equal(client.exited, false, `the ffmpeg client stopped: ${client.stderr}`);
      assert.ok(failoverMs < 10_000, `new segment ${failoverMs} ms after the kill`);
      assert.ok(stallMs <= 1_000, `hls.js stood still ${stallMs} ms (target: at most 1 s)`);

      // Drain the new worker: the stream moves, make-before-break, without a gap.
      const second = await nameOf(cluster, names.filter((n) => n !== worker), after.nodeId!);
      const drained = await cluster.request(viewerNode, 'POST', `/api/v1/nodes/${after.nodeId}/drain`, { token: built.admin });
      assert.equal(drained?.status, 200, drained?.body);
      cluster.note(`drain ${second}`);
      await waitFor('the stream moved off the drained node', async () => {
        const s = await streamOf(cluster, viewerNode, built.admin, 'news');
        return s !== null && s.nodeId !== after.nodeId && s.status === 'running' ? s : null;
      }, 40_000, 250);
      await sleep(8_000);
      const end = await browser.sample();
      assert.equal(end.fatal, null, `hls.js fatal error after the drain: ${end.fatal}`);
      assert.ok(end.currentTime - played.currentTime > 6, `currentTime advanced ${played.currentTime} -> ${end.currentTime} across the drain`);
      assert.equal(client.exited, false, `the ffmpeg client stopped: ${client.stderr}`);
      for (const w of survivors) {
        assert.deepEqual(w.problems, [], `watcher at ${w.baseUrl}`);
        assert.deepEqual(holes(w), [], `holes at ${w.baseUrl}`);
      }
      assert.deepEqual(disagreements(watchers), []);
    });
  } finally {
    for (const w of watchers) w.stop();
    await client?.stop();
    await browser.stop();
    await source.close();
  }
});

test('source failover: the backup takes over when the primary stops, and the primary is back when it returns', { timeout: 260_000 }, async () => {
  const primary = new LiveSource();
  const backup = new LiveSource();
  try {
    await primary.start();
    await backup.start();
    await withCluster('ottmesh-sources-', async (cluster) => {
      const built = await buildCluster(cluster, ['n1']);
      await waitSettled(cluster, built, 1);
      const created = await cluster.request('n1', 'POST', '/api/v1/streams', {
        token: built.admin,
        body: { id: 'sport', name: 'Sport', sources: [{ url: primary.url, priority: 10 }, { url: backup.url, priority: 5 }] },
      });
      assert.equal(created?.status, 201, created?.body);
      const on = (url: string, what: string, timeoutMs: number) => waitFor(what, async () => {
        const s = await streamOf(cluster, 'n1', built.admin, 'sport');
        return s?.status === 'running' && s.source === url ? s : null;
      }, timeoutMs, 250);
      await on(primary.url, 'the stream on its primary', 60_000);
      const w = new PlaylistWatcher(cluster.nodes.get('n1')!.httpUrl, 'sport');
      w.start();
      try {
        await waitFor('segments listed', () => (w.last >= 1 ? true : null), 30_000, 100);
        cluster.note('primary source stops');
        await primary.stop();
        const stoppedAt = Date.now();
        await on(backup.url, 'the stream on its backup', 30_000);
        cluster.note(`on the backup ${Date.now() - stoppedAt} ms after the primary stopped`);
        const lastOnBackup = w.last;
        await waitFor('segments from the backup', () => (w.last > lastOnBackup + 1 ? true : null), 20_000, 100);
        cluster.note('primary source back');
        await primary.start();
        // The primary is retried 30 s after the switch (source-choice.ts), then after 60 s if that
        // probe fails (as it can when the machine is busy with other tests).
        await on(primary.url, 'the stream back on its primary', 150_000);
        assert.deepEqual(w.problems, []);
      } finally {
        w.stop();
      }
    });
  } finally {
    await primary.close();
    await backup.close();
  }
});
