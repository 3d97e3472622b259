// The executable a node hands to installers (GET /download/ottmesh): the single executable this
// process runs from, else the checkout's dist/ottmesh (`npm run build:exe`), else none. Its
// sha256 is computed once per file version (path, mtime, size), by streaming: the executable is
// about 100 MB and the hash must not hold the event loop or the memory.
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import { runningExecutable } from '../exe-path.ts';
import { sha256File } from '../upgrade/executable.ts';

/** One version of the executable file, as stat saw it. */
export interface ExecutableFile {
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
}

/** What to tell an installer when this node has nothing to serve. */
export const noExecutableMessage = 'this node has no ottmesh executable to serve: run \'npm run build:exe\' in the ottmesh checkout it runs from (it writes dist/ottmesh), or install from a node that runs the executable';

/** dist/ottmesh of the checkout this code runs from: beside the bundle (dist/ottmesh.mjs) or two
 *  folders above this file (node/install/). Evaluated on use: a single executable has no
 *  meaningful import.meta.dirname, and there runningExecutable() answers first. */
function checkoutExecutable(): string {
  const here = import.meta.dirname;
  return basename(here) === 'dist' ? join(here, 'ottmesh') : resolve(here, '../../dist/ottmesh');
}

/** The path of the executable to serve, whether or not the file exists yet. */
export function servedExecutablePath(): string {
  return runningExecutable() ?? checkoutExecutable();
}

/** The file at `path` now, or null when there is no regular file there. */
export async function executableFile(path: string): Promise<ExecutableFile | null> {
  try {
    const st = await stat(path);
    return st.isFile() ? { path, sizeBytes: st.size, mtimeMs: st.mtimeMs } : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

/** sha256 (hex) per file version; concurrent asks for one version share one computation, and a
 *  failed computation is forgotten so the next ask tries again. Holds the latest version of
 *  each path only. */
export class Sha256Cache {
  readonly #byPath = new Map<string, { sizeBytes: number; mtimeMs: number; sha256: Promise<string> }>();

  of(file: ExecutableFile): Promise<string> {
    const cached = this.#byPath.get(file.path);
    if (cached !== undefined && cached.sizeBytes === file.sizeBytes && cached.mtimeMs === file.mtimeMs) return cached.sha256;
    const sha256 = sha256File(file.path);
    const entry = { sizeBytes: file.sizeBytes, mtimeMs: file.mtimeMs, sha256 };
    this.#byPath.set(file.path, entry);
    sha256.catch(() => {
      if (this.#byPath.get(file.path) === entry) this.#byPath.delete(file.path);
    });
    return sha256;
  }
}
