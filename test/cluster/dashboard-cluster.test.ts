// The dashboard in Debian's Chromium against a real three-node cluster built from the CLI, as an
// operator uses it: log in; read the overview (every node's role, health, load charts; the
// leader and the term); add a stream (a live ffmpeg source on loopback), see it run and its
// preview play (currentTime advances), probe its source from a node the operator picks; drain
// its worker after reading the dry run, and watch the stream move to another node and run there;
// import an M3U playlist for real (loopback URLs only) and see its streams run; create a join
// token, join a fourth node with the exact command shown, then remove it; add a read-only user
// and an API token (it works; revoked, it does not), and see the read-only user get no controls;
// read the audit entries of all of this, filtered, and one that arrives while the page is open;
// check that no page is wider than a 390 px phone. Screenshots:
// test-artifacts/dashboard-<page>.png (1280 px) and dashboard-phone-<page>.png (390 px).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Dashboard, initPassword, launchChromium } from './dashboard-page.ts';
import { LiveSource } from './live-source.ts';
import { BrowserPlayer } from './players.ts';
import { buildCluster, nodeUpTimeoutMs, waitSettled, withCluster } from './scenario.ts';

/** How long a stream may take to run after it was created or moved (ffmpeg start, first segment). */
const runningTimeoutMs = 60_000;
/** How long a drain may take: start on the target, its first segment, the switch. */
const moveTimeoutMs = 90_000;
/** The pages checked at phone width, with what shows once each has loaded. */
const phonePages: readonly (readonly [string, string, 'visible' | 'attached'])[] = [
  ['cluster', '#nodes tbody tr', 'visible'], ['streams', '#stream-table tbody tr', 'visible'], ['stream/news', '#explain tbody tr', 'visible'],
  ['services', '#node-groups tbody tr', 'visible'], ['policy', '#policy-table tbody tr', 'visible'], ['import', '#m3u', 'visible'],
  ['join', '#token-form', 'visible'], ['troubleshoot', '#node-log-node option', 'attached'], ['audit', '#audit-table tbody tr', 'visible'],
  ['accounts', '#users tbody tr', 'visible'],
];

