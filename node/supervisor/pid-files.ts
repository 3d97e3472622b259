// ffmpeg.pid in each stream directory, and the cleanup a restarted node runs before it starts any
// stream: an ffmpeg left running from the node's previous life (if the kernel's parent-death
// signal could not be used) would keep writing into a directory nobody supervises.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { playlistName } from './ffmpeg-args.ts';

export const pidFileName = 'ffmpeg.pid';
/** How long killLeftovers waits for a killed process to be gone. */
export const leftoverExitWaitMs = 2_000;
const leftoverPollMs = 20;

export async function writePidFile(dir: string, pid: number): Promise<void> {
  await writeFile(join(dir, pidFileName), `${pid}\n`);
}

export async function removePidFile(dir: string): Promise<void> {
  await rm(join(dir, pidFileName), { force: true });
}

/** Whether `pid` is an ffmpeg writing into `dir` (its output playlist is `<dir>/index.m3u8`).
 *  False if it is gone, a zombie, or anything else (the pid may have been reused). */
export async function isFfmpegWritingInto(pid: number, dir: string): Promise<boolean> {
  const argv = await readCmdline(pid);
  if (argv === null || argv.length === 0) return false;
  return basename(argv[0]!) === 'ffmpeg' && argv.includes(join(dir, playlistName));
}

/** Alive and not a zombie (a killed child whose parent has not reaped it yet counts as gone). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) return false;
    throw err;
  }
}

/**
 * Kill every ffmpeg named in a pid file under `<streamsRoot>/<streamId>/<epoch>/` that is still
 * writing into that directory, wait (bounded) until each is gone, and remove the pid files.
 * Returns the pids killed. Call before starting any stream. A missing root is not an error.
 */
export async function killLeftovers(streamsRoot: string): Promise<number[]> {
  const killed: number[] = [];
  for (const dir of await epochDirs(streamsRoot)) {
    let text: string;
    try {
      text = await readFile(join(dir, pidFileName), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const pid = Number(text.trim());
    if (Number.isSafeInteger(pid) && pid > 1 && (await isFfmpegWritingInto(pid, dir))) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    await removePidFile(dir);
  }
  const deadlineMs = performance.now() + leftoverExitWaitMs;
  for (const pid of killed) {
    while ((await isAlive(pid)) && performance.now() < deadlineMs) await sleep(leftoverPollMs);
  }
  return killed;
}

/** `<root>/<streamId>/<epoch>` directories that exist. */
export async function epochDirs(streamsRoot: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const stream of await listDirs(streamsRoot)) {
    for (const epoch of await listDirs(join(streamsRoot, stream))) dirs.push(join(streamsRoot, stream, epoch));
  }
  return dirs;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

async function readCmdline(pid: number): Promise<string[] | null> {
  try {
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return text.split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) return null;
    throw err;
  }
}
