// The dashboard in Debian's Chromium against a real node started from the CLI: log in with the
// password `init` printed, see the node, add a stream (a live ffmpeg source on loopback), watch
// it run and its preview play (currentTime advances), preview an M3U import, create a join
// token. Screenshots go to test-artifacts/dashboard-*.png.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { LiveSource } from './live-source.ts';
import { BrowserPlayer } from './players.ts';
import { buildCluster, waitSettled, withCluster } from './scenario.ts';

const artifacts = join(import.meta.dirname, '../../test-artifacts');

test('the dashboard: log in, add a stream and watch it play, preview an import, create a join token', { timeout: 180_000, skip: BrowserPlayer.installed() ? false : 'playwright-core missing' }, async () => {
  const source = new LiveSource();
  await source.start();
  await mkdir(artifacts, { recursive: true });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    await withCluster('ottmesh-dashboard-', async (cluster) => {
      const built = await buildCluster(cluster, ['n1']);
      await waitSettled(cluster, built, 1);
      const password = /password: (\S+)/.exec(cluster.nodes.get('n1')!.output + cluster.nodes.get('n1')!.history)?.[1];
      assert.ok(password, 'init printed the admin password');
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // phone width
      await page.goto(cluster.nodes.get('n1')!.httpUrl);
      await page.fill('input[name=password]', 'wrong');
      await page.click('#login-form button');
      await page.waitForSelector('text=wrong username or password');
      await page.fill('input[name=password]', password);
      await page.click('#login-form button');
      await page.waitForSelector('#nodes tbody tr >> text=n1');
      await page.screenshot({ path: join(artifacts, 'dashboard-cluster.png'), fullPage: true });

      await page.goto(`${cluster.nodes.get('n1')!.httpUrl}/#streams`);
      await page.click('#add-stream summary');
      await page.fill('#stream-form input[name=id]', 'news');
      await page.fill('#stream-form input[name=name]', 'News');
      await page.fill('#stream-form input[name=url]', source.url);
      await page.click('#stream-form button');
      await page.waitForSelector('#stream-table tbody tr >> text=running', { timeout: 60_000 });
      await page.click('#stream-table tbody tr >> text=Open');
      await page.waitForFunction('document.getElementById("preview").currentTime > 2', undefined, { timeout: 30_000 });
      await page.waitForSelector('#explain tbody tr >> text=(chosen)');
      await page.screenshot({ path: join(artifacts, 'dashboard-stream.png'), fullPage: true });

      await page.goto(`${cluster.nodes.get('n1')!.httpUrl}/#policy`);
      // The editor is filled with the current policy ("{}") once loaded: edit after that.
      await page.waitForFunction('document.getElementById("policy-json").value !== ""');
      await page.fill('#policy-json', '{"strategy": "binpack"}');
      await page.click('#policy-plan');
      await page.waitForFunction('document.getElementById("policy-result").textContent !== ""');
      assert.equal(await page.textContent('#policy-result'), 'Nothing would move.');
      await page.click('#policy-save');
      await page.waitForSelector('#policy-result >> text=Saved.');

      await page.goto(`${cluster.nodes.get('n1')!.httpUrl}/#import`);
      await page.fill('#m3u', '#EXTM3U\n#EXTINF:-1,One\nhttp://127.0.0.1:9/one.ts\n#EXTINF:-1,Bad\nfile:///etc/passwd\n');
      await page.click('#m3u-preview');
      await page.waitForSelector('#m3u-result >> text=Would create 1, skipped 1.');
      assert.match(await page.textContent('#m3u-result') ?? '', /line 4 Bad: source scheme "file:" is not allowed/);

      await page.goto(`${cluster.nodes.get('n1')!.httpUrl}/#join`);
      await page.click('#token-create');
      await page.waitForSelector('#join-command >> text=ottmesh join');
      await page.screenshot({ path: join(artifacts, 'dashboard-join.png'), fullPage: true });
    });
  } finally {
    await browser.close();
    await source.close();
  }
});
