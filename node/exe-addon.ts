// The native LevelDB addon (classic-level) inside the single executable. The executable carries
// it as an asset (scripts/build-exe.sh), but the kernel can only map a shared object from a
// file: it is written once to a cache file and loaded from there with process.dlopen.
//
// The cache file is named by the addon's sha256, so every build that carries the same bytes
// shares it and a build with other bytes gets its own. It is checked against that hash before
// every load and replaced when it differs (stale, truncated, tampered), by writing a temporary
// file and renaming it over: processes starting together each write a complete file, the last
// rename wins, and every one of them maps a complete, verified copy. Only directories this user
// owns and no one else can write are used, so no other user can swap the file in between.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { constants, homedir, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { getRawAsset, isSea } from 'node:sea';

/** Where this process may keep the addon: the environment, decided once by the caller. */
export interface CacheDirEnv {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  readonly tmpDir: string;
  readonly uid: number;
}

/** Candidate cache directories, best first: OTTMESH_CACHE_DIR (an operator's explicit choice,
 *  e.g. when /tmp is mounted noexec), $XDG_CACHE_HOME/ottmesh, ~/.cache/ottmesh, then a per-user
 *  directory in the OS temp dir. Relative paths are ignored (the working directory is arbitrary). */
export function addonCacheDirs(e: CacheDirEnv): string[] {
  const dirs: string[] = [];
  const add = (dir: string | undefined) => {
    if (dir !== undefined && dir !== '' && isAbsolute(dir) && !dirs.includes(dir)) dirs.push(dir);
  };
  add(e.env['OTTMESH_CACHE_DIR']);
  const xdg = e.env['XDG_CACHE_HOME'];
  add(xdg === undefined || xdg === '' ? undefined : join(xdg, 'ottmesh'));
  add(e.home === '' ? undefined : join(e.home, '.cache', 'ottmesh'));
  add(join(e.tmpDir, `ottmesh-${e.uid}`));
  return dirs;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The cache file's name for an addon: its name and the start of its hash. */
export function addonFileName(assetName: string, sha256: string): string {
  const base = assetName.replace(/\.node$/, '');
  return `${base}-${sha256.slice(0, 16)}.node`;
}

/** Why `dir` is unfit for a file that will be loaded as code, or null when it is fit: it must be
 *  a real directory (not a symlink) owned by this user and writable by no one else. */
function unsafeDirReason(dir: string, uid: number): string | null {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not to this user (${uid})`;
  if ((st.mode & 0o022) !== 0) return `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

/** The verified cache file for `bytes` in `dir`, written (atomically) when missing or different.
 *  Synchronous: it runs inside require() of the addon. Throws when `dir` cannot be used. */
export function cachedAddonFile(dir: string, assetName: string, bytes: Uint8Array, uid: number): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const unsafe = unsafeDirReason(dir, uid);
  if (unsafe !== null) throw new Error(unsafe);
  const expected = sha256Hex(bytes);
  const path = join(dir, addonFileName(assetName, expected));
  if (currentHash(path) === expected) return path;
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o500);
    try {
      for (let at = 0; at < bytes.byteLength;) at += writeSync(fd, bytes, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return path;
}

function currentHash(path: string): string | null {
  try {
    return sha256Hex(readFileSync(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Writes the addon to the first usable cache directory and loads it from there; a directory
 *  that cannot be written or whose file cannot be mapped (a noexec mount) is skipped. Throws with
 *  every directory's reason when none works. */
export function loadAddon(assetName: string, bytes: Uint8Array, dirs: readonly string[], uid: number): object {
  const failures: string[] = [];
  for (const dir of dirs) {
    let path: string;
    try {
      path = cachedAddonFile(dir, assetName, bytes, uid);
    } catch (err) {
      failures.push(`${dir}: ${(err as Error).message}`);
      continue;
    }
    const module = { exports: {} };
    try {
      process.dlopen(module, path, constants.dlopen.RTLD_NOW);
      return module.exports;
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw new Error(`could not load the storage addon ${assetName} built into this executable: ${failures.join('; ')}. Set OTTMESH_CACHE_DIR to a directory this user owns, on a filesystem that allows executable mappings`);
}

/** The addon asset `assetName` of the running single executable, loaded on first use (so
 *  commands that never open storage, like --version, touch no disk). What the bundle gets for
 *  `require('./binding')` inside classic-level (scripts/sea/bundle.ts). */
export function lazyEmbeddedAddon(assetName: string): object {
  let loaded: Record<string | symbol, unknown> | null = null;
  const binding = () => {
    if (loaded !== null) return loaded;
    if (!isSea()) throw new Error(`${assetName} is only built into the single executable; this process is not one`);
    const bytes = new Uint8Array(getRawAsset(assetName));
    const uid = process.getuid?.() ?? 0;
    const dirs = addonCacheDirs({ env: process.env, home: homedirOrEmpty(), tmpDir: tmpdir(), uid });
    loaded = loadAddon(assetName, bytes, dirs, uid) as Record<string | symbol, unknown>;
    return loaded;
  };
  return new Proxy({}, {
    get: (_target, key) => binding()[key],
    has: (_target, key) => key in binding(),
  });
}

/** os.homedir() throws when the user has no passwd entry and HOME is unset. */
function homedirOrEmpty(): string {
  try {
    return homedir();
  } catch {
    return '';
  }
}
