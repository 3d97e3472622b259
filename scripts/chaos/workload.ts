// The write workload (history.ts says what it checks): a few sequential client loops, each
// sending one request at a time to a random node (so most writes are forwarded to the leader),
// recording every request and its answer in writes.jsonl; and, after the run, one consistent
// read of every node (final-reads.jsonl).
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { apiCall, sleep } from './api-client.ts';
import { outcomeOf, registerValue } from './history.ts';
import type { FinalRead, OpRecord } from './history.ts';
import { JsonlWriter, recordPath } from './records.ts';
import type { ChaosNode, ChaosTarget, Observer } from './types.ts';

export interface WorkloadInit {
  /** Client loops, each with its own register (default 4). */
  readonly loops?: number;
  /** Pause between one answer and the next request of a loop, drawn in [min, max] (default
   *  100-400 ms: about 3 requests a second per loop, light next to 20 channels on 2 cores). */
  readonly thinkMsMin?: number;
  readonly thinkMsMax?: number;
  /** A write without an answer by then is indeterminate. Above the API's own write timeout
   *  (node/runtime.ts apiWriteTimeoutMs, 10 s), so the API's verdict arrives when it has one. */
  readonly writeTimeoutMs?: number;
  readonly readTimeoutMs?: number;
}

const defaults = { loops: 4, thinkMsMin: 100, thinkMsMax: 400, writeTimeoutMs: 12_000, readTimeoutMs: 5_000 };
/** Share of each kind of request (the rest are reads). */
const createShare = 0.3;
const writeShare = 0.35;
/** Retry pause while a loop sets its register up. */
const setupRetryMs = 500;

/** What finalCheck needs to find this run's objects among others. */
interface WorkloadMeta {
  readonly prefix: string;
  readonly registers: readonly string[];
}
const metaFile = 'workload.json';

export function registerId(prefix: string, loop: number): string {
  return `${prefix}r${loop}`;
}

export function registerName(id: string, value: number): string {
  return `chaos register ${id} v${value}`;
}

export async function startWorkload(target: ChaosTarget, outDir: string, init: WorkloadInit = {}): Promise<Observer> {
  const o = { ...defaults, ...init };
  // Lower-case base-36 time: ids are slugs, and a second run against the same cluster gets
  // objects of its own.
  const prefix = `chaos-${Date.now().toString(36)}-`;
  const registers = Array.from({ length: o.loops }, (_, i) => registerId(prefix, i));
  await writeFile(join(outDir, metaFile), JSON.stringify({ prefix, registers } satisfies WorkloadMeta));
  const out = new JsonlWriter<OpRecord>(recordPath(outDir, 'writes'));
  const stop = new AbortController();
  const ready = new Set<string>();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(target.rng() * list.length)]!;

  const record = (loop: number, op: OpRecord['op'], key: string, value: number | null, node: ChaosNode, a: Awaited<ReturnType<typeof apiCall>>, outcome = outcomeOf(a.status, a.retryAfter)) => {
    const rec: OpRecord = { loop, op, key, value, node: node.name, startMs: a.startMs, endMs: a.endMs, outcome, status: a.status, detail: a.detail };
    out.write(rec);
    return rec;
  };
  const call = (node: ChaosNode, method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, timeoutMs: number) =>
    apiCall({ baseUrl: node.httpUrl, token: target.apiToken, method, path, timeoutMs, signal: stop.signal, ...(body === undefined ? {} : { body }) });

  /** Creates the loop's register at v0; true once it exists (created, or found created by an
   *  earlier attempt whose answer was lost). */
  const setUp = async (loop: number, id: string): Promise<boolean> => {
    while (!stop.signal.aborted) {
      const node = pick(target.nodes);
      const a = await call(node, 'POST', '/api/v1/services', { id, name: registerName(id, 0) }, o.writeTimeoutMs);
      const rec = record(loop, 'write', id, 0, node, a);
      if (rec.outcome === 'ok' || a.status === 409) return true;
      await sleep(setupRetryMs, stop.signal);
    }
    return false;
  };

  const runLoop = async (loop: number): Promise<void> => {
    const id = registers[loop]!;
    if (!(await setUp(loop, id))) return;
    ready.add(id);
    let value = 0;
    let created = 0;
    while (!stop.signal.aborted) {
      const node = pick(target.nodes);
      const dice = target.rng();
      if (dice < createShare) {
        const name = `${prefix}g${loop}-${created++}`;
        record(loop, 'create', name, null, node, await call(node, 'POST', '/api/v1/groups', { name, priority: 0 }, o.writeTimeoutMs));
      } else if (dice < createShare + writeShare) {
        value++;
        record(loop, 'write', id, value, node, await call(node, 'PATCH', `/api/v1/services/${id}`, { name: registerName(id, value) }, o.writeTimeoutMs));
      } else {
        const key = pick([...ready]);
        const a = await call(node, 'GET', `/api/v1/services/${key}`, undefined, o.readTimeoutMs);
        // 404 after a read-index read: the register is absent (a stale read, for the checker).
        const read = a.status === 200 ? nameValue(a.body) : null;
        const outcome = a.status === 404 ? 'ok' : a.status === 200 && read === null ? 'unknown' : outcomeOf(a.status, a.retryAfter);
        record(loop, 'read', key, read, node, a, outcome);
      }
      await sleep(o.thinkMsMin + target.rng() * (o.thinkMsMax - o.thinkMsMin), stop.signal);
    }
  };

  const loops = Array.from({ length: o.loops }, (_, i) => runLoop(i).catch((err: unknown) => target.log(`writes: loop ${i} ended: ${(err as Error).message}`)));
  return {
    name: 'writes',
    async stop() {
      // Requests under way are aborted and recorded as indeterminate: that is what they are.
      stop.abort();
      await Promise.all(loops);
      await out.close();
    },
  };
}

