// Whether this process is the single executable (dist/ottmesh, scripts/build-exe.sh) and where
// that file is. Installers download it and upgrades replace and re-execute it, so they need the
// file itself; a node run from the sources or the bundle has none (null).
import { isSea } from 'node:sea';

/** The absolute path of the single executable this process runs from (process.execPath, which
 *  Node resolves from /proc/self/exe), or null when running on a Node with a script. Cheap:
 *  callers may ask each time. */
export function runningExecutable(): string | null {
  return isSea() ? process.execPath : null;
}
