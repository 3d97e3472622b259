// The netns mode's outer process (root). It stays in the machine's own namespaces: it removes
// what crashed runs left, makes the lab's namespaces (a bridge, the nodes, a client host) and
// starts the run again inside the client host (`ip netns exec`, under `setpriv --pdeathsig TERM`
// so that it ends with this one), where it reaches every node directly, as observers and viewers
// must: no address or route of the machine's own namespace is touched. When that run ends (or is
// killed), this one kills whatever is left in the lab's namespaces and removes them.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

import { NetnsLab, removeLeftovers } from '../../test/cluster/netns.ts';
import type { LabDescription } from '../../test/cluster/netns.ts';
import { removeChaosLeftovers, tempPrefix } from './lab.ts';
import type { ChaosOptions } from './options.ts';

/** Set in the environment of the run started inside the client host. */
const innerVariable = 'OTTMESH_CHAOS_INNER';
/** An interrupted inner run gets this long to heal and clean up before it is killed. */
const innerStopGraceMs = 120_000;

interface InnerSpec {
  readonly options: ChaosOptions;
  readonly lab: LabDescription;
  /** The outer process's pid: the lab's namespaces and temp dirs are named after it. */
  readonly runId: number;
}

/** What the outer process handed to this one, when this is the run inside the client host. */
export function innerSpec(): InnerSpec | null {
  const text = process.env[innerVariable];
  return text === undefined ? null : (JSON.parse(text) as InnerSpec);
}

/** Makes the lab, runs the chaos run inside its client host, removes the lab; the run's exit
 *  code. */
export async function runInClientHost(options: ChaosOptions): Promise<number> {
  const removed = [...(await removeLeftovers()), ...(await removeChaosLeftovers())];
  if (removed.length > 0) console.error(`chaos: removed what crashed runs left: ${removed.join(', ')}`);
  const net = new NetnsLab();
  try {
    await net.start();
    for (let i = 1; i <= options.nodes; i++) await net.addHost(`n${i}`, { octet: 10 + i });
    const client = await net.addHost('client', { octet: 100 });
    const spec: InnerSpec = { options: { ...options, mode: 'netns' }, lab: net.describe(), runId: process.pid };
    const argv = ['netns', 'exec', client.ns, 'setpriv', '--pdeathsig', 'TERM', process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)];
    const running: ChildProcess = spawn('ip', argv, { stdio: 'inherit', env: { ...process.env, [innerVariable]: JSON.stringify(spec) } });
    // Killed by a signal: 128 + its number, as a shell says it.
    const exited = new Promise<number>((resolve) => running.once('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]))));
    // Ctrl-C reaches the inner run too (same process group); a signal sent to this process
    // alone is passed on. Either way the inner run heals, cleans up and reports.
    const pass = (signal: NodeJS.Signals): void => {
      running.kill(signal);
      setTimeout(() => running.kill('SIGKILL'), innerStopGraceMs).unref();
    };
    process.on('SIGINT', pass);
    process.on('SIGTERM', pass);
    try {
      return await exited;
    } finally {
      process.off('SIGINT', pass);
      process.off('SIGTERM', pass);
    }
  } finally {
    for (const host of net.hosts.values()) {
      for (const pid of await listPids(host.ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    await net.destroy();
    // The inner run's temp dir, if it could not remove it (its tmpfs mounts went with it).
    for (const entry of await readdir(tmpdir())) if (entry.startsWith(`${tempPrefix}${process.pid}-`)) await rm(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

/** The processes running in namespace `ns` ([] when it cannot tell). */
function listPids(ns: string): Promise<number[]> {
  return new Promise((resolve) => {
    const ip = spawn('ip', ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    ip.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    ip.once('exit', () => resolve(out.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0)));
    ip.once('error', () => resolve([]));
  });
}
