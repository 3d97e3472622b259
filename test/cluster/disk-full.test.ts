// A node whose disk fills up stops and exits 1 (fail-stop, as etcd), so that its service
// manager starts it again once there is room: the chaos suite once saw a node that stopped Raft
// on a full disk keep running with its HTTP port closed, serving nothing, until the end of the run.
// The node runs in a mount namespace of its own with its data dir on a small tmpfs (root only),
// filled from inside that namespace; everything vanishes with the process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { waitFor } from './processes.ts';
import type { Place } from './processes.ts';
import { nodeUpTimeoutMs, withCluster } from './scenario.ts';

const run = promisify(execFile);
const diskMb = 48;
/** From the disk filling up until the process has exited. */
const exitTimeoutMs = 30_000;

async function canMountTmpfs(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root (a tmpfs in a mount namespace of its own)';
  try {
    await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt']);
    return false;
  } catch (err) {
    return `cannot mount a tmpfs in a mount namespace here: ${(err as Error).message.split('\n')[0]}`;
  }
}

test('a node whose disk fills up stops Raft and exits 1', { skip: await canMountTmpfs(), timeout: 120_000 }, async () => {
  await withCluster('ottmesh-disk-full-', async (cluster) => {
    // The data dir is made and mounted before ottmesh runs: `sh` execs it in the same process,
    // so the child's pid names the namespace for nsenter.
    const dataDir = `${cluster.root}/n1`;
    const mount = `mkdir -p "$0" && mount -t tmpfs -o size=${diskMb}m tmpfs "$0" && exec "$@"`;
    const place: Place = { host: '127.0.0.1', via: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', mount, dataDir] };
    const node = await cluster.init('n1', place);
    await cluster.waitPrinted('n1', /cluster \S+ created/, nodeUpTimeoutMs);
    const inside = (script: string) => run('nsenter', ['-t', String(node.child.pid), '-m', 'sh', '-c', script]).catch((err: unknown) => err as Error);
    const token = (await run('nsenter', ['-t', String(node.child.pid), '-m', 'cat', `${dataDir}/admin-token`])).stdout.trim();
    assert.equal((await cluster.request('n1', 'PUT', '/api/v1/policy', { token, body: { policy: { rebalanceMovesPerMin: 5 } } }))?.status, 200);

    cluster.note('filling the disk');
    await inside(`cat /dev/zero > "${dataDir}/.fill"`); // ends with ENOSPC
    // Writes until Raft must persist one and cannot; each answer is refused or never comes.
    let moves = 0;
    const exit = await waitFor('n1 to exit after its disk filled up', async () => {
      if (node.child.exitCode !== null || node.child.signalCode !== null) return { code: node.child.exitCode, signal: node.child.signalCode };
      await cluster.request('n1', 'PUT', '/api/v1/policy', { token, body: { policy: { rebalanceMovesPerMin: 6 + (moves++ % 50) } }, timeoutMs: 1_000 });
      return null;
    }, exitTimeoutMs, 100);
    assert.deepEqual(exit, { code: 1, signal: null }, 'exit 1: a service manager (Restart=always) starts it again');
    assert.match(node.output, /raft stopped: .*(No space left on device|ENOSPC)/i);
    assert.match(node.output, /stopping after a fatal error; exit 1/);
  });
});
