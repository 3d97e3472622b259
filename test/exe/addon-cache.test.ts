// The storage addon's cache file (node/exe-addon.ts), with classic-level's real prebuilt addon:
// where it goes, that a stale or corrupt file is replaced and a good one reused, that unsafe
// directories are skipped, and that processes starting together all load a complete copy.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { addonCacheDirs, addonFileName, cachedAddonFile, loadAddon, sha256Hex } from '../../node/exe-addon.ts';
import { repoRoot } from './build.ts';

const addonSource = join(repoRoot, 'node_modules/classic-level/prebuilds/linux-x64/classic-level.node');
const uid = process.getuid?.() ?? 0;
let bytes: Buffer;
let root: string;

before(async () => {
  bytes = await readFile(addonSource);
  root = await mkdtemp(join(tmpdir(), 'ottmesh-addon-cache-'));
});
after(() => rm(root, { recursive: true, force: true }));

test('cache directories: explicit, XDG, home, then a per-user temp dir; relative paths ignored', () => {
  const base = { home: '/home/u', tmpDir: '/tmp', uid: 1000 };
  const cases: [Record<string, string | undefined>, string[]][] = [
    [{}, ['/home/u/.cache/ottmesh', '/tmp/ottmesh-1000']],
    [{ XDG_CACHE_HOME: '/x' }, ['/x/ottmesh', '/home/u/.cache/ottmesh', '/tmp/ottmesh-1000']],
    [{ OTTMESH_CACHE_DIR: '/srv/c', XDG_CACHE_HOME: '' }, ['/srv/c', '/home/u/.cache/ottmesh', '/tmp/ottmesh-1000']],
    [{ OTTMESH_CACHE_DIR: 'rel', XDG_CACHE_HOME: 'also-rel' }, ['/home/u/.cache/ottmesh', '/tmp/ottmesh-1000']],
    [{ XDG_CACHE_HOME: '/home/u/.cache' }, ['/home/u/.cache/ottmesh', '/tmp/ottmesh-1000']],
  ];
  for (const [env, want] of cases) assert.deepEqual(addonCacheDirs({ ...base, env }), want, JSON.stringify(env));
  assert.deepEqual(addonCacheDirs({ env: {}, home: '', tmpDir: '/var/tmp', uid: 0 }), ['/var/tmp/ottmesh-0']);
});

test('the file is written once, reused while intact, and replaced when stale or corrupt', async () => {
  const dir = join(root, 'reuse');
  const path = cachedAddonFile(dir, 'classic-level.node', bytes, uid);
  assert.equal(path, join(dir, addonFileName('classic-level.node', sha256Hex(bytes))));
  assert.ok((await readFile(path)).equals(bytes));
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const first = await stat(path);
  assert.equal(cachedAddonFile(dir, 'classic-level.node', bytes, uid), path);
  assert.equal((await stat(path)).ino, first.ino, 'an intact file is not rewritten');

  for (const damage of [bytes.subarray(0, bytes.length / 2), Buffer.concat([bytes, Buffer.from('x')]), Buffer.from(bytes).fill(0, 1000, 2000)]) {
    await rm(path, { force: true });
    await writeFile(path, damage);
    assert.equal(cachedAddonFile(dir, 'classic-level.node', bytes, uid), path);
    assert.ok((await readFile(path)).equals(bytes), 'the damaged file was replaced');
  }
  assert.deepEqual(await readdir(dir), [path.slice(dir.length + 1)], 'no temporary files left behind');
});

test('directories others could write, or that are links or not ours, are refused', async () => {
  const open = join(root, 'open');
  await mkdir(open);
  await chmod(open, 0o777);
  assert.throws(() => cachedAddonFile(open, 'classic-level.node', bytes, uid), /writable by others/);
  const target = join(root, 'target');
  await mkdir(target, { mode: 0o700 });
  await symlink(target, join(root, 'link'));
  assert.throws(() => cachedAddonFile(join(root, 'link'), 'classic-level.node', bytes, uid), /is a symbolic link/);
  if (uid === 0) {
    const foreign = join(root, 'foreign');
    await mkdir(foreign, { mode: 0o700 });
    await chown(foreign, 65534, 65534);
    assert.throws(() => cachedAddonFile(foreign, 'classic-level.node', bytes, uid), /belongs to uid 65534/);
  }
  assert.throws(() => loadAddon('classic-level.node', bytes, [open, join(root, 'link')], uid), (err: Error) => {
    assert.match(err.message, /writable by others.*is a symbolic link.*OTTMESH_CACHE_DIR/s);
    return true;
  });
});

/** Runs loadAddon in a fresh Node process (the addon can be loaded once per process) over
 *  `dirs`; what it printed: the binding's db_init type and the addon file it mapped. */
function loadInChild(dirs: readonly string[]): Promise<string> {
  const script = `
    import { readFileSync } from 'node:fs';
    import { loadAddon } from ${JSON.stringify(join(repoRoot, 'node/exe-addon.ts'))};
    const binding = loadAddon('classic-level.node', readFileSync(${JSON.stringify(addonSource)}), ${JSON.stringify(dirs)}, ${uid});
    const mapped = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5]).find((p) => p?.includes('classic-level-'));
    console.log(typeof binding.db_init, mapped);`;
  return new Promise<string>((ok, fail) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 }, (err, stdout, stderr) => (err === null ? ok(stdout.trim()) : fail(new Error(`${err.message}\n${stderr}`))));
  });
}

/** Mounts a small noexec tmpfs at `dir`; false when this process may not mount (not root,
 *  or a container without the capability). */
function mountNoexec(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'noexec,size=4m,mode=700', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // not allowed here: the test is skipped
  }
}

test('a directory on a noexec filesystem is skipped for the next one', async (t) => {
  const noexec = join(root, 'noexec');
  await mkdir(noexec);
  if (!mountNoexec(noexec)) return t.skip('cannot mount a noexec tmpfs here');
  try {
    const good = join(root, 'after-noexec');
    const [type, mapped] = (await loadInChild([noexec, good])).split(' ');
    assert.equal(type, 'function');
    assert.equal(mapped, join(good, addonFileName('classic-level.node', sha256Hex(bytes))));
  } finally {
    execFileSync('umount', [noexec]);
  }
});

test('processes starting together over a corrupt file all load a complete addon', { timeout: 60_000 }, async () => {
  const dir = join(root, 'race');
  await mkdir(dir, { mode: 0o700 });
  await writeFile(join(dir, addonFileName('classic-level.node', sha256Hex(bytes))), bytes.subarray(0, 100));
  // Each child loads the addon through a skipped directory first (group-writable), then `dir`.
  const skipped = join(root, 'race-skipped');
  await mkdir(skipped);
  await chmod(skipped, 0o775);
  const runs = await Promise.all(Array.from({ length: 6 }, () => loadInChild([skipped, dir])));
  const left = await readdir(dir);
  assert.deepEqual(runs, Array(6).fill(`function ${join(dir, left[0]!)}`));
  assert.equal(left.length, 1, `one file, no temporaries: ${left.join(', ')}`);
  assert.ok((await readFile(join(dir, left[0]!))).equals(bytes));
  assert.deepEqual(await readdir(skipped), [], 'nothing written to the refused directory');
});