test('the dashboard against three nodes: overview, stream, drain, import, join and remove, accounts, audit, phone width', { timeout: 300_000, skip: BrowserPlayer.installed() ? false : 'playwright-core missing' }, async () => {
  const source = new LiveSource();
  await source.start();
  const browser = await launchChromium();
  try {
    await withCluster('ottmesh-dashboard3-', async (cluster) => {
      const built = await buildCluster(cluster, ['n1', 'n2', 'n3']);
      const { leader, view } = await waitSettled(cluster, built, 3);
      const idOf = (name: string) => view.nodes.find((n) => n.name === name)!.id;
      const n1 = cluster.nodes.get('n1')!;
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const ui = new Dashboard(page, n1.httpUrl);
      await ui.login('admin', initPassword(n1.output + n1.history));

      // The overview: every node, its role, health and charts; the leader and the term.
      cluster.note('dashboard: overview');
      for (const name of built.names) {
        await ui.rowWhere('#nodes', idOf(name), (r) => r['Health'] === 'alive' && r['Role'] === 'voter' && r['Node']!.startsWith(name), `${name} alive as a voter in the node table`);
        await ui.shown(`#nodes tr[data-key="${idOf(name)}"] td[data-label="Last hour"] svg`, `the load charts of ${name}`);
      }
      await ui.textMatches('[data-card=leader] b', new RegExp(`^${leader}$`), `${leader} as the leader`);
      await ui.textMatches('[data-card=term] b', /^[1-9]\d*$/, 'the term');
      await ui.textMatches('[data-card=nodes] b', /^3 \/ 3$/, 'three nodes alive');

      // The three nodes share this machine and each reports its whole load: the cluster-wide
      // policy lets placement use all of it, or a busy machine leaves nowhere to drain to.
      await ui.open('policy');
      await ui.shown('#policy-table tr[data-key=cpuCeilPct] td.editing input', 'the cluster-wide policy editor');
      await page.fill('#policy-table tr[data-key=cpuCeilPct] td.editing input', '100');
      await page.fill('#policy-table tr[data-key=memCeilPct] td.editing input', '100');
      await page.click('#policy-save');
      await ui.textMatches('#policy-result', /^Saved\.$/, 'the cluster policy with 100 % ceilings saved');

      // A stream: it runs on some worker, its preview plays, it says why there.
      cluster.note('dashboard: add the stream news');
      await ui.open('streams');
      await page.click('#add-stream summary');
      await page.fill('#stream-form input[name=id]', 'news');
      await page.fill('#stream-form input[name=name]', 'News');
      await page.fill('#stream-form input[name=url]', source.url);
      await page.click('#stream-form button[type=submit]');
      const first = await ui.rowWhere('#stream-table', 'news', (r) => r['Status'] === 'running' && /^n[123]$/.test(r['Worker']!), 'news running on a worker', runningTimeoutMs);
      const worker = first['Worker']!;
      assert.equal(first['Source in use'], source.url);
      await ui.screenshot('streams');
      await page.click('#stream-table tr[data-key=news] a');
      await ui.shown('section#stream', 'the stream view of news');
      await ui.until('the preview of news to play past 2 s', async () => ((await page.evaluate<number>('document.getElementById("preview").currentTime')) > 2 ? true : null), 30_000);
      await ui.textMatches('#explain tbody', new RegExp(`${worker} \\(chosen\\)\\t\\S`), `${worker} chosen in "why this node"`);
      const log = await ui.textMatches('#log', /\S/, `the ffmpeg stderr tail of news from ${worker}`);
      assert.doesNotMatch(log, /did not answer|runs nowhere/, `the ffmpeg log came from ${worker}`);
      const prober = built.names.find((n) => n !== worker && n !== 'n1') ?? built.names.find((n) => n !== worker)!;
      await page.selectOption('#probe-form select[name=nodeId]', idOf(prober));
      await page.click('#probe');
      // OK or FAILED: ffmpeg's probe window (0.5 s) can be shorter than this source's 1 s between
      // keyframes; what the page owes is the answer of the node the operator chose.
      await ui.textMatches('#probe-result', new RegExp(`^(OK in \\d+ ms on ${prober}\\nStream #0:\\d+.*Video: h264|FAILED in \\d+ ms on ${prober}\\n.*Input #0, mpegts)`, 's'), `${prober}'s probe of the source`, 30_000);
      await ui.screenshot('stream');

      // Drain the worker: the dry run says news would move; confirmed, it moves and runs.
      cluster.note(`dashboard: drain ${worker}`);
      await ui.open('cluster');
      await page.click(`#nodes tr[data-key="${idOf(worker)}"] button[data-action=drain]`);
      const plan = await ui.textMatches('#node-confirm pre.plan', /news: /, `the dry run of draining ${worker}, naming news`);
      assert.match(plan, new RegExp(`^news: \\S+ ${worker} -> n[123] `, 'm'), `the dry run moves news off ${worker}`);
      await ui.screenshot('drain-plan');
      await page.click('#node-confirm button.confirm-yes');
      await ui.rowWhere('#nodes', idOf(worker), (r) => /draining/.test(r['Health']!), `${worker} shown draining`);
      await ui.open('streams');
      const moved = await ui.rowWhere('#stream-table', 'news', (r) => r['Status'] === 'running' && /^n[123]$/.test(r['Worker']!) && r['Worker'] !== worker, `news moved off ${worker} and running`, moveTimeoutMs);
      cluster.note(`dashboard: news moved to ${moved['Worker']}`);
      await ui.open('cluster');
      await page.click(`#nodes tr[data-key="${idOf(worker)}"] button[data-action=enable]`);
      await ui.textMatches('#node-confirm pre.plan', /\S/, `the dry run of enabling ${worker}`);
      await page.click('#node-confirm button.confirm-yes');
      await ui.rowWhere('#nodes', idOf(worker), (r) => r['Health'] === 'alive', `${worker} enabled again (no draining badge)`);

      // An M3U import, for real: two loopback channels are created and run, a pipe: is refused.
      cluster.note('dashboard: import');
      const origin = new URL(source.url).origin;
      await ui.open('import');
      await page.fill('#m3u', `#EXTM3U\n#EXTINF:-1 tvg-id="sport1" group-title="Sport",Sport One\n${origin}/sport1.ts\n#EXTINF:-1,Movies\n${origin}/movies.ts\n#EXTINF:-1,Shell\npipe:///bin/sh\n`);
      await page.click('#m3u-preview');
      await ui.textMatches('#m3u-result', /^Would create 2, skipped 1\./, 'the import preview');
      const wouldCreate = (await page.innerText('#m3u-result ul.created')).split('\n');
      assert.equal(wouldCreate.length, 2, `two channels to create: ${wouldCreate.join(', ')}`);
      assert.match(await page.innerText('#m3u-result ul.skipped'), /^line 6 Shell: .*pipe:/);
      await page.click('#m3u-import');
      await ui.textMatches('#m3u-result', /^Created 2, skipped 1\./, 'the import');
      assert.deepEqual((await page.innerText('#m3u-result ul.created')).split('\n'), wouldCreate, 'the import created what the preview said');
      await ui.screenshot('import');
      await ui.open('streams');
      for (const id of wouldCreate) {
        await ui.rowWhere('#stream-table', id, (r) => r['Status'] === 'running' && /^n[123]$/.test(r['Worker']!), `the imported ${id} running`, runningTimeoutMs);
      }

      // The other pages, as an operator sees them with this cluster.
      await ui.open('services');
      await ui.shown('#node-groups tbody tr', 'the nodes in the groups table');
      await ui.screenshot('services');
      await ui.open('policy');
      await ui.shown('#policy-table tbody tr', 'the policy table');
      await ui.screenshot('policy');
      await ui.open(`troubleshoot/${encodeURIComponent(idOf(moved['Worker']!))}`);
      const nodeLog = await ui.textMatches('#node-log', /\S/, `the log of ${moved['Worker']}`);
      assert.doesNotMatch(nodeLog, /did not answer|no node/, `the log came from ${moved['Worker']}`);
      await ui.screenshot('troubleshoot');

      // A join token: the command shown is exact (a fourth node joins with it); then remove it.
      cluster.note('dashboard: join token');
      await ui.open('join');
      await page.fill('#token-form input[name=name]', 'n4');
      await page.fill('#token-form input[name=host]', '127.0.0.1');
      await page.click('#token-create');
      const command = await ui.textMatches('#join-command', /^ottmesh join \S+ /, 'the join command');
      const token = /^ottmesh join (\S+) --data-dir \/var\/lib\/ottmesh --name n4 --host 127\.0\.0\.1$/.exec(command)?.[1];
      assert.ok(token !== undefined, `the join command names the token, the data dir, the name and the address: ${command}`);
      assert.equal(await page.innerText('#install-command'), `./scripts/setup.sh && bin/${command}`);
      await ui.screenshot('join');
      await cluster.join('n4', token); // the same token; this test's own data dir and ports
      await cluster.waitPrinted('n4', /joined cluster/, nodeUpTimeoutMs);
      await ui.open('cluster');
      const n4Id = await ui.until('n4 in the node table', () => page.evaluate<string | null>('document.querySelector(\'#nodes tr[data-name="n4"]\')?.dataset.key ?? null'), 30_000);
      await ui.rowWhere('#nodes', n4Id, (r) => r['Role'] === 'learner' && r['Health'] === 'alive', 'n4 alive as a learner', 30_000);
      cluster.note('dashboard: remove n4');
      await page.click(`#nodes tr[data-key="${n4Id}"] button[data-action=remove]`);
      await ui.textMatches('#node-confirm h3', /^Remove n4\?$/, 'the confirmation of removing n4');
      await page.click('#node-confirm button.confirm-yes');
      await ui.until('n4 gone from the node table', async () => ((await ui.row('#nodes', n4Id)) === null ? true : null), 30_000);
      await cluster.kill('n4');

      // By now every node has a few load samples (one each 10 s): the charts draw them.
      for (const name of built.names) {
        await ui.shown(`#nodes tr[data-key="${idOf(name)}"] td[data-label="Last hour"] svg polyline`, `the load chart lines of ${name}`, 30_000, 'attached');
      }
      await ui.screenshot('cluster');

      // Accounts: a read-only user and an operator API token (shown once, and it works).
      cluster.note('dashboard: accounts');
      await ui.open('accounts');
      await ui.shown('#users tbody tr[data-key=admin]', 'the admin in the users table');
      await page.fill('#user-form input[name=name]', 'watcher');
      await page.fill('#user-form input[name=password]', 'watcher-password-1');
      await page.selectOption('#user-form select[name=role]', 'read-only');
      await page.click('#user-form button[type=submit]');
      await ui.shown('#users tbody tr[data-key=watcher]', 'the new user watcher');
      await page.fill('#api-token-form input[name=name]', 'ci');
      await page.selectOption('#api-token-form select[name=role]', 'operator');
      await page.click('#api-token-form button[type=submit]');
      const apiToken = (await ui.textMatches('#api-token-value', /^\S{20,}$/, 'the new API token, shown once')).trim();
      const me = await cluster.request('n2', 'GET', '/api/v1/me', { token: apiToken });
      assert.equal(me?.status, 200, `the API token shown works on n2: ${me?.body}`);
      assert.equal((JSON.parse(me!.body) as { role: string }).role, 'operator', 'the API token has the role chosen');
      const apiTokenId = /^otm_([^_]+)_/.exec(apiToken)?.[1] ?? '(not an otm_ token)';
      await ui.rowWhere('#api-tokens', apiTokenId, (r) => r['Role'] === 'operator', 'the token ci in the tokens table');
      await ui.screenshot('accounts');

      const readOnly = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const watcher = new Dashboard(await readOnly.newPage(), n1.httpUrl);
        await watcher.login('watcher', 'watcher-password-1');
        await watcher.rowWhere('#nodes', idOf('n1'), (r) => r['Health'] === 'alive', 'n1 in the read-only view');
        assert.equal(await watcher.page.locator('#nodes button[data-action=drain]:visible, #nodes button[data-action=remove]:visible').count(), 0, 'no worker operations for read-only');
        assert.ok(await watcher.page.locator('#nodes button[data-action=log]:visible').count() > 0, 'the node logs stay readable');
        assert.equal(await watcher.page.locator('#nav a[href="#import"]:visible, #nav a[href="#accounts"]:visible, #nav a[href="#join"]:visible').count(), 0, 'no import, accounts or join for read-only');
        await watcher.open('streams');
        await watcher.shown('#stream-table tr[data-key=news]', 'news in the read-only view');
        assert.equal(await watcher.page.locator('#add-stream:visible').count(), 0, 'no "add a stream" for read-only');
        await watcher.screenshot('read-only');
      } finally {
        await readOnly.close();
      }

      // Revoked from the page, the token no longer works.
      await page.click(`#api-tokens tr[data-key="${apiTokenId}"] button`);
      await ui.textMatches('#account-confirm h3', /^Revoke API token ci\?$/, 'the confirmation of revoking ci');
      await page.click('#account-confirm button.confirm-yes');
      await ui.until('the token ci gone from the tokens table', async () => ((await ui.row('#api-tokens', apiTokenId)) === null ? true : null));
      const refused = await cluster.request('n2', 'GET', '/api/v1/me', { token: apiToken });
      assert.equal(refused?.status, 401, `the revoked token is refused: ${refused?.body}`);

      // The audit log: what was done above, filtered, and an entry that arrives while it shows.
      cluster.note('dashboard: audit');
      await ui.open('audit');
      const n4Short = `${n4Id.slice(0, 10)}…${n4Id.slice(-6)}`; // a removed node's id, shortened
      const audit = await ui.textMatches('#audit-table tbody', /created user watcher/, 'the audit entries of this session');
      for (const [what, pattern] of [
        ['the login', /\tadmin \(admin, session\)\tLogin\tadmin\t/],
        ['the new stream', /\tadmin \(admin, session\)\tCreateStream\tnews\tcreated stream news "News"/],
        ['the drain', new RegExp(`\\tSetNodeAdmin\\t${worker}\\tnode ${worker}: draining on`)],
        ['the imported streams', new RegExp(`\\tCreateStream\\t${wouldCreate[0]}\\t`)],
        ['the join token', /\tCreateJoinToken\t\S+\tcreated join token /],
        ['the removal', new RegExp(`\\tRemoveNode\\t${n4Short}\\tremoved node n4 \\(${n4Short}\\)`)],
        ['the API token', /\tCreateApiToken\t\S+\tcreated API token \S+ "ci" \(operator\)/],
        ['its revocation', /\tDeleteApiToken\t\S+\trevoked API token \S+ "ci" of admin/],
      ] as const) {
        assert.match(audit, pattern, `the audit log shows ${what}`);
      }
      await ui.screenshot('audit');
      await page.click('#audit-table tbody button[data-target=news] >> nth=0');
      await ui.until('only entries about news after clicking the target news', async () => {
        const actions = await page.evaluate<string[]>('[...document.querySelectorAll("#audit-table tbody tr")].map((tr) => tr.cells[3]?.innerText ?? "")');
        return actions.length > 0 && actions.every((target) => target === 'news') ? true : null;
      });
      await page.fill('#audit-form input[name=target]', '');
      await page.fill('#audit-form input[name=action]', 'PutGroup');
      await page.click('#audit-form button[type=submit]');
      await ui.textMatches('#audit-table tbody', /No entry matches\./, 'no PutGroup entry yet');
      const group = await cluster.request('n3', 'POST', '/api/v1/groups', { token: built.admin, body: { name: 'edge', priority: 5 } });
      assert.equal(group?.status, 201, `a group made through n3's API: ${group?.body}`);
      await ui.textMatches('#audit-table tbody', /\tPutGroup\tedge\tcreated group edge: priority 5/, 'the new group arriving in the open audit page (live)');

      // Phone width: no page is wider than the screen.
      cluster.note('dashboard: phone width');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.fill('#audit-form input[name=action]', '');
      for (const [name, loaded, state] of phonePages) {
        await ui.open(name);
        await ui.shown(loaded, `the ${name} page at 390 px`, undefined, state);
        const overflowPx = await ui.overflowPx();
        assert.ok(overflowPx <= 0, `the ${name} page is ${overflowPx} px wider than a 390 px phone`);
        await ui.screenshot(`phone-${name.replace('/', '-')}`);
      }
    });
  } finally {
    await browser.close();
    await source.close();
  }
});
