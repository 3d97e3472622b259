// Debian's etcd (etcd-server 3.4) as the yardstick: three members on loopback with default
// timeouts, driven through its JSON gateway (/v3/...) with fetch, the same client method the
// ottmesh benchmarks use against ottmesh's REST API.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/cluster/processes.ts';

export function etcdInstalled(): string | null {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

interface Member { name: string; clientUrl: string; peerUrl: string; child: ChildProcess | null }

export class EtcdCluster {
  readonly members: Member[];
  readonly #root: string;

  private constructor(root: string, members: Member[]) {
    this.#root = root;
    this.members = members;
  }

  static async start(size = 3): Promise<EtcdCluster> {
    const root = await mkdtemp(join(tmpdir(), 'ottmesh-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ name: `e${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`, child: null });
    }
    const cluster = new EtcdCluster(root, members);
    for (let i = 0; i < size; i++) cluster.#spawn(i, 'new');
    await cluster.waitForLeader(15_000);
    return cluster;
  }

  /** The member processes' pids (the bench pauses and accounts them). */
  pids(): number[] {
    return this.members.flatMap((m) => m.child?.pid ?? []);
  }

  #spawn(i: number, state: 'new' | 'existing'): void {
    const m = this.members[i]!;
    const initial = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    m.child = spawn('etcd', [
      '--name', m.name, '--data-dir', join(this.#root, m.name),
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initial, '--initial-cluster-state', state, '--log-level', 'error',
    ], { stdio: 'ignore' });
  }

  async #post(i: number, path: string, body: unknown, timeoutMs: number): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.members[i]!.clientUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok || 'error' in json) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** A put through member i; resolves when committed. */
  async put(i: number, key: string, value: string, timeoutMs = 5000): Promise<void> {
    await this.#post(i, '/v3/kv/put', { key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }, timeoutMs);
  }

  /** Index of the leader member, asking any live member. */
  async leader(): Promise<number | null> {
    for (let i = 0; i < this.members.length; i++) {
      if (this.members[i]!.child === null) continue;
      try {
        const status = await this.#post(i, '/v3/maintenance/status', {}, 1000);
        const leaderId = status['leader'] as string;
        for (let j = 0; j < this.members.length; j++) {
          if (this.members[j]!.child === null) continue;
          const s = await this.#post(j, '/v3/maintenance/status', {}, 1000);
          if ((s['header'] as { member_id: string }).member_id === leaderId) return j;
        }
      } catch {
        // This member is not answering: ask the next one.
      }
    }
    return null;
  }

  async waitForLeader(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const l = await this.leader();
      if (l !== null) return l;
      if (performance.now() > deadline) throw new Error('etcd elected no leader');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async kill(i: number): Promise<void> {
    const child = this.members[i]!.child;
    if (!child) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    this.members[i]!.child = null;
  }

  /** Restart a killed member with its data. */
  restart(i: number): void {
    this.#spawn(i, 'existing');
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.kill(i);
    await rm(this.#root, { recursive: true, force: true });
  }
}
