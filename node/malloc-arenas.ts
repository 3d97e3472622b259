// One malloc arena for the node process. glibc gives each thread that allocates (libuv's pool,
// V8's helpers, LevelDB's) an arena of its own and keeps their freed pages: an idle node held
// about 14 MB less with MALLOC_ARENA_MAX=1, for the same CPU per replicated write (measured,
// docs/benchmarks.md "Idle node"). glibc reads the variable only at process start, so
// bin/ottmesh exports it, and the single executable, started without it, executes itself again
// once with it set (same process id, so a service manager sees nothing). Either way the marker
// below says the value is ours, and it is taken out of this process's environment at once:
// ffmpeg, which the node runs, must not inherit it (its threads then crawl; a source probe timed
// out and a stream never returned to its primary source).
import { runningExecutable } from './exe-path.ts';

export const mallocArenaVariable = 'MALLOC_ARENA_MAX';
/** Set beside MALLOC_ARENA_MAX when ottmesh set it (not the operator). */
export const mallocArenaMarker = 'OTTMESH_SET_MALLOC_ARENA_MAX';

/** Replaces this process with itself under MALLOC_ARENA_MAX=1 when it is the single executable
 *  on Linux and the variable is unset (an operator's own value is kept). Returns only when it
 *  does not. */
export function reexecWithOneMallocArena(): void {
  const exe = runningExecutable();
  if (exe === null || process.platform !== 'linux' || process.env[mallocArenaVariable] !== undefined) return;
  if (typeof process.execve !== 'function') return;
  process.execve(exe, [exe, ...process.argv.slice(2)], { ...process.env, [mallocArenaVariable]: '1', [mallocArenaMarker]: '1' });
}

/** Takes our own MALLOC_ARENA_MAX out of the environment children inherit (an operator's stays). */
export function keepMallocArenaSettingToOurselves(): void {
  if (process.env[mallocArenaMarker] === undefined) return;
  delete process.env[mallocArenaMarker];
  delete process.env[mallocArenaVariable];
}