/** The register value in a service's JSON; null when the body is not one (then the read is
 *  recorded as indeterminate rather than as a value). */
function nameValue(body: string): number | null {
  try {
    const name = (JSON.parse(body) as { name?: unknown }).name;
    return typeof name === 'string' ? registerValue(name) : null;
  } catch {
    return null; // a body cut short: the caller records the read as indeterminate
  }
}

/** Bound on how long the final reads wait for one node. */
export const finalReadTimeoutMs = 60_000;
const finalReadRetryMs = 1_000;

/** One consistent read of every node (groups and services; both are read-index reads), each
 *  retried until it answers or `finalReadTimeoutMs` passed; written to final-reads.jsonl. */
export async function finalReads(target: ChaosTarget, outDir: string): Promise<FinalRead[]> {
  const meta = JSON.parse(await readFile(join(outDir, metaFile), 'utf8')) as WorkloadMeta;
  const reads = await Promise.all(target.nodes.map((node) => finalReadOf(target, node, meta)));
  const out = new JsonlWriter<FinalRead>(recordPath(outDir, 'finalReads'));
  for (const r of reads) out.write(r);
  await out.close();
  return reads;
}

async function finalReadOf(target: ChaosTarget, node: ChaosNode, meta: WorkloadMeta): Promise<FinalRead> {
  const deadline = Date.now() + finalReadTimeoutMs;
  let error = 'no attempt';
  while (Date.now() < deadline) {
    const get = (path: string) => apiCall({ baseUrl: node.httpUrl, token: target.apiToken, method: 'GET', path, timeoutMs: 10_000 });
    const [groups, services] = await Promise.all([get('/api/v1/groups'), get('/api/v1/services')]);
    if (groups.status === 200 && services.status === 200) {
      const ours = new Set(meta.registers);
      const registers: Record<string, number | null> = Object.fromEntries(meta.registers.map((id) => [id, null]));
      for (const s of JSON.parse(services.body) as { id: string; name: string }[]) if (ours.has(s.id)) registers[s.id] = registerValue(s.name);
      const names = (JSON.parse(groups.body) as { name: string }[]).map((g) => g.name).filter((n) => n.startsWith(meta.prefix));
      return { node: node.name, atMs: Date.now(), groups: names, registers, error: null };
    }
    error = `groups: ${groups.status ?? groups.detail}, services: ${services.status ?? services.detail}`;
    await sleep(finalReadRetryMs);
  }
  return { node: node.name, atMs: Date.now(), groups: null, registers: null, error };
}
