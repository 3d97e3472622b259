// The cluster under test: N ottmesh node processes built through the CLI (init, token create,
// join), the voters the autopilot makes (votersTarget 5 with five nodes or more), a hot standby
// for every channel, and live sources made by ffmpeg that feed every channel's URL.
//
// Two modes:
// - netns (root): each node runs in a network namespace of its own on one bridge (NetnsLab,
//   test/cluster/netns.ts), with its data dir on a tmpfs of its own (256 MB), so that filling it
//   fills that node's disk only. This process runs on the lab's "client" host (run.ts starts it
//   there), which no fault ever cuts: sources, observers and viewers reach every node. The
//   tmpfs mounts are made in this process's own mount namespace (`ip netns exec` gives it one):
//   the nodes, started from here, see them, nothing outside does, and they vanish with it.
// - loopback: node processes on 127.0.0.1 and data dirs in /tmp (no partitions, loss or disk).
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LiveSource } from '../../test/cluster/live-source.ts';
import { loopback, ProcessCluster, waitFor } from '../../test/cluster/processes.ts';
import type { HttpAnswer, Place } from '../../test/cluster/processes.ts';
import { buildCluster, waitSettled } from '../../test/cluster/scenario.ts';
import { processAlive } from '../../test/cluster/netns.ts';
import type { NetnsLab } from '../../test/cluster/netns.ts';
import type { LiveView } from './schedule.ts';

/** Temp dirs of a run are `<tmp>/ottmesh-chaos-<pid>-XXXXXX`, pid the run's (outer) process:
 *  a crashed run's are found by its pid being gone (removeChaosLeftovers). */
export const tempPrefix = 'ottmesh-chaos-';
/** Each node's own disk (netns mode): roomy for its Raft log and 8 channels' segments (a few
 *  MB), small enough that filling it is instant. */
export const nodeDiskMb = 256;
/** A node started (or restarted) must print that it runs within this. */
const nodeUpTimeoutMs = 60_000;
const settleTimeoutMs = 90_000;
/** How long the channels may take to run, with their standbys, after they are created. */
const channelsUpTimeoutMs = 180_000;
const apiTimeoutMs = 3_000;
/** Channels share a few encoders (CPU is scarce: 2 cores for the whole lab). */
export const sourceEncoders = 2;

export interface StreamView {
  readonly id: string;
  readonly status: string;
  readonly nodeId: string | null;
  readonly standbyNodeId: string | null;
  readonly epoch: number | null;
}

/** A node process that exited when no fault killed it. */
export interface UnexpectedExit {
  readonly name: string;
  readonly atMs: number;
  readonly how: string;
  /** The last lines it printed. */
  readonly tail: string;
}

export interface LabOptions {
  readonly mode: 'netns' | 'loopback';
  readonly nodes: number;
  readonly channels: number;
  /** The pid temp dirs are named after (the outer process's in netns mode). */
  readonly runId: number;
  /** netns mode: the lab, attached (run.ts made it); this process runs on host 'client'. */
  readonly net: NetnsLab | null;
  readonly log: (line: string) => void;
}

