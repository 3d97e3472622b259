// A copy of the single executable in an empty directory outside the checkout, with an
// environment where no Node can be found: what a fresh server has. Only ffmpeg and ffprobe are
// on its PATH (the nodes run them for streams), linked from this machine when it has them.
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IsolatedExecutable {
  /** The directory holding everything below; removed by cleanup(). */
  readonly dir: string;
  /** The copied executable. */
  readonly bin: string;
  /** PATH (dir/bin: ffmpeg and ffprobe only) and HOME (dir/home); nothing else. */
  readonly env: NodeJS.ProcessEnv;
  /** Where the executable caches its storage addon under that HOME. */
  readonly addonCacheDir: string;
  cleanup(): Promise<void>;
}

const toolsOnPath = ['ffmpeg', 'ffprobe'];

export async function isolatedExecutable(exe: string, prefix = 'ottmesh-exe-'): Promise<IsolatedExecutable> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const bin = join(dir, 'ottmesh');
  await copyFile(exe, bin);
  await chmod(bin, 0o755);
  const pathDir = join(dir, 'bin');
  const home = join(dir, 'home');
  await mkdir(pathDir);
  await mkdir(home);
  for (const tool of toolsOnPath) {
    const found = which(tool);
    if (found !== null) await symlink(found, join(pathDir, tool));
  }
  return {
    dir, bin, env: { PATH: pathDir, HOME: home }, addonCacheDir: join(home, '.cache', 'ottmesh'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The absolute path of `tool` on this process's PATH, or null. */
export function which(tool: string, path = process.env['PATH'] ?? ''): string | null {
  try {
    return execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { env: { PATH: path }, encoding: 'utf8' }).trim() || null;
  } catch {
    return null; // exit 1: not found
  }
}
