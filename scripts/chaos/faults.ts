// Injectors and healers of the chaos faults. inject() does the harm at once and returns the
// fault with its heal(), which undoes it (idempotent, never throws for a target already gone).
// run.ts keeps every fault that is not healed yet and heals it in a finally: on the schedule's
// end, an error or Ctrl-C.
//
// - kill: kill -9 of the node (its ffmpeg children die with it: pdeathsig); heal starts it
//   again from its data dir. crash: the same, started again a second later (a service manager
//   restarting a crashed node), before the cluster has moved its channels.
// - stop: SIGSTOP to the node and every process under it, SIGCONT at heal. The whole tree, as a
//   frozen VM would be: stopping the node alone would let its ffmpeg keep writing segments that
//   nobody may serve, and hide what a real pause does (the worker and its outputs stand still,
//   then come back late with a stale idea of who leads and which epoch runs).
// - partitions: blackhole routes (there is no iptables or netem here), in both directions
//   between the small side and the rest (minority, majority), or only on the node's side
//   (one-way: what it sends to the other nodes is dropped; what they send arrives). The client
//   host is never cut off.
// - loss (emulated): the node's veth leaves the bridge for 50-300 ms at a time, covering the
//   drawn share of the fault's time; that is loss on the node's link, so it hits its traffic with
//   the client host too.
// - disk-full: a file fills the node's tmpfs to its last byte; heal removes it.
import { execFile } from 'node:child_process';
import { open, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';

import type { NetnsLab } from '../../test/cluster/netns.ts';
import type { ChaosLab } from './lab.ts';
import { parentPidOfStat, treeOf } from './process-tree.ts';
import { lossPattern } from './schedule.ts';
import type { Aim, PlannedFault } from './schedule.ts';
import type { FaultKind, FaultRecord } from './types.ts';

/** The file that fills a node's disk; at its data dir's root, where the node never looks. */
export const diskFillFile = '.chaos-disk-fill';

/** Kinds a mode can inject: loopback has no network of its own and no per-node disk. */
export function kindsAvailable(mode: 'netns' | 'loopback'): readonly FaultKind[] {
  return mode === 'netns' ? ['kill', 'crash', 'stop', 'partition-minority', 'partition-majority', 'partition-one-way', 'loss', 'disk-full'] : ['kill', 'crash', 'stop'];
}

export interface ActiveFault {
  readonly record: FaultRecord;
  /** Undoes the fault. record.healedAtMs is when healing began (for kill: when the node was
   *  started again, so its boot counts as recovery). Safe to call more than once. */
  heal(): Promise<void>;
}

export interface FaultContext {
  readonly lab: ChaosLab;
  /** netns mode only. */
  readonly net: NetnsLab | null;
  readonly log: (line: string) => void;
}

/** Injects `planned` on the nodes `aim` names; throws if it could not (nothing is left done). */
export async function inject(planned: PlannedFault, aim: Aim, ctx: FaultContext): Promise<ActiveFault> {
  const nodes = aim.nodes;
  const injected = await injector(planned, nodes, ctx);
  const record: FaultRecord = {
    id: planned.id, kind: planned.kind, nodes, role: planned.role, injectedAtMs: Date.now(), healedAtMs: null,
    detail: `${aim.why}: ${injected.detail}`,
  };
  let healing: Promise<void> | null = null;
  return {
    record,
    heal: () => (healing ??= (async () => {
      record.healedAtMs = Date.now();
      await injected.heal();
    })()),
  };
}

interface Injected {
  readonly detail: string;
  heal(): Promise<void>;
}

function injector(planned: PlannedFault, nodes: readonly string[], ctx: FaultContext): Promise<Injected> {
  const node = nodes[0]!;
  switch (planned.kind) {
    case 'kill':
    case 'crash': return kill(node, ctx);
    case 'stop': return pause(node, ctx);
    case 'partition-minority':
    case 'partition-majority': return partition(nodes, true, ctx);
    case 'partition-one-way': return partition(nodes, false, ctx);
    case 'loss': return loss(node, planned, ctx);
    case 'disk-full': return fillDisk(node, ctx);
  }
}

async function kill(name: string, { lab }: FaultContext): Promise<Injected> {
  const pid = lab.pidOf(name);
  await lab.kill(name);
  return {
    detail: `kill -9 ${name} (pid ${pid}), started again from its data dir at heal`,
    heal: () => lab.start(name),
  };
}

async function pause(name: string, { lab, log }: FaultContext): Promise<Injected> {
  const root = lab.pidOf(name);
  if (root === null) throw new Error(`${name} is not running: nothing to pause`);
  // The node first, so it starts nothing new; then what runs under it, read again after.
  signal(root, 'SIGSTOP');
  const stopped = new Set([root]);
  for (let pass = 0; pass < 2; pass++) {
    for (const pid of treeOf(root, await parentTable())) {
      if (!stopped.has(pid)) {
        signal(pid, 'SIGSTOP');
        stopped.add(pid);
      }
    }
  }
  return {
    detail: `SIGSTOP to ${name} and its ${stopped.size - 1} child process(es), SIGCONT at heal`,
    heal: async () => {
      const all = new Set([...stopped, ...treeOf(root, await parentTable())]);
      for (const pid of [...all].reverse()) signal(pid, 'SIGCONT');
      log(`${name}: SIGCONT to ${all.size} process(es)`);
    },
  };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // gone: nothing to stop or wake
  }
}

