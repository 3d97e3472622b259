// LevelDB's own errors, translated into what an operator can act on: a lock held by a running
// node is not damage; a damaged CURRENT, MANIFEST, .log or .ldb is, and we name the file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptLogError } from '../log-store.ts';

/** Another process has this log open (LevelDB's LOCK): the node is already running. */
export class LogLockedError extends Error {
  override readonly name = 'LogLockedError';
  readonly path: string;
  constructor(dir: string) {
    super(`${join(dir, 'LOCK')}: another process holds this Raft log open, so this node is already running. ` +
      'Stop the other process first, or give this one its own data directory.');
    this.path = dir;
  }
}

const LEVEL_DATA_FILE = /^MANIFEST-|\.(ldb|sst|log)$/;
const TABLE_OR_LOG_FILE = /\.(ldb|sst|log)$/;
// I/O failures that are about the machine, not damage to the files: report them as they are.
const NOT_DAMAGE = /Permission denied|No space left|Too many open files|Read-only file system/i;

/** Without CURRENT, LevelDB would silently start an empty database over the old files (and
 *  later delete them): a problem when LevelDB files are present, else null. */
export function missingCurrentProblem(files: readonly string[]): string | null {
  if (files.includes('CURRENT')) return null;
  const data = files.filter((f) => LEVEL_DATA_FILE.test(f));
  if (data.length === 0) return null;
  return `CURRENT is missing but LevelDB files remain (${data.slice(0, 3).join(', ')}); opening would start an empty log over them`;
}

/** The error to throw when LevelDB cannot open `dir`. */
export function levelOpenError(dir: string, err: unknown): unknown {
  const cause = levelCode(err) === 'LEVEL_DATABASE_NOT_OPEN' && err instanceof Error ? err.cause : err;
  if (levelCode(cause) === 'LEVEL_LOCKED') return new LogLockedError(dir);
  return levelReadError(dir, cause);
}

/** A LevelDB corruption or I/O error becomes CorruptLogError naming the file it reports
 *  (or the directory); anything else is returned unchanged. */
export function levelReadError(dir: string, err: unknown): unknown {
  if (err instanceof CorruptLogError || !(err instanceof Error)) return err;
  const code = levelCode(err);
  const damaged = code === 'LEVEL_CORRUPTION' || (code === 'LEVEL_IO_ERROR' && !NOT_DAMAGE.test(err.message));
  if (!damaged) return err;
  const { path, problem } = damagedFile(dir, err.message);
  return new CorruptLogError(path, problem);
}

function damagedFile(dir: string, message: string): { path: string; problem: string } {
  const reports = `LevelDB reports "${message}"`;
  const at = message.indexOf(dir + '/');
  if (at < 0) {
    if (message.includes('CURRENT')) return { path: join(dir, 'CURRENT'), problem: reports };
    // LevelDB calls the manifest its "descriptor"; CURRENT names the one in use.
    if (message.includes('descriptor')) return { path: join(dir, currentManifest(dir) ?? 'CURRENT'), problem: reports };
    return { path: dir, problem: reports };
  }
  const name = message.slice(at + dir.length + 1).split(/[:\s]/)[0] ?? '';
  const path = join(dir, name);
  // CURRENT names the manifest to read: a missing file that is not a table or log came from it.
  if (!existsSync(path) && !TABLE_OR_LOG_FILE.test(name)) {
    return { path: join(dir, 'CURRENT'), problem: `CURRENT names "${name}", which does not exist (${reports})` };
  }
  return { path, problem: reports };
}

function currentManifest(dir: string): string | null {
  try {
    return readFileSync(join(dir, 'CURRENT'), 'utf8').trim() || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function levelCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