export class ChaosLab {
  readonly options: LabOptions;
  readonly cluster: ProcessCluster;
  readonly names: readonly string[];
  readonly nodeIds = new Map<string, string>();
  readonly streamIds: string[] = [];
  readonly sources: LiveSource[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  admin = '';
  voters = 0;
  readonly #mounted: string[] = [];
  /** Nodes this process brought down on purpose (kill), or is bringing down (teardown). */
  readonly #downOnPurpose = new Set<string>();
  #tearingDown = false;

  private constructor(options: LabOptions, cluster: ProcessCluster) {
    this.options = options;
    this.cluster = cluster;
    this.names = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  }

  /** An empty lab (its temp dir only): hand it to the cleanup before build(). */
  static async create(options: LabOptions): Promise<ChaosLab> {
    return new ChaosLab(options, await ProcessCluster.create(`${tempPrefix}${options.runId}-`));
  }

  placeOf(name: string): Place {
    const net = this.options.net;
    return net === null ? loopback : { ...net.hosts.get(name)!, reachable: true };
  }

  /** The address sources listen on: the client host's, or loopback. */
  get clientAddress(): string {
    return this.options.net?.hosts.get('client')?.host ?? '127.0.0.1';
  }

  dataDir(name: string): string {
    return join(this.cluster.root, name);
  }

  /** Builds everything and waits until every channel runs with its standby. */
  async build(): Promise<void> {
    const log = this.options.log;
    if (this.options.mode === 'netns') for (const name of this.names) await this.#mountDisk(name);
    const built = await buildCluster(this.cluster, this.names, (name) => this.placeOf(name));
    for (const name of this.names) this.#watch(name);
    this.admin = built.admin;
    this.voters = this.names.length >= 5 ? 5 : 3;
    await this.#write('PATCH', '/api/v1/settings', { votersTarget: this.voters }, [200]);
    await waitSettled(this.cluster, built, this.voters, settleTimeoutMs);
    for (const name of this.names) this.nodeIds.set(name, (await this.cluster.health(name))!.nodeId);
    log(`cluster: ${this.names.length} nodes, ${this.voters} voters, admin token in ${this.dataDir('n1')}/admin-token`);
    // Every node measures the same machine's cpu here, so cpu says nothing about which node is
    // busier: a ceiling below 100 % would leave channels unplaced whenever other work on the
    // machine is busy, and spread placement follows the noise of the readings (seen: all 20
    // channels on one node). A cap on copies per node spreads them as separately measured
    // machines would, with room for every copy when one node is down.
    const copiesPerNodeMax = Math.ceil((2 * this.options.channels) / (this.names.length - 1));
    await this.#write('PUT', '/api/v1/policy', { policy: { hotStandby: true, cpuCeilPct: 100, maxStreamsPerNode: copiesPerNodeMax } }, [200]);
    for (let i = 0; i < sourceEncoders; i++) {
      const source = new LiveSource({ host: this.clientAddress });
      this.sources.push(source);
      await source.start();
    }
    for (let i = 1; i <= this.options.channels; i++) {
      const id = `ch${String(i).padStart(2, '0')}`;
      const url = `${this.sources[(i - 1) % this.sources.length]!.url}?channel=${id}`;
      await this.#write('POST', '/api/v1/streams', { id, name: `Channel ${i}`, sources: [{ url }], profile: 'copy' }, [201, 409]);
      this.streamIds.push(id);
    }
    const startedMs = performance.now();
    await waitFor(`all ${this.streamIds.length} channels running with a standby`, async () => {
      const streams = await this.streams();
      return streams !== null && streams.length === this.streamIds.length && streams.every((s) => s.status === 'running' && s.standbyNodeId !== null) ? true : null;
    }, channelsUpTimeoutMs, 1_000);
    const view = await this.view();
    const spread = this.names.map((n) => `${n} ${view.channelsByNode.get(n) ?? 0}`).join(', ');
    log(`channels: ${this.streamIds.length} running with hot standbys after ${Math.round((performance.now() - startedMs) / 1000)} s (${sourceEncoders} encoders on ${this.clientAddress}; active copies: ${spread}; at most ${copiesPerNodeMax} copies a node)`);
  }

  /** One API call with the admin token; null when no answer. */
  request(name: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT', path: string, body?: unknown, timeoutMs = apiTimeoutMs): Promise<HttpAnswer | null> {
    return this.cluster.request(name, method, path, { token: this.admin, ...(body === undefined ? {} : { body }), timeoutMs });
  }

  /** A write through the nodes in turn until one answers with one of `ok` (a leader being
   *  elected answers 503). */
  async #write(method: 'POST' | 'PATCH' | 'PUT', path: string, body: unknown, ok: readonly number[]): Promise<HttpAnswer> {
    let turn = 0;
    let last = 'no answer';
    try {
      return await waitFor(`${method} ${path}`, async () => {
        const res = await this.request(this.names[turn++ % this.names.length]!, method, path, body);
        if (res !== null) last = `${res.status} ${res.body.slice(0, 300)}`;
        return res !== null && ok.includes(res.status) ? res : null;
      }, 60_000, 250);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last answer: ${last}`, { cause: err });
    }
  }

  /** Every channel as the first answering node sees it, or null when none answers. */
  async streams(): Promise<StreamView[] | null> {
    for (const name of this.names) {
      if (this.pidOf(name) === null) continue;
      const res = await this.request(name, 'GET', '/api/v1/streams', undefined, 2_000);
      if (res?.status === 200) return JSON.parse(res.body) as StreamView[];
    }
    return null;
  }

  /** The leader (the highest term among the nodes that say they lead) and where channels run. */
  async view(): Promise<LiveView> {
    const healths = await Promise.all(this.names.map(async (name) => ({ name, health: this.pidOf(name) === null ? null : await this.cluster.health(name) })));
    let leader: string | null = null;
    let term = -1;
    for (const { name, health } of healths) {
      if (health?.role === 'leader' && health.term > term) {
        leader = name;
        term = health.term;
      }
    }
    const nameOf = new Map([...this.nodeIds].map(([name, id]) => [id, name]));
    const channelsByNode = new Map<string, number>();
    for (const s of (await this.streams()) ?? []) {
      const name = s.nodeId === null ? undefined : nameOf.get(s.nodeId);
      if (name !== undefined) channelsByNode.set(name, (channelsByNode.get(name) ?? 0) + 1);
    }
    return { names: this.names, leader, channelsByNode };
  }

  /** How many channels run now (null: no node answered). */
  async runningCount(): Promise<number | null> {
    const streams = await this.streams();
    return streams === null ? null : streams.filter((s) => s.status === 'running').length;
  }

  /** The node process's pid while it runs, else null. */
  pidOf(name: string): number | null {
    const child = this.cluster.nodes.get(name)?.child;
    return child === undefined || child.exitCode !== null || child.signalCode !== null ? null : child.pid ?? null;
  }

  /** kill -9, and wait until it is gone (its ffmpeg children die with it: pdeathsig). */
  async kill(name: string): Promise<void> {
    this.#downOnPurpose.add(name);
    await this.cluster.kill(name, 'SIGKILL');
  }

  /** `ottmesh start` from its data dir; waits until it says it runs (throws if it does not). */
  async start(name: string): Promise<void> {
    this.#downOnPurpose.delete(name);
    await this.cluster.restart(name);
    this.#watch(name);
    await this.cluster.waitPrinted(name, /node \S+ \(\S+\) running/, nodeUpTimeoutMs);
  }

  /** Starts again every node that exited on its own (a service manager would), except `except`. */
  async restartCrashed(except: ReadonlySet<string> = new Set()): Promise<string[]> {
    const started: string[] = [];
    for (const name of this.names) {
      if (except.has(name) || this.#downOnPurpose.has(name) || this.pidOf(name) !== null) continue;
      this.options.log(`${name} is down (it exited on its own): starting it again`);
      await this.start(name);
      started.push(name);
    }
    return started;
  }

  /** Records a node's exit when nothing here caused it. */
  #watch(name: string): void {
    const node = this.cluster.nodes.get(name)!;
    node.child.once('exit', (code, signal) => {
      if (this.#tearingDown || this.#downOnPurpose.has(name)) return;
      const how = signal !== null ? `killed by ${signal}` : `exit ${code}`;
      const tail = node.output.split('\n').slice(-15).join('\n');
      this.unexpectedExits.push({ name, atMs: Date.now(), how, tail });
      this.options.log(`${name} exited on its own (${how}); its last lines:\n${tail}`);
    });
  }

  async #mountDisk(name: string): Promise<void> {
    const dir = this.dataDir(name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await run('mount', ['-t', 'tmpfs', '-o', `size=${nodeDiskMb}m,mode=0700`, 'tmpfs', dir]);
    this.#mounted.push(dir);
  }

  /** From now on node exits are not counted as unexpected: the run is ending (Ctrl-C reaches
   *  the nodes too, they share the terminal's process group). */
  stopWatching(): void {
    this.#tearingDown = true;
  }

  /** Everything every node printed (the cluster's transcript) into `path`. */
  async saveTranscript(path: string): Promise<void> {
    await writeFile(path, `${this.cluster.transcript()}\n`);
  }

  /** Stops sources and nodes, unmounts the disks, removes the temp dir. Safe to call after a
   *  failed or partial build; errors are collected and thrown at the end. */
  async teardown(): Promise<void> {
    this.stopWatching();
    const errors: string[] = [];
    for (const source of this.sources) await source.close().catch((err: unknown) => errors.push(`source: ${(err as Error).message}`));
    // SIGKILL ends a stopped (SIGSTOP) node too; its ffmpeg children go with it (pdeathsig).
    await Promise.all([...this.cluster.nodes.keys()].map((name) => this.cluster.kill(name, 'SIGKILL')));
    for (const dir of this.#mounted.splice(0)) {
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir])).catch((err: unknown) => errors.push((err as Error).message));
    }
    await this.cluster.stop().catch((err: unknown) => errors.push(`removing ${this.cluster.root}: ${(err as Error).message}`));
    if (errors.length > 0) throw new Error(`chaos lab teardown: ${errors.join('; ')}`);
  }
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Removes what crashed earlier runs left (their pid is gone): node and ffmpeg processes still
 *  running from their temp dirs, mounts under them, the dirs. What it removed. */
export async function removeChaosLeftovers(): Promise<string[]> {
  const root = tmpdir();
  const stale = (await readdir(root)).filter((entry) => {
    if (!entry.startsWith(tempPrefix)) return false;
    const pid = Number(entry.slice(tempPrefix.length).split('-')[0]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
  }).map((entry) => join(root, entry));
  if (stale.length === 0) return [];
  for (const pid of (await readdir('/proc')).map(Number).filter((p) => Number.isInteger(p) && p > 0 && p !== process.pid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (stale.some((dir) => cmdline.includes(`${dir}/`))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '');
  for (const mount of mounts.filter((m) => stale.some((dir) => m.startsWith(`${dir}/`))).reverse()) await run('umount', ['-l', mount]);
  for (const dir of stale) await rm(dir, { recursive: true, force: true });
  return stale;
}
