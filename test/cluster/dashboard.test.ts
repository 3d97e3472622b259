// The dashboard in Debian's Chromium against one real node started from the CLI, at phone width:
// log in with the password `init` printed, see the node, add a stream (a live ffmpeg source on
// loopback), watch it run and its preview play (currentTime advances), see why it runs where it
// does, its ffmpeg log, and a probe of its source; give it a service, set the policy at all three
// levels and check that every field shows its effective value and the level it comes from (and
// that the page's built-in defaults are placement's); preview an M3U import; create a join token
// and read the exact command; the node's version on the Cluster page, and the Upgrade page refusing
// to plan a rollout for a node run from the sources. Screenshots: test-artifacts/dashboard-1node-*.png.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { defaultPolicy } from '../../node/placement/index.ts';
import { Dashboard, initPassword, launchChromium } from './dashboard-page.ts';
import { LiveSource } from './live-source.ts';
import { BrowserPlayer } from './players.ts';
import { buildCluster, waitSettled, withCluster } from './scenario.ts';

/** A policy value as the policy page writes it. */
function shownAs(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'any' : value.join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

test('the dashboard on one node: stream and preview, policy levels, import preview, probe, join command, version, upgrade page', { timeout: 180_000, skip: BrowserPlayer.installed() ? false : 'playwright-core missing' }, async () => {
  const source = new LiveSource();
  await source.start();
  const browser = await launchChromium();
  try {
    await withCluster('ottmesh-dashboard-', async (cluster) => {
      const built = await buildCluster(cluster, ['n1']);
      await waitSettled(cluster, built, 1);
      const n1 = cluster.nodes.get('n1')!;
      const n1Id = (await cluster.clusterView('n1', built.admin))!.nodes[0]!.id;
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // phone width
      const ui = new Dashboard(page, n1.httpUrl);

      await ui.submitLogin('admin', 'wrong');
      await ui.textMatches('#login-error', /wrong username or password/, 'the refusal of a wrong password');
      await ui.login('admin', initPassword(n1.output + n1.history));
      await ui.rowWhere('#nodes', n1Id, (r) => r['Health'] === 'alive' && r['Role'] === 'voter' && r['Node']!.startsWith('n1'), 'n1 alive as a voter in the node table');
      await ui.textMatches('[data-card=leader] b', /^n1$/, 'n1 as the leader');
      assert.ok(await ui.overflowPx() <= 0, 'the cluster page fits 390 px');
      await ui.screenshot('1node-cluster');

      // A stream: it runs, its preview plays, the page says why it runs on n1.
      await ui.open('streams');
      await page.click('#add-stream summary');
      await page.fill('#stream-form input[name=id]', 'news');
      await page.fill('#stream-form input[name=name]', 'News');
      await page.fill('#stream-form input[name=url]', source.url);
      await page.click('#stream-form button[type=submit]');
      await ui.rowWhere('#stream-table', 'news', (r) => r['Status'] === 'running' && r['Worker'] === 'n1' && r['Source in use'] === source.url, 'news running on n1 from the live source', 60_000);
      await page.click('#stream-table tr[data-key=news] a');
      await ui.shown('section#stream', 'the stream view of news');
      await ui.until('the preview of news to play past 2 s', async () => ((await page.evaluate<number>('document.getElementById("preview").currentTime')) > 2 ? true : null), 30_000);
      await ui.textMatches('#explain tbody', /n1 \(chosen\)\t\S/, 'n1 chosen, with its verdict, in "why this node"');
      const log = await ui.textMatches('#log', /\S/, 'the ffmpeg stderr tail of news');
      assert.doesNotMatch(log, /did not answer|runs nowhere/, 'the ffmpeg log was read from the worker');
      await page.selectOption('#probe-form select[name=nodeId]', n1Id);
      await page.click('#probe');
      // OK or FAILED: ffmpeg's probe window (0.5 s) can be shorter than this source's 1 s between
      // keyframes when it joins mid-stream; what the page owes is the answer from the chosen node.
      await ui.textMatches('#probe-result', /^(OK in \d+ ms on n1\nStream #0:\d+.*Video: h264|FAILED in \d+ ms on n1\n.*Input #0, mpegts)/s, "n1's probe of the source", 30_000);
      await ui.screenshot('1node-stream');

      // A service for the stream, then the policy at the cluster, service and stream levels.
      await ui.open('services');
      await page.click('#service-editor summary');
      await page.fill('#service-form input[name=id]', 'sports');
      await page.fill('#service-form input[name=name]', 'Sports');
      await page.click('#service-form button[type=submit]');
      await ui.rowWhere('#service-table', 'sports', (r) => r['Service'] === 'Sports (sports)', 'the new service sports in the table');
      await ui.open('stream/news');
      await ui.shown('#stream-service option[value=sports]', 'the service sports among the choices of news', undefined, 'attached');
      await page.selectOption('#stream-service', 'sports');
      await ui.textMatches('#detail-facts', /Service\s+sports/, 'news in the service sports');

      await ui.open('policy');
      await ui.textMatches('#policy-table thead', /^Field\s*built-in\s*cluster\s*Effective\s*From$/, 'the cluster-level policy table');
      for (const [field, value] of Object.entries(defaultPolicy)) {
        const row = await ui.row('#policy-table', field);
        assert.equal(row?.['built-in'], shownAs(value), `the page's built-in ${field} is placement's default (ui/app.js builtInPolicy)`);
        assert.equal(row?.['From'], 'built-in', `${field} inherits the built-in default before any change`);
      }
      await page.selectOption('#policy-table tr[data-key=strategy] td.editing select', 'binpack');
      await page.click('#policy-plan');
      await ui.textMatches('#policy-result', /^Nothing would move\.$/, 'the dry run of the binpack strategy');
      await page.click('#policy-save');
      await ui.textMatches('#policy-result', /^Saved\.$/, 'the saved cluster policy');

      await ui.open('policy/service:sports');
      await ui.textMatches('#policy-table thead', /cluster\s*service sports\s*Effective/, 'the service-level policy table');
      await page.fill('#policy-table tr[data-key=cpuCeilPct] td.editing input', '80');
      await page.click('#policy-save');
      await ui.textMatches('#policy-result', /^Saved\.$/, 'the saved service policy');

      await ui.open('policy/stream:news');
      await ui.textMatches('#policy-table thead', /service sports\s*stream news\s*Effective/, 'the stream-level policy table');
      await page.fill('#policy-table tr[data-key=maxStreamsPerNode] td.editing input', '5');
      await page.click('#policy-save');
      await ui.textMatches('#policy-result', /^Saved\.$/, 'the saved stream policy');
      const expected: Record<string, [string, string]> = {
        strategy: ['binpack', 'cluster'], cpuCeilPct: ['80', 'service sports'], maxStreamsPerNode: ['5', 'stream news'], memCeilPct: ['90', 'built-in'],
      };
      for (const [field, [value, from]] of Object.entries(expected)) {
        await ui.rowWhere('#policy-table', field, (r) => r['Effective'] === value && r['From'] === from, `${field} ${value} from ${from} on the policy page`);
      }
      assert.ok(await ui.overflowPx() <= 0, 'the policy page fits 390 px');
      await ui.screenshot('1node-policy');
      await ui.open('stream/news');
      for (const [field, [value, from]] of Object.entries(expected)) {
        await ui.rowWhere('#stream-policy', field, (r) => r['Value'] === value && r['From'] === from, `${field} ${value} from ${from} on the stream's page`);
      }

      // An import preview names what it would create and what it skips, and why.
      await ui.open('import');
      await page.fill('#m3u', '#EXTM3U\n#EXTINF:-1,One\nhttp://127.0.0.1:9/one.ts\n#EXTINF:-1,Bad\nfile:///etc/passwd\n');
      await page.click('#m3u-preview');
      await ui.textMatches('#m3u-result', /Would create 1, skipped 1\./, 'the import preview');
      assert.match(await page.innerText('#m3u-result ul.skipped'), /line 4 Bad: source scheme "file:" is not allowed/);
      assert.match(await page.innerText('#m3u-result ul.created'), /^one$/);

      // A join token and the exact command for the new server.
      await ui.open('join');
      await page.fill('#token-form input[name=name]', 'edge2');
      await page.fill('#token-form input[name=host]', '10.0.0.6');
      await page.click('#token-create');
      const command = await ui.textMatches('#join-command', /^ottmesh join \S+ /, 'the join command');
      assert.match(command, /^ottmesh join \S+ --data-dir \/var\/lib\/ottmesh --name edge2 --host 10\.0\.0\.6$/);
      assert.equal(await page.innerText('#install-command'), `./scripts/setup.sh && bin/${command}`);
      await ui.screenshot('1node-join');

      // A viewer line, then disabled; the playlist a player loads is shown for it.
      await ui.open('lines');
      await page.fill('#line-form input[name=username]', 'viewer1');
      await page.fill('#line-form input[name=password]', 'viewer-pass-1');
      await page.fill('#line-form input[name=maxConnections]', '2');
      await page.click('#line-form button');
      const line = await ui.rowWhere('#line-table', 'viewer1', (r) => r['State'] === 'active', 'the new line, active');
      assert.equal(line['Connections'], 'at most 2');
      assert.match(line['Player playlist'] ?? '', /\/get\.php\?username=viewer1&password=<password>&type=m3u_plus&output=ts$/);
      await page.click('#line-table tbody tr[data-key="viewer1"] button[data-role=toggle]');
      await ui.rowWhere('#line-table', 'viewer1', (r) => r['State'] === 'disabled', 'the line, disabled');
      await ui.screenshot('1node-lines');

      // The build each node runs, and the upgrade page of a node run from the sources: nothing to
      // roll out, and the plan refused with the API's own reason.
      const seen = JSON.parse((await cluster.request('n1', 'GET', '/api/v1/cluster', { token: built.admin }))!.body) as { nodes: { version: string | null; commit: string | null }[] };
      const { version, commit } = seen.nodes[0]!;
      assert.ok(version !== null && commit !== null, 'n1 knows its own build');
      await ui.open('cluster');
      await ui.rowWhere('#nodes', n1Id, (r) => r['Version'] === `${version} (${commit.replace(/^([0-9a-f]{7})[0-9a-f]+/, '$1')})`, `n1's version ${version} (${commit}) in the node table`);
      const status = JSON.parse((await cluster.request('n1', 'GET', '/api/v1/upgrade', { token: built.admin }))!.body) as { running: unknown; uploaded: unknown; rollout: unknown };
      assert.deepEqual(status, { rollout: null, uploaded: null, running: null }, 'a node from the sources runs no executable and has none uploaded');
      const refusal = (await cluster.request('n1', 'POST', '/api/v1/upgrade', { token: built.admin, body: { dryRun: true } }))!;
      assert.equal(refusal.status, 409, refusal.body);
      const { message } = JSON.parse(refusal.body) as { message: string };
      assert.match(message, /runs from sources/);
      await ui.open('upgrade');
      await ui.textMatches('#upgrade-running', /^none: it runs from the sources/, 'no running executable on the upgrade page');
      await ui.textMatches('#upgrade-uploaded', /^none$/, 'nothing uploaded on the upgrade page');
      await page.click('#upgrade-plan');
      const shown = await ui.textMatches('#upgrade-error', /\S/, 'the refused plan');
      assert.equal(shown, message, 'the page shows the API\'s refusal as it is');
      // An upload goes through (XMLHttpRequest, octet-stream) and the node's refusal of a file
      // that is not ottmesh comes back as the page's message.
      await page.setInputFiles('#upgrade-file', { name: 'not-ottmesh', mimeType: 'application/octet-stream', buffer: Buffer.from('not an executable\n') });
      await page.click('#upgrade-upload');
      await ui.textMatches('#upgrade-upload-error', /^this file is not an ottmesh executable/, 'the refused upload', 40_000);
      assert.ok(await ui.overflowPx() <= 0, 'the upgrade page fits 390 px');
      await ui.screenshot('1node-upgrade');
    });
  } finally {
    await browser.close();
    await source.close();
  }
});
