// The Xtream Codes surface of real node processes (issue 5), wired as `ottmesh` runs it: a viewer
// line plays a live stream as continuous MPEG-TS from one node (real ffmpeg reading the .ts URL),
// its max_connections is enforced on another node through gossip, and the .m3u8 URL redirects to
// the stable HLS URL with a viewer session. The unit tests cover the details (test/iptv).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { LiveSource } from './live-source.ts';
import { waitFor } from './processes.ts';
import { buildCluster, waitSettled, withCluster } from './scenario.ts';

const run = promisify(execFile);

test('a viewer line: .ts plays from one node, a second viewer on another node is refused, .m3u8 redirects to the stable URL', { timeout: 180_000 }, async () => {
  const source = new LiveSource();
  await source.start();
  try {
    await withCluster('ottmesh-xtream-', async (cluster) => {
      const names = ['n1', 'n2', 'n3'];
      const built = await buildCluster(cluster, names);
      await waitSettled(cluster, built, 3);
      const created = await cluster.request('n1', 'POST', '/api/v1/streams', { token: built.admin, body: { id: 'news', name: 'News', sources: [{ url: source.url }], profile: 'copy' } });
      assert.equal(created?.status, 201, created?.body);
      const line = await cluster.request('n1', 'POST', '/api/v1/lines', { token: built.admin, body: { username: 'viewer', password: 'secret-pass-1', maxConnections: 1, expiresAt: null } });
      assert.equal(line?.status, 201, line?.body);
      await waitFor('the stream running', async () => {
        const s = await cluster.request('n1', 'GET', '/api/v1/streams/news', { token: built.admin });
        return s?.status === 200 && (JSON.parse(s.body) as { status: string }).status === 'running' ? true : null;
      }, 60_000, 250);
      await waitFor('segments at the stable URL on n2', async () => {
        const res = await fetch(`${cluster.nodes.get('n2')!.httpUrl}/live/news/index.m3u8`).catch(() => null);
        return res?.status === 200 && (await res.text()).includes('.ts') ? true : null;
      }, 30_000, 250);

      // The playlist players load: Xtream live URLs name streams by number.
      const m3u = await fetch(`${cluster.nodes.get('n1')!.httpUrl}/get.php?username=viewer&password=secret-pass-1&type=m3u_plus&output=ts`);
      const text = await m3u.text();
      assert.equal(m3u.status, 200, text);
      assert.match(text, /^#EXTM3U x-tvg-url="[^"]*xmltv\.php/);
      const path = /\/live\/viewer\/secret-pass-1\/\d+\.ts/.exec(text)?.[0];
      assert.ok(path !== undefined, `a .ts URL for the stream in get.php:\n${text}`);
      const tsUrl = (node: string) => `${cluster.nodes.get(node)!.httpUrl}${path}`;
      // Real ffmpeg plays the .ts URL for 8 s of media while the second viewer tries another node.
      const playing = run('ffmpeg', ['-hide_banner', '-nostdin', '-rw_timeout', '15000000', '-i', tsUrl('n2'), '-t', '8', '-f', 'null', '-'], { timeout: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // gossip carries n2's count (1 s reports)
      const second = await fetch(tsUrl('n3'), { signal: AbortSignal.timeout(10_000) });
      const secondBody = await second.text();
      assert.equal(second.status, 403, `a second viewer of a 1-connection line, on another node: ${second.status} ${secondBody.slice(0, 200)}`);
      assert.match(secondBody, /already has 1 of its 1 allowed connection: close another player/);
      const { stderr } = await playing;
      const frames = Number([...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1)?.[1] ?? 0); // progress lines end in \r
      assert.ok(frames >= 100, `ffmpeg decoded ${frames} frames from the .ts URL:\n${stderr.slice(-1500)}`);

      // Once the first viewer has gone (and gossip says so), the .m3u8 URL works, from n3.
      const redirected = await waitFor('the .m3u8 URL redirecting once the .ts viewer has left', async () => {
        const res = await fetch(tsUrl('n3').replace(/\.ts$/, '.m3u8'), { redirect: 'manual' });
        return res.status === 302 ? res.headers.get('location') : null;
      }, 15_000, 500);
      assert.match(redirected, /\/live\/news\/index\.m3u8\?(.*&)?vt=/, redirected);
      const playlist = await fetch(new URL(redirected, cluster.nodes.get('n3')!.httpUrl));
      assert.equal(playlist.status, 200);
      assert.match(await playlist.text(), /#EXTINF/);

    });
  } finally {
    await source.close();
  }
});
