// The single executable for tests: dist/ottmesh, built by scripts/build-exe.sh when missing or
// older than the sources, once however many test files ask at the same time (a lock file
// serializes the builds of concurrent test processes; the others wait and reuse its result).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const exePath = join(repoRoot, 'dist/ottmesh');
const lockPath = join(repoRoot, 'dist/.ottmesh-build.lock');
/** A build takes a few seconds; on a loaded machine far longer. */
const buildTimeoutMs = 300_000;
const lockPollMs = 200;

/** What the executable is made from: a change to any of these makes it stale. */
const sourceDirs = ['node', 'consensus', 'ui', 'scripts/sea'];
const sourceFiles = ['scripts/build-exe.sh', 'bin/node-flags', 'package.json', 'package-lock.json'];

/** Why the executable cannot be built on this machine, or null when it can. Tests that need it
 *  skip with this reason. */
export function exeUnavailable(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the executable is built for linux-x64 only, this is ${process.platform}-${process.arch}`;
  const needed: [string, string][] = [
    ['node_modules/node/bin/node', 'the pinned Node (npm package "node")'],
    ['node_modules/postject/dist/cli.js', 'postject'],
    ['node_modules/esbuild/package.json', 'esbuild'],
    ['node_modules/classic-level/prebuilds/linux-x64/classic-level.node', "classic-level's linux-x64 addon"],
  ];
  for (const [path, what] of needed) {
    if (!existsSync(join(repoRoot, path))) return `${what} is not installed (${path} is missing): run npm install`;
  }
  return null;
}

/** The newest modification time (ms) of the executable's sources. */
function newestSourceMs(): number {
  let newest = 0;
  const consider = (path: string) => {
    newest = Math.max(newest, statSync(path).mtimeMs);
  };
  for (const dir of sourceDirs) {
    for (const entry of readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) consider(join(entry.parentPath, entry.name));
    }
  }
  for (const file of sourceFiles) consider(join(repoRoot, file));
  return newest;
}

function isUpToDate(): boolean {
  return existsSync(exePath) && statSync(exePath).mtimeMs > newestSourceMs();
}

/** Builds dist/ottmesh unless it is up to date; returns its absolute path. Throws with the
 *  build's output when it fails, or exeUnavailable()'s reason. */
export async function ensureExecutable(): Promise<string> {
  const unavailable = exeUnavailable();
  if (unavailable !== null) throw new Error(unavailable);
  if (isUpToDate()) return exePath;
  await withBuildLock(async () => {
    if (isUpToDate()) return; // another test process built it while we waited
    const started = new Date();
    await runBuild();
    // Stamped with the build's start: a source saved during the build is newer, so it counts.
    await utimes(exePath, started, started);
  });
  return exePath;
}

function runBuild(): Promise<void> {
  return new Promise((ok, fail) => {
    execFile('bash', [join(repoRoot, 'scripts/build-exe.sh')], { cwd: repoRoot, timeout: buildTimeoutMs, killSignal: 'SIGKILL', env: { ...process.env, OUT: exePath, OTTMESH_BUILD_VERSION: '' } }, (err, stdout, stderr) => {
      if (err === null) ok();
      else fail(new Error(`npm run build:exe failed (${err.message.split('\n')[0]}):\n${stdout}${stderr}`));
    });
  });
}

/** Runs `fn` holding dist/.ottmesh-build.lock (created exclusively, holding our pid). A lock
 *  whose process is gone is stale and taken over. */
async function withBuildLock(fn: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + buildTimeoutMs;
  await mkdir(join(repoRoot, 'dist'), { recursive: true });
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale()) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lockPath} (held by another test process)`);
    await new Promise((r) => setTimeout(r, lockPollMs));
  }
  try {
    await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/** The lock's holder is not running (or the lock is unreadable after its holder had time to
 *  write its pid). */
async function lockIsStale(): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // just released: retry
    throw err;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    const writtenMs = statSync(lockPath, { throwIfNoEntry: false })?.mtimeMs;
    return writtenMs !== undefined && Date.now() - writtenMs > 5_000;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
