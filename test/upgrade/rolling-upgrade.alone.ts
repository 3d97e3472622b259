// Issue 6: a rolling upgrade of a running cluster from one build to the next. Two executables
// that differ in version (the second built with OTTMESH_BUILD_VERSION), three nodes each run from
// its own copy of the first, a live stream (hot standby) watched by hls.js in Chromium, writes
// going on all along; then `ottmesh upgrade --executable v2` (the v1 executable's CLI) against
// the leader. Checks: every node ends on v2 (health, the cluster view, gossip, its file, with v1
// kept as .previous); one node at a time with the leader last, and leadership moved exactly once
// (the planned hand-over); no acknowledged write lost; the viewer never stood still over 3 s.
//
// The viewer plays through FailoverFront, a stand-in for a DNS name with several A records (a
// browser tries the next address when one refuses): every node restarts once, and hls.js gives up
// on its playlist at the first refused connection to a fixed node's address.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

import { ensureExecutable, exeUnavailable } from '../exe/build.ts';
import { LiveSource } from '../cluster/live-source.ts';
import { BrowserPlayer } from '../cluster/players.ts';
import { waitFor } from '../cluster/processes.ts';
import { withTranscript } from '../cluster/scenario.ts';
import { sha256File } from '../../node/upgrade/executable.ts';
import { ExeCluster } from './exe-cluster.ts';
import { FailoverFront } from './failover-front.ts';

const repo = resolve(import.meta.dirname, '../..');
const names = ['n1', 'n2', 'n3'] as const;
const stallMsMax = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds the second executable: the same sources, another version baked in. */
function buildSecond(out: string, version: string): Promise<void> {
  return new Promise((ok, fail) => {
    execFile('bash', [join(repo, 'scripts/build-exe.sh')], { cwd: repo, env: { ...process.env, OUT: out, OTTMESH_BUILD_VERSION: version }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err === null ? ok() : fail(new Error(`build-exe.sh failed: ${err.message}\n${stdout}${stderr}`))));
  });
}

function versionOf(exe: string): Promise<string> {
  return new Promise((ok, fail) => execFile(exe, ['--version'], { timeout: 30_000 }, (err, stdout) => (err === null ? ok(stdout.trim()) : fail(err))));
}

/** Samples hls.js every 250 ms; the returned function stops and gives the longest time
 *  currentTime stood still (and when that began, for the transcript). */
function watchStalls(browser: BrowserPlayer, note: (line: string) => void): () => number {
  let stallMs = 0;
  let last = -1;
  let stillSince = Date.now();
  let busy = false;
  let errors = 0;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    browser.sample().then((now) => {
      if (now.currentTime > last) {
        if (now.atMs - stillSince > 1_000) note(`hls.js stood still ${now.atMs - stillSince} ms from ${new Date(stillSince).toISOString()}`);
        stillSince = now.atMs;
      }
      stallMs = Math.max(stallMs, now.atMs - stillSince);
      last = Math.max(last, now.currentTime);
      for (const e of now.errors.slice(errors)) note(`hls.js error: ${e}`);
      errors = now.errors.length;
    }, () => undefined).finally(() => { busy = false; });
  }, 250);
  return () => {
    clearInterval(timer);
    return Math.max(stallMs, Date.now() - stillSince);
  };
}

interface UpgradeView {
  rollout: {
    status: string;
    coordinatorId: string;
    steps: { nodeId: string; name: string; phase: string; upgrade: boolean; startedAtMs: number | null; endedAtMs: number | null }[];
  } | null;
}

const unavailable = exeUnavailable();

