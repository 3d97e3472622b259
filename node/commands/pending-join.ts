// A join that `ottmesh start` completes (install.sh, docs/install.md). The installer leaves the
// token and the join flags in DIR/join.json instead of joining itself, and the service's first
// `ottmesh start` joins with them and goes on running: the process that joins the cluster is the
// one that runs the node. (Joining, stopping, then starting a service leaves a member that is
// down right after joining; in a small cluster the autopilot may just have made it a voter, and
// a voter that never comes back costs the cluster its quorum.)
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { CommandError, parseCommandLine, UsageError } from '../cli.ts';
import type { NodeFlags } from '../cli.ts';
import { dataDirPaths } from '../data-dir.ts';

/** The request's name inside the data directory (mode 0600: it holds the token). */
export const pendingJoinFileName = 'join.json';

/** DIR/join.json: the token and `ottmesh join`'s flags other than --data-dir. */
export interface PendingJoinFile {
  readonly version: 1;
  readonly token: string;
  /** e.g. ["--name", "edge2", "--host", "10.0.0.6", "--http-port", "8080"] */
  readonly args: readonly string[];
}

/** Whether `ottmesh start --data-dir DIR` has a join to complete: no node yet, a request there. */
export function hasPendingJoin(dataDir: string): boolean {
  const paths = dataDirPaths(dataDir);
  return !existsSync(paths.config) && existsSync(join(paths.root, pendingJoinFileName));
}

/** Joins with DIR/join.json through `joinNode` (main.ts's join), which resolves once the cluster
 *  admitted the node and its config is written, with the node running. The request is removed
 *  whatever the outcome: one attempt per install (a refused token stays refused; the installer
 *  reports the failure and is run again with a new token). Throws CommandError for a malformed
 *  request, and whatever joinNode throws. */
export async function completePendingJoin<T>(dataDir: string, joinNode: (token: string, flags: NodeFlags) => Promise<T>, log: (line: string) => void): Promise<T> {
  const path = join(dataDirPaths(dataDir).root, pendingJoinFileName);
  try {
    const request = parsePendingJoin(path, await readFile(path, 'utf8'), dataDir);
    log(`${path}: joining the cluster with the token the installer left (once)`);
    return await joinNode(request.token, request.flags);
  } finally {
    await rm(path, { force: true });
  }
}

/** The join a request asks for, checked as `ottmesh join` checks its command line. */
export function parsePendingJoin(path: string, text: string, dataDir: string): { token: string; flags: NodeFlags } {
  const refuse = (why: string) => new CommandError(`${path} ${why}: run the installer again (curl -fsSL http://<node>/install.sh | sh -s -- <token>)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw refuse('is not valid JSON');
  }
  const file = value as Partial<PendingJoinFile> | null;
  if (file === null || typeof file !== 'object' || file.version !== 1) throw refuse('is not a join request of this ottmesh version (version 1)');
  if (typeof file.token !== 'string' || !Array.isArray(file.args) || !file.args.every((a) => typeof a === 'string')) throw refuse('needs a string "token" and an "args" list of strings');
  if (file.args.some((a) => a === '--data-dir' || a.startsWith('--data-dir=') || a === '--help' || a === '-h')) throw refuse('may not name --data-dir or --help in "args"');
  let inv;
  try {
    inv = parseCommandLine(['join', file.token, ...file.args, '--data-dir', dataDir]);
  } catch (err) {
    if (err instanceof UsageError) throw refuse(`asks for a join ottmesh refuses (${err.message})`);
    throw err;
  }
  if (inv.command !== 'join') throw refuse('is not a join');
  return { token: file.token, flags: inv.node };
}
