// The executable files of an upgrade (an adapter: files, hashes, child processes): receive one
// (an upload, or a download from the coordinator) into a file while hashing it, bounded in size;
// ask a file which build it is by running `<file> --version`; and put a new executable in place
// of the running one atomically, keeping the old one beside it for a rollback.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, chmod, constants, link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { UpgradeError } from './errors.ts';
import type { BuildId } from './plan.ts';

/** Bound on an executable's size (the linux-x64 build is about 120 MB). */
export const executableBytesMax = 300 * 1024 * 1024;
/** Bound on `<file> --version` (a single executable unpacks nothing, but a loaded machine is slow). */
export const versionTimeoutMs = 30_000;

export interface ReceivedFile {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Writes `source` to a new file in `dir` (mode 0700) while hashing it. Refuses more than
 *  `bytesMax` (413), removing what was written. The caller owns the file. */
export async function receiveFile(source: Readable | ReadableStream<Uint8Array>, dir: string, bytesMax = executableBytesMax): Promise<ReceivedFile> {
  const path = join(dir, `.ottmesh-incoming-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      bytes += chunk.byteLength;
      if (bytes > bytesMax) {
        done(new UpgradeError(413, `the executable is larger than ${bytesMax / (1024 * 1024)} MB: is it the right file?`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const input = source instanceof Readable ? source : Readable.fromWeb(source as import('node:stream/web').ReadableStream<Uint8Array>);
  try {
    await pipeline(input, meter, createWriteStream(path, { mode: 0o700 }));
    await fsyncFile(path);
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { path, sha256: hash.digest('hex'), bytes };
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** What `ottmesh --version` prints (node/version.ts versionText). */
export function parseVersionLine(text: string): BuildId | null {
  const m = /^ottmesh (\S+) \(commit (\S+)\)\s*$/.exec(text.trim());
  return m === null ? null : { version: m[1]!, commit: m[2]! };
}

/** Runs `<path> --version` and reads the build it names. Throws UpgradeError (422) when the
 *  file does not run or does not answer like an ottmesh executable. */
export async function buildOfExecutable(path: string, timeoutMs = versionTimeoutMs): Promise<BuildId> {
  await chmod(path, 0o755);
  const { stdout, failure, code } = await new Promise<{ stdout: string; failure: string | null; code: unknown }>((resolve) => {
    execFile(path, ['--version'], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, env: { ...process.env, NODE_OPTIONS: '' } }, (err, out, errOut) => {
      if (err === null) resolve({ stdout: out, failure: null, code: null });
      else resolve({ stdout: out, code: err.code, failure: err.killed ? `did not answer within ${timeoutMs / 1000} s` : `${err.message.split('\n')[0]} ${errOut.trim().slice(0, 200)}`.trim() });
    });
  });
  // The file system refuses to run anything from there: not the file's fault.
  if (code === 'EACCES') throw new UpgradeError(500, `this node cannot run files in ${dirname(path)} (is it mounted noexec?): give the data directory a file system that allows running programs`);
  if (failure !== null) throw new UpgradeError(422, `this file is not an ottmesh executable for this machine: '--version' failed (${failure})`);
  const build = parseVersionLine(stdout);
  if (build === null) throw new UpgradeError(422, `this file is not an ottmesh executable: '--version' printed ${JSON.stringify(stdout.trim().slice(0, 120))}`);
  return build;
}

/** Whether this process may create files in the directory of `path` (the new executable is
 *  written there and renamed over the old one). */
export async function directoryWritable(path: string): Promise<boolean> {
  try {
    await access(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The previous executable's path, kept for a rollback. */
export function previousPathOf(exePath: string): string {
  return `${exePath}.previous`;
}

/**
 * Puts `newFile` (in the same directory) in place of `exePath`: the old one is hard-linked (or
 * copied) to `<exePath>.previous` first, then the new one is renamed over it, so `exePath`
 * always names a whole executable, the old or the new, even if the machine stops in between.
 * The running process keeps its own (old) file open: Linux frees it when the process ends.
 */
export async function installExecutable(newFile: string, exePath: string): Promise<void> {
  if (dirname(newFile) !== dirname(exePath)) throw new Error(`${basename(newFile)} must be in ${dirname(exePath)} to be renamed into place`);
  const previous = previousPathOf(exePath);
  await rm(previous, { force: true });
  try {
    await link(exePath, previous);
  } catch {
    // A file system without hard links: a copy does the same job.
    await pipeline(createReadStream(exePath), createWriteStream(previous, { mode: 0o755 }));
  }
  await chmod(newFile, 0o755);
  await rename(newFile, exePath);
  await fsyncDir(dirname(exePath));
}

/** Size of a file, or null when it does not exist. */
export async function fileBytes(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is done either way.
  } finally {
    await handle.close();
  }
}
