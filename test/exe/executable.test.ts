// The single executable (npm run build:exe -> dist/ottmesh) on a machine without Node: copied
// into an empty directory outside the checkout and run with a PATH that has no node, it prints
// its version, runs a three-node cluster on loopback (init, token create, two joins), takes a
// write through a follower, serves the dashboard, reads a host key over SSH, and runs a stream
// (ffmpeg from its PATH). Its storage addon comes from the cache file it wrote under its HOME, and
// it maps nothing from the checkout.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';

import { LiveSource } from '../cluster/live-source.ts';
import { freePort, waitFor } from '../cluster/processes.ts';
import type { ProcessCluster } from '../cluster/processes.ts';
import { buildCluster, report, since, waitSettled, withCluster } from '../cluster/scenario.ts';
import { ensureExecutable, exeUnavailable, repoRoot } from './build.ts';
import { isolatedExecutable, which } from './isolated.ts';
import type { IsolatedExecutable } from './isolated.ts';

const unavailable = exeUnavailable();
let isolated: IsolatedExecutable | undefined;

before(async () => {
  if (unavailable !== null) return;
  const started = performance.now();
  isolated = await isolatedExecutable(await ensureExecutable());
  console.log(`# executable ready (built or reused) and copied to ${isolated.dir} in ${since(started)} ms`);
});

after(async () => {
  await isolated?.cleanup();
});

test('the executable prints its version and commit, with no Node on the PATH', { skip: unavailable ?? false, timeout: 30_000 }, async () => {
  const exe = isolated!;
  assert.equal(which('node', exe.env['PATH']), null, 'no node on the PATH the executable gets');
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const out = await new Promise<string>((ok, fail) => {
    execFile(exe.bin, ['--version'], { env: exe.env, cwd: exe.dir, timeout: 20_000 }, (err, stdout, stderr) => (err === null ? ok(stdout) : fail(new Error(`${err.message}\n${stderr}`))));
  });
  assert.match(out.trim(), new RegExp(`^ottmesh ${version.replaceAll('.', '\\.')} \\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\)$`));
});

test('a three-node cluster runs from the executable: members, a write through a follower, the dashboard, SSH, a stream', { skip: unavailable ?? false, timeout: 120_000 }, async (t) => {
  const exe = isolated!;
  await withCluster('ottmesh-exe-cluster-', async (cluster) => {
    const started = performance.now();
    const built = await buildCluster(cluster, ['x1', 'x2', 'x3']);
    const { leader, view } = await waitSettled(cluster, built, 3);
    report(t, `three nodes from the executable settled ${since(started)} ms after init started`);
    assert.deepEqual(view.nodes.map((n) => n.name).sort(), ['x1', 'x2', 'x3']);
    await waitFor('every member alive', async () => {
      const v = await cluster.clusterView(leader, built.admin);
      return v !== null && v.nodes.every((n) => n.state === 'alive') ? true : null;
    }, 15_000);

    // A write through a follower is forwarded to the leader, committed, and read on the others.
    const follower = built.names.find((n) => n !== leader)!;
    const created = await cluster.request(follower, 'POST', '/api/v1/groups', { token: built.admin, body: { name: 'from-exe', priority: 7 }, timeoutMs: 10_000 });
    assert.equal(created?.status, 201, `POST /api/v1/groups through follower ${follower}: ${created?.body}`);
    for (const name of built.names) {
      const groups = await cluster.request(name, 'GET', '/api/v1/groups', { token: built.admin, timeoutMs: 5_000 });
      assert.equal(groups?.status, 200);
      assert.ok((JSON.parse(groups!.body) as { name: string; priority: number }[]).some((g) => g.name === 'from-exe' && g.priority === 7), `${name} lists the group written through ${follower}`);
    }

    // The dashboard: the page, and every file it references, byte for byte what the checkout has.
    const page = await cluster.request(follower, 'GET', '/');
    assert.equal(page?.status, 200);
    assert.match(page!.body, /^<!doctype html>/i);
    const referenced = [...page!.body.matchAll(/(?:src|href)="\/ui\/([^"?]+)"/g)].map((m) => m[1]!);
    assert.ok(referenced.includes('app.js') && referenced.includes('hls.min.js'), `index.html references app.js and hls.min.js: ${referenced.join(', ')}`);
    const hlsDir = dirname(createRequire(join(repoRoot, 'package.json')).resolve('hls.js/package.json'));
    for (const file of referenced) {
      const res = await fetch(`${cluster.nodes.get(follower)!.httpUrl}/ui/${file}`);
      assert.equal(res.status, 200, `GET /ui/${file}`);
      const onDisk = file === 'hls.min.js' ? join(hlsDir, 'dist/hls.min.js') : join(repoRoot, 'ui', file);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(await readFile(onDisk)), `/ui/${file} is the checkout's ${onDisk}`);
      if (file.endsWith('.js')) assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    }

    // The addon: one verified cache file under HOME, mapped by every node; nothing from the checkout.
    const cached = await readdir(exe.addonCacheDir);
    assert.equal(cached.length, 1, `one cached addon in ${exe.addonCacheDir}: ${cached.join(', ')}`);
    const addonPath = join(exe.addonCacheDir, cached[0]!);
    assert.ok((await readFile(addonPath)).equals(await readFile(join(repoRoot, 'node_modules/classic-level/prebuilds/linux-x64/classic-level.node'))));
    assert.equal((await stat(exe.addonCacheDir)).mode & 0o077, 0, 'the cache directory is private');
    for (const name of built.names) {
      const maps = await readFile(`/proc/${cluster.nodes.get(name)!.child.pid}/maps`, 'utf8');
      assert.ok(maps.includes(addonPath), `${name} mapped the cached addon`);
      assert.ok(!maps.includes(`${repoRoot}/`), `${name} maps nothing from the checkout ${repoRoot}`);
    }

    // ssh2 (loaded lazily, its native speed-ups left out): reading a host key over SSH works.
    if (existsSync(sshd)) {
      await assertSshProbe(cluster, follower, built.admin, exe.dir);
      report(t, 'a host key read over SSH through the executable');
    }

    // A stream: a worker runs ffmpeg (found on the executable's PATH), every node serves it.
    if (which('ffmpeg', exe.env['PATH']) !== null) {
      const streamStarted = performance.now();
      await assertStreamPlays(cluster, built.names, built.admin);
      report(t, `a stream ran and served a segment through another node ${since(streamStarted)} ms after it was created`);
    }
  }, { bin: exe.bin, env: exe.env, cwd: exe.dir });
});

