// `node --test file -- --rewrite` does not pass `--rewrite` to the test file: the runner
// starts each file in a child process with only the file name. The flag is still on the
// runner's own command line, which the child can read from /proc on Linux (where CI runs).
// Elsewhere, use REWRITE=1.
import { readFileSync } from 'node:fs';

/** The test runner's command-line arguments, or [] when not run by `node --test` on Linux. */
export function parentArgs(): string[] {
  // NODE_TEST_CONTEXT is set only in files the runner spawned: never read a stranger's argv.
  if (process.env['NODE_TEST_CONTEXT'] === undefined) return [];
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8');
  } catch (e) {
    // No /proc (macOS, Windows): the env variable is the way there.
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return [];
    throw e;
  }
  return cmdline.split('\0').filter((a) => a !== '');
}