test('a rolling upgrade moves a 3-node cluster to the next build, leader last, with the stream playing', { timeout: 900_000, skip: unavailable ?? false }, async (t) => {
  const v1 = await ensureExecutable();
  const cluster = await ExeCluster.create('ottmesh-upgrade-');
  const source = new LiveSource();
  const browser = new BrowserPlayer();
  let front: FailoverFront | null = null;
  try {
    const v2 = join(cluster.root, 'ottmesh-v2');
    const v1Text = await versionOf(v1);
    const v2Version = `${/^ottmesh (\S+) /.exec(v1Text)![1]}-upgrade2`;
    await buildSecond(v2, v2Version);
    const v2Text = await versionOf(v2);
    assert.match(v2Text, new RegExp(`^ottmesh ${v2Version.replaceAll('.', '\\.')} \\(commit `));
    const [v1Sha, v2Sha] = [await sha256File(v1), await sha256File(v2)];
    t.diagnostic(`v1: ${v1Text}; v2: ${v2Text}`);

    // Three nodes, each from its own copy of v1.
    await cluster.spawn('n1', v1, (n) => ['init', '--data-dir', n.dataDir, '--name', 'n1', '--host', '127.0.0.1', '--p2p-port', String(n.p2pPort), '--http-port', String(n.httpPort)]);
    await cluster.waitPrinted('n1', /cluster \S+ created/, 60_000);
    const admin = (await readFile(join(cluster.nodes.get('n1')!.dataDir, 'admin-token'), 'utf8')).trim();
    const created = await cluster.run(v1, ['token', 'create', '--data-dir', cluster.nodes.get('n1')!.dataDir, '--uses', '2'], 60_000);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim().split('\n').at(-1)!;
    for (const name of ['n2', 'n3']) {
      await cluster.spawn(name, v1, (n) => ['join', token, '--data-dir', n.dataDir, '--name', name, '--host', '127.0.0.1', '--p2p-port', String(n.p2pPort), '--http-port', String(n.httpPort)]);
    }
    await Promise.all(['n2', 'n3'].map((n) => cluster.waitPrinted(n, /joined cluster/, 60_000)));
    const leader = await waitFor('3 voters agreeing on one leader, on every node', async () => {
      const healths = await Promise.all(names.map((n) => cluster.health(n)));
      const leaderId = healths[0]?.leaderId ?? null;
      if (leaderId === null || healths.some((h) => h?.leaderId !== leaderId)) return null;
      for (const n of names) {
        const view = await cluster.request(n, 'GET', '/api/v1/cluster', { token: admin });
        if (view?.status !== 200) return null;
        const nodes = (JSON.parse(view.body) as { nodes: { role: string; state: string }[] }).nodes;
        if (nodes.filter((x) => x.role === 'voter' && x.state === 'alive').length !== 3) return null;
      }
      return names[healths.findIndex((h) => h!.nodeId === leaderId)]!;
    }, 60_000, 200);
    const idOf = new Map<string, string>();
    for (const n of names) idOf.set((await cluster.health(n))!.nodeId, n);
    cluster.note(`leader ${leader}`);

    // A live stream with a hot standby, and a viewer.
    await source.start();
    const stream = await cluster.request('n1', 'POST', '/api/v1/streams', {
      token: admin, body: { id: 'news', name: 'News', sources: [{ url: source.url }], profile: 'copy', policy: { hotStandby: true } }, timeoutMs: 10_000,
    });
    assert.equal(stream?.status, 201, stream?.body);
    await waitFor('the stream running with a standby', async () => {
      const s = await cluster.request('n1', 'GET', '/api/v1/streams/news', { token: admin });
      const view = s?.status === 200 ? (JSON.parse(s.body) as { status: string; standbyNodeId: string | null }) : null;
      return view?.status === 'running' && view.standbyNodeId !== null ? true : null;
    }, 90_000, 250);
    front = new FailoverFront(names.map((n) => cluster.nodes.get(n)!.httpUrl));
    await front.start();
    await browser.start(`${front.url}/live/news/index.m3u8`);
    await waitFor('hls.js playing', async () => ((await browser.sample()).currentTime > 4 ? true : null), 60_000, 250);

    // Writes all along (groups), and who leads, sampled.
    const written: string[] = [];
    const before = await cluster.request(leader, 'POST', '/api/v1/groups', { token: admin, body: { name: 'before-upgrade' }, timeoutMs: 10_000 });
    assert.equal(before?.status, 201, before?.body);
    written.push('before-upgrade');
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const name = `w-${i}`;
        const res = await cluster.request(names[i % 3]!, 'POST', '/api/v1/groups', { token: admin, body: { name }, timeoutMs: 5_000 });
        if (res?.status === 201) written.push(name);
        await sleep(400);
      }
    })();
    const leaders: string[] = [leader];
    let watching = true;
    const leaderWatch = (async () => {
      while (watching) {
        const healths = await Promise.all(names.map((n) => cluster.health(n)));
        const self = healths.find((h) => h !== null && h.role === 'leader');
        const name = self === undefined || self === null ? undefined : idOf.get(self.nodeId);
        if (name !== undefined && leaders.at(-1) !== name) {
          leaders.push(name);
          cluster.note(`leader now ${name}`);
        }
        await sleep(200);
      }
    })();
    const playedBefore = (await browser.sample()).currentTime;
    const stopStalls = watchStalls(browser, (line) => cluster.note(line));

    // The upgrade, through the v1 executable's CLI, against the leader.
    const startedAt = Date.now();
    const upgraded = await cluster.run(v1, ['upgrade', '--api', cluster.nodes.get(leader)!.httpUrl, '--api-token', admin, '--executable', v2, '--yes'], 600_000);
    const upgradeMs = Date.now() - startedAt;
    cluster.note(`ottmesh upgrade took ${upgradeMs} ms`);
    assert.equal(upgraded.code, 0, `ottmesh upgrade failed:\n${upgraded.stdout}${upgraded.stderr}`);
    t.diagnostic(`ottmesh upgrade: ${upgradeMs} ms\n${upgraded.stdout}`);
    assert.match(upgraded.stdout, /upgrade done: every node runs/);

    // A few seconds of playback after the last restart, then the checks.
    await sleep(8_000);
    const stallMs = stopStalls();
    writing = false;
    watching = false;
    await Promise.all([writer, leaderWatch]);
    const after = await cluster.request(names.find((n) => n !== leader)!, 'POST', '/api/v1/groups', { token: admin, body: { name: 'after-upgrade' }, timeoutMs: 10_000 });
    assert.equal(after?.status, 201, after?.body);
    written.push('after-upgrade');
    t.diagnostic(`hls.js: longest stall ${stallMs} ms during the upgrade (sampled every 250 ms); front failovers ${front.failovers}, refused ${front.refused}`);
    t.diagnostic(`leaders: ${leaders.join(' -> ')}; ${written.length} writes acknowledged`);

    const played = await browser.sample();
    assert.equal(played.fatal, null, `hls.js fatal error: ${played.fatal}; errors ${played.errors.join(', ')}`);
    assert.ok(played.currentTime - playedBefore > (upgradeMs + 8_000) / 2000, `currentTime advanced ${playedBefore} -> ${played.currentTime} over ${upgradeMs + 8_000} ms`);
    assert.ok(stallMs <= stallMsMax, `hls.js stood still ${stallMs} ms (at most ${stallMsMax} ms allowed)`);

    // Every node on v2: health, cluster view (its own and gossip's view of the others), file.
    const v2Commit = /\(commit (\S+)\)/.exec(v2Text)![1]!;
    for (const n of names) {
      const h = await cluster.health(n);
      assert.deepEqual([h?.version, h?.commit], [v2Version, v2Commit], `${n}'s health`);
      const view = await waitFor(`${n}'s cluster view showing every node on v2`, async () => {
        const res = await cluster.request(n, 'GET', '/api/v1/cluster', { token: admin });
        const nodes = res?.status === 200 ? (JSON.parse(res.body) as { nodes: { version: string | null }[] }).nodes : [];
        return nodes.length === 3 && nodes.every((x) => x.version === v2Version) ? nodes : null;
      }, 10_000, 250);
      assert.equal(view.length, 3);
      const node = cluster.nodes.get(n)!;
      assert.equal(await sha256File(node.exe), v2Sha, `${n}'s executable file is v2`);
      assert.equal(await sha256File(`${node.exe}.previous`), v1Sha, `${n} keeps v1 as .previous`);
    }

    // One node at a time, the leader last; leadership moved once, to a node already upgraded.
    const status = await cluster.request(leader, 'GET', '/api/v1/upgrade', { token: admin });
    const rollout = (JSON.parse(status!.body) as UpgradeView).rollout!;
    assert.equal(rollout.status, 'done');
    assert.deepEqual(rollout.steps.map((s) => [s.phase, s.upgrade]), [['done', true], ['done', true], ['done', true]]);
    assert.equal(rollout.steps.at(-1)!.name, leader, 'the leader (and coordinator) is upgraded last');
    for (let i = 1; i < rollout.steps.length; i++) {
      assert.ok(rollout.steps[i]!.startedAtMs! >= rollout.steps[i - 1]!.endedAtMs!, `${rollout.steps[i]!.name} started after ${rollout.steps[i - 1]!.name} was done`);
    }
    assert.equal(leaders.length, 2, `leadership moved exactly once (the hand-over): ${leaders.join(' -> ')}`);
    assert.notEqual(leaders[1], leader);

    // No acknowledged write lost: every node lists every group written.
    for (const n of names) {
      const res = await cluster.request(n, 'GET', '/api/v1/groups', { token: admin, timeoutMs: 10_000 });
      assert.equal(res?.status, 200, res?.body);
      const groups = new Set((JSON.parse(res.body) as { name: string }[]).map((g) => g.name));
      assert.deepEqual(written.filter((w) => !groups.has(w)), [], `writes missing on ${n}`);
    }
    // Each node's admin state is back (none was draining before), and the stream runs.
    const finalView = await cluster.request('n2', 'GET', '/api/v1/cluster', { token: admin });
    assert.deepEqual((JSON.parse(finalView!.body) as { nodes: { draining: boolean }[] }).nodes.map((x) => x.draining), [false, false, false]);
    const finalStream = await cluster.request('n2', 'GET', '/api/v1/streams/news', { token: admin });
    assert.equal((JSON.parse(finalStream!.body) as { status: string }).status, 'running');

    // Again: every node runs the target, nothing to do (the coordinator rolls out what it runs).
    const again = await cluster.run(cluster.nodes.get('n3')!.exe, ['upgrade', '--api', cluster.nodes.get('n3')!.httpUrl, '--api-token', admin, '--yes'], 120_000);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`every node runs ${v2Version.replaceAll('.', '\\.')} \\(commit \\S+\\) already: nothing to do`));

    // A build that does not start: the rollout stops at its first node and says what to do;
    // that node's admin state is put back; a node down refuses the next rollout; the node is
    // rolled back by hand from its .previous.
    const broken = join(cluster.root, 'ottmesh-broken');
    await writeFile(broken, '#!/bin/sh\nif [ "$1" = --version ]; then echo "ottmesh 9.9.9-broken (commit 0000000)"; exit 0; fi\necho "this build does not start" >&2\nexit 3\n', { mode: 0o755 });
    const n1Url = cluster.nodes.get('n1')!.httpUrl;
    const failed = await cluster.run(v1, ['upgrade', '--api', n1Url, '--api-token', admin, '--executable', broken, '--health-timeout', '10s', '--yes'], 180_000);
    assert.equal(failed.code, 1, `${failed.stdout}${failed.stderr}`);
    const first = /^ {2}1\. (n\d): /m.exec(failed.stdout)![1]!;
    assert.match(failed.stderr, new RegExp(`the upgrade failed: ${first}: it was not healthy on 9\\.9\\.9-broken \\(commit 0000000\\) within 10 s .*\\.previous`), failed.stderr);
    t.diagnostic(`a build that does not start: ${failed.stderr.trim()}`);
    const stopped = (JSON.parse((await cluster.request('n1', 'GET', '/api/v1/upgrade', { token: admin }))!.body) as UpgradeView).rollout!;
    assert.deepEqual([stopped.status, ...stopped.steps.map((s) => `${s.name}:${s.phase}`)], ['failed', `${first}:failed`, ...stopped.steps.slice(1).map((s) => `${s.name}:pending`)]);
    const afterFailure = await cluster.request('n1', 'GET', '/api/v1/cluster', { token: admin });
    assert.deepEqual((JSON.parse(afterFailure!.body) as { nodes: { draining: boolean }[] }).nodes.map((x) => x.draining), [false, false, false], 'admin state put back');
    const refused = await cluster.run(v1, ['upgrade', '--api', n1Url, '--api-token', admin, '--yes'], 60_000);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`node ${first} is down: an upgrade needs every node healthy`));
    const node = cluster.nodes.get(first)!;
    await copyFile(`${node.exe}.previous`, node.exe);
    cluster.note(`${first} rolled back from .previous`);
    await cluster.restart(first);
    await waitFor(`${first} back on v2`, async () => ((await cluster.health(first))?.version === v2Version ? true : null), 60_000, 250);
    // Its HTTP answers before its first telemetry report reaches the others: an upgrade asked
    // for in between is refused ("node is down"), as it should be. Wait until n1 sees it alive.
    await waitFor(`n1 to see ${first} alive`, async () => {
      const view = await cluster.request('n1', 'GET', '/api/v1/cluster', { token: admin });
      const nodes = view?.status === 200 ? (JSON.parse(view.body) as { nodes: { state: string }[] }).nodes : [];
      return nodes.length === names.length && nodes.every((x) => x.state === 'alive') ? true : null;
    }, 30_000, 250);
    const again2 = await cluster.run(v1, ['upgrade', '--api', n1Url, '--api-token', admin, '--yes'], 60_000);
    assert.match(again2.stdout, /already: nothing to do/, `${again2.stdout}${again2.stderr}`);

    // Back to v1 (a downgrade is a rollout too), coordinated by a follower this time: the other
    // follower first, then the leader once it handed over to an upgraded voter, the coordinator last.
    const leaderNow = await waitFor('one leader', async () => {
      const healths = await Promise.all(names.map((n) => cluster.health(n)));
      const l = healths.find((h) => h?.role === 'leader');
      return l === undefined || l === null || healths.some((h) => h?.leaderId !== l.nodeId) ? null : idOf.get(l.nodeId)!;
    }, 30_000, 250);
    const coordinator = names.find((n) => n !== leaderNow)!;
    const other = names.find((n) => n !== leaderNow && n !== coordinator)!;
    const stopStalls2 = watchStalls(browser, (line) => cluster.note(line));
    const down = await cluster.run(v1, ['upgrade', '--api', cluster.nodes.get(coordinator)!.httpUrl, '--api-token', admin, '--executable', v1, '--yes'], 600_000);
    assert.equal(down.code, 0, `${down.stdout}${down.stderr}`);
    await sleep(5_000);
    const stallMs2 = stopStalls2();
    t.diagnostic(`back to v1 through follower ${coordinator} (leader ${leaderNow}): longest stall ${stallMs2} ms`);
    const downRollout = (JSON.parse((await cluster.request(coordinator, 'GET', '/api/v1/upgrade', { token: admin }))!.body) as UpgradeView).rollout!;
    assert.deepEqual(downRollout.steps.map((s) => `${s.name}:${s.phase}`), [`${other}:done`, `${leaderNow}:done`, `${coordinator}:done`]);
    const v1Version = /^ottmesh (\S+) /.exec(v1Text)![1]!;
    for (const n of names) assert.equal((await cluster.health(n))?.version, v1Version, `${n} back on v1`);
    assert.notEqual((await cluster.health(leaderNow))?.role, 'leader', `${leaderNow} handed leadership over`);
    assert.ok(stallMs2 <= stallMsMax, `hls.js stood still ${stallMs2} ms going back to v1`);
    assert.equal((await browser.sample()).fatal, null);

    if (process.env['OTTMESH_TEST_TRANSCRIPT'] === '1') console.log(cluster.transcript());
  } catch (err) {
    throw withTranscript(err, cluster);
  } finally {
    await browser.stop();
    await front?.stop();
    await source.close();
    await cluster.stop();
  }
});