const sshd = '/usr/sbin/sshd';

/** A live loopback source as a stream: it runs, and its playlist and a segment answer through a
 *  node that is not its worker. */
async function assertStreamPlays(cluster: ProcessCluster, names: readonly string[], admin: string): Promise<void> {
  const source = new LiveSource();
  await source.start();
  try {
    const created = await cluster.request(names[0]!, 'POST', '/api/v1/streams', { token: admin, body: { id: 'exe-news', name: 'News', sources: [{ url: source.url }], profile: 'copy' } });
    assert.equal(created?.status, 201, created?.body);
    const running = await waitFor('the stream running', async () => {
      const res = await cluster.request(names[0]!, 'GET', '/api/v1/streams/exe-news', { token: admin });
      const s = res?.status === 200 ? (JSON.parse(res.body) as { status: string; nodeId: string | null }) : null;
      return s?.status === 'running' ? s : null;
    }, 45_000, 250);
    const healths = await Promise.all(names.map((n) => cluster.health(n)));
    const viewer = names.find((_n, i) => healths[i]?.nodeId !== running.nodeId)!;
    const base = `${cluster.nodes.get(viewer)!.httpUrl}/live/exe-news/`;
    const segment = await waitFor(`a segment in ${base}index.m3u8`, async () => {
      const res = await fetch(`${base}index.m3u8`).catch(() => null);
      const text = res?.status === 200 ? await res.text() : '';
      return text.startsWith('#EXTM3U') ? (text.split('\n').find((l) => l.endsWith('.ts')) ?? null) : null;
    }, 20_000, 250);
    const res = await fetch(new URL(segment, base));
    assert.equal(res.status, 200, `GET ${segment}`);
    assert.ok((await res.arrayBuffer()).byteLength > 1000, 'the segment has media');
  } finally {
    await source.close();
  }
}

/** POST /api/v1/installs/probe against a throwaway sshd on loopback answers its host key. */
async function assertSshProbe(cluster: ProcessCluster, through: string, admin: string, dir: string): Promise<void> {
  const key = join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const expected = execFileSync('ssh-keygen', ['-lf', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  const port = await freePort();
  const server = spawn(sshd, ['-D', '-e', '-f', '/dev/null', '-h', key, '-p', String(port), '-o', 'ListenAddress=127.0.0.1', '-o', `PidFile=${join(dir, 'sshd.pid')}`], { stdio: 'ignore' });
  try {
    let last = 'no answer';
    const probe = await waitFor('the host key probe through the executable', async () => {
      const res = await cluster.request(through, 'POST', '/api/v1/installs/probe', { token: admin, body: { host: '127.0.0.1', port }, timeoutMs: 10_000 });
      last = res === null ? 'no answer' : `${res.status} ${res.body}`;
      return res?.status === 200 ? (JSON.parse(res.body) as { hostKeyFingerprint: string }) : null; // sshd may not listen yet
    }, 15_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
    assert.equal(probe.hostKeyFingerprint, expected);
  } finally {
    server.kill();
  }
}