/** pid -> parent pid of every process now (/proc). */
async function parentTable(): Promise<Map<number, number>> {
  const table = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null); // gone meanwhile
    const ppid = stat === null ? null : parentPidOfStat(stat);
    if (ppid !== null) table.set(pid, ppid);
  }
  return table;
}

/** Cuts `side` from the other nodes: both ways, or (one-way) only what `side` sends. */
async function partition(side: readonly string[], bothWays: boolean, { lab, net }: FaultContext): Promise<Injected> {
  if (net === null) throw new Error('partitions need network namespaces (run as root)');
  const rest = lab.names.filter((n) => !side.includes(n));
  const addr = (name: string): string => net.hosts.get(name)!.host;
  const routes: { readonly on: string; readonly to: string }[] = [];
  for (const s of side) {
    for (const r of rest) {
      routes.push({ on: s, to: addr(r) });
      if (bothWays) routes.push({ on: r, to: addr(s) });
    }
  }
  const added: typeof routes = [];
  const heal = async (): Promise<void> => {
    const results = await Promise.allSettled(added.map((r) => net.unblackhole(r.on, r.to)));
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    if (failed.length > 0) throw new Error(`healing the partition: ${failed.join('; ')}`);
  };
  // All at once, so the cut is as sudden as a switch failing.
  const results = await Promise.allSettled(routes.map(async (r) => {
    await net.blackhole(r.on, r.to);
    added.push(r);
  }));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await heal();
    throw new Error(`cutting the partition: ${String(failed.reason)}`);
  }
  const what = bothWays ? `${side.join('+')} | ${rest.join('+')}` : `${side[0]} -> ${rest.join('+')} dropped (the other way passes)`;
  return { detail: `blackhole routes (${routes.length}): ${what}`, heal };
}

async function loss(name: string, planned: PlannedFault, { net }: FaultContext): Promise<Injected> {
  if (net === null) throw new Error('emulated loss needs network namespaces (run as root)');
  const cuts = lossPattern(planned.lossSeed, planned.durationMs, planned.lossFraction);
  const link = net.linkSwitch();
  const timers: NodeJS.Timeout[] = [];
  for (const cut of cuts) {
    timers.push(setTimeout(() => link.set(name, false), cut.startMs));
    timers.push(setTimeout(() => link.set(name, true), cut.startMs + cut.lengthMs));
  }
  const cutMs = cuts.reduce((sum, c) => sum + c.lengthMs, 0);
  return {
    detail: `${name}'s link cut ${cuts.length} times for 50-300 ms (${cutMs} ms of ${planned.durationMs} ms, ${Math.round((100 * cutMs) / planned.durationMs)} %)`,
    heal: async () => {
      for (const t of timers) clearTimeout(t);
      link.set(name, true);
      const complaint = await link.close();
      // "already a member": the last cut had ended; anything else is a real failure.
      const unexpected = complaint.split('\n').filter((l) => l !== '' && !/Command failed|already|File exists/i.test(l));
      if (unexpected.length > 0) throw new Error(`link switch for ${name}: ${unexpected.join('; ')}`);
    },
  };
}

async function fillDisk(name: string, { lab }: FaultContext): Promise<Injected> {
  if (lab.options.mode !== 'netns') throw new Error('disk-full needs a tmpfs per node (run as root)');
  const dir = lab.dataDir(name);
  const file = join(dir, diskFillFile);
  const stats = await statfs(dir);
  const freeBytes = stats.bavail * stats.bsize;
  // tmpfs allocates whole pages; a few pages of metadata may be missing from bavail.
  let filled = 0;
  for (const slackBytes of [0, 64 * 1024, 1024 * 1024]) {
    if (await fallocate(file, freeBytes - slackBytes)) {
      filled = freeBytes - slackBytes;
      break;
    }
  }
  if (filled === 0) {
    await rm(file, { force: true });
    throw new Error(`could not fill ${dir} (${freeBytes} bytes free)`);
  }
  // What fallocate could not take (tmpfs rounds to pages), byte by byte up to ENOSPC.
  filled += await appendUntilFull(file);
  const left = await statfs(dir);
  return {
    detail: `${dir} filled with ${Math.round(filled / 2 ** 20)} MB (${left.bavail * left.bsize} bytes left), freed at heal`,
    heal: () => rm(file, { force: true }),
  };
}

/** Appends 4 KiB blocks, then single bytes, to `file` until the disk refuses; bytes written. */
async function appendUntilFull(file: string): Promise<number> {
  const handle = await open(file, 'a');
  let written = 0;
  try {
    for (const size of [4096, 1]) {
      const block = new Uint8Array(size);
      for (let i = 0; i < fillWritesMax; i++) {
        try {
          written += (await handle.write(block)).bytesWritten;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    await handle.close();
  }
  return written;
}

/** Bound on the writes of one appendUntilFull pass (a disk that never fills). */
const fillWritesMax = 100_000;

function fallocate(file: string, bytes: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('fallocate', ['-l', String(bytes), file], { timeout: 30_000 }, (err) => resolve(err === null));
  });
}
