// Starting and ending one ffmpeg process. Orphans: ffmpeg 5.1 ignores SIGPIPE and does not check
// its progress writes (measured: it kept running with the read end of its progress pipe closed),
// so a dead parent is not noticed through the pipe. ffmpeg is therefore started through
// util-linux `setpriv --pdeathsig KILL`, which asks the kernel to kill it the moment its parent
// dies, even by SIGKILL (test/supervisor/orphans.test.ts); the pid file covers the rest
// (killLeftovers in pid-files.ts). The signal fires when the *thread* that spawned ffmpeg ends:
// run the supervisor on the main thread, not in a worker_thread.
import { existsSync } from 'node:fs';
import { execa } from 'execa';

/** ffmpeg handles a first SIGTERM by finishing its loop, but an input read that waits for data
 *  (a stalled source) is only interrupted by a second signal (measured on 5.1): sent this long
 *  after the first if ffmpeg is still there. */
const secondSignalAfterMs = 100;

/** SIGTERM (SIGKILL follows after stopGraceMs, see spawnFfmpeg), and a second SIGTERM if needed. */
export function terminate(sub: FfmpegSubprocess, done: Promise<void>): void {
  sub.kill();
  let exited = false;
  void done.then(() => (exited = true));
  setTimeout(() => {
    if (!exited) sub.kill('SIGTERM');
  }, secondSignalAfterMs).unref();
}

export interface Stdio {
  readonly stdout: 'pipe' | 'ignore';
  readonly stderr: 'pipe' | 'ignore';
}

/** ffmpeg with these arguments, through setpriv when given. `timeoutMs` 0: no time limit. */
export function spawnFfmpeg(ffmpegPath: string, setprivPath: string | null, args: string[], opts: { cwd: string; stdio: Stdio; timeoutMs: number; stopGraceMs: number }) {
  const [file, argv] = setprivPath === null ? [ffmpegPath, args] : [setprivPath, ['--pdeathsig', 'KILL', '--', ffmpegPath, ...args]];
  return execa(file, argv, {
    cwd: opts.cwd, stdin: 'ignore', stdout: opts.stdio.stdout, stderr: opts.stdio.stderr, buffer: false, reject: false,
    // cleanup: a normal exit of this process (or SIGTERM / SIGINT) ends ffmpeg too.
    cleanup: true, forceKillAfterDelay: opts.stopGraceMs, timeout: opts.timeoutMs,
  });
}

export type FfmpegSubprocess = ReturnType<typeof spawnFfmpeg>;

export function defaultSetpriv(): string | null {
  return process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;
}
