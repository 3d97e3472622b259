// The chaos checks' two entry points, called by the harness (run.ts):
// - startObservers: the write workload, the process and assignment samplers, the gateway
//   watchers and the ffmpeg viewers, each writing JSONL records into the run's directory;
// - finalCheck: after the observers stopped and the faults healed, one consistent read of every
//   node and a probe of every channel at every node, then the pure checkers over the records.
// The bounds each check applies are named here.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { apiCall, sleep } from './api-client.ts';
import { startAssignmentSampler } from './assignment-sampler.ts';
import { checkFencing, fencingBoundMs } from './fencing.ts';
import type { AssignmentRecord, ProcessRecord } from './fencing.ts';
import { startGatewayWatchers } from './gateway-watchers.ts';
import { checkGateways } from './gateways.ts';
import type { GatewayRecord, ListingRecord, SegmentRecord } from './gateways.ts';
import { checkHistory } from './history.ts';
import type { FinalRead, OpRecord } from './history.ts';
import { processSampleMs, startProcessSampler } from './proc-sampler.ts';
import { readJsonl, recordPath } from './records.ts';
import { checkRecovery } from './recovery.ts';
import type { FinalChannelState } from './recovery.ts';
import { checkStalls } from './stalls.ts';
import type { ViewerRecord } from './stalls.ts';
import type { ChaosTarget, CheckResult, FaultRecord, Observer } from './types.ts';
import { startViewers } from './viewers.ts';
import { finalReads, startWorkload } from './workload.ts';

/** Every channel runs again, with a new segment at every node, this long after a fault heals.
 *  docs/streams.md: a dead worker's channel is back at the stable URL 3-4 s after the kill with
 *  a hot standby, 6-9 s without; a healed partition adds an election (1-2 s) and a killed node
 *  restarted from sources takes 5-15 s on two busy cores before its gateway lists again. 30 s
 *  is an outage an operator would accept after a failure; more is a bug to look at. */
export const recoveryBoundMs = 30_000;
/** Stalls of viewers on a node that a fault did not hit: p99 at most this (the target). */
export const workerStallP99MsMax = 3_000;
/** A stall this soon after a fault healed is still put down to that fault (its consequences). */
export const stallAftermathMs = recoveryBoundMs;

export async function startObservers(target: ChaosTarget, outDir: string): Promise<Observer[]> {
  const observers: Observer[] = [];
  try {
    observers.push(startProcessSampler(target, outDir));
    observers.push(startAssignmentSampler(target, outDir));
    observers.push(await startGatewayWatchers(target, outDir));
    observers.push(startViewers(target, outDir, target.viewers));
    observers.push(await startWorkload(target, outDir));
  } catch (err) {
    await Promise.all(observers.map((o) => o.stop()));
    throw err;
  }
  return observers;
}

export async function finalCheck(target: ChaosTarget, faults: readonly FaultRecord[], outDir: string, startedAtMs: number): Promise<CheckResult[]> {
  const [, finalState] = await Promise.all([finalReads(target, outDir), probeChannels(target)]);
  await writeFile(join(outDir, finalStateFile), `${JSON.stringify(finalState, null, 1)}\n`);
  return checkRecords(outDir, faults, {
    startedAtMs, nodes: target.nodes.map((n) => n.name), streamIds: target.streamIds, segmentS: target.segmentS, fenceAfterMs: target.fenceAfterMs,
  });
}

/** What the checkers need to know about the run besides its records. */
export interface RunFacts {
  readonly startedAtMs: number;
  readonly nodes: readonly string[];
  readonly streamIds: readonly string[];
  readonly segmentS: number;
  readonly fenceAfterMs: number;
}

const finalStateFile = 'final-state.json';

/** The pure checkers over a run's records (also for a saved run: scripts/chaos/recheck.ts). */
export async function checkRecords(outDir: string, faults: readonly FaultRecord[], run: RunFacts): Promise<CheckResult[]> {
  const ops = await readJsonl<OpRecord>(recordPath(outDir, 'writes'));
  const finals = await readJsonl<FinalRead>(recordPath(outDir, 'finalReads'));
  const finalState = JSON.parse(await readFile(join(outDir, finalStateFile), 'utf8')) as FinalChannelState[];
  const processes = await readJsonl<ProcessRecord>(recordPath(outDir, 'processes'));
  const assignments = await readJsonl<AssignmentRecord>(recordPath(outDir, 'assignments'));
  const gateway = await readJsonl<GatewayRecord>(recordPath(outDir, 'listings'));
  const segments = await readJsonl<SegmentRecord>(recordPath(outDir, 'segments'));
  const viewers = await readJsonl<ViewerRecord>(recordPath(outDir, 'viewers'));
  const listings = gateway.filter((r): r is ListingRecord => r.type === 'listing');
  const durations = new Map(segments.map((s) => [`${s.stream} ${s.n}`, s.durationS]));
  const recordsEndMs = Math.max(0, ...listings.map((l) => l.atMs), ...assignments.map((a) => a.atMs));
  const { startedAtMs } = run;
  return [
    checkHistory(ops, finals, startedAtMs),
    checkFencing(processes, assignments, { boundMs: fencingBoundMs(run.fenceAfterMs, processSampleMs), startedAtMs }),
    checkRecovery(faults, assignments, listings, finalState, { startedAtMs, boundMs: recoveryBoundMs, nodes: run.nodes, streams: run.streamIds, recordsEndMs }),
    checkGateways(gateway, segments, startedAtMs, faults),
    checkStalls(viewers, durations, faults, { startedAtMs, segmentS: run.segmentS, aftermathMs: stallAftermathMs, workerP99MsMax: workerStallP99MsMax }),
  ];
}

/** The final state of every channel: its committed status, and whether every node's stable URL
 *  lists a newer segment after two segment durations (and a second of slack). */
async function probeChannels(target: ChaosTarget): Promise<FinalChannelState[]> {
  const newest = async () => {
    const out = new Map<string, number>();
    await Promise.all(target.nodes.flatMap((node) => target.streamIds.map(async (stream) => {
      const res = await fetch(`${node.httpUrl}/live/${stream}/index.m3u8`, { signal: AbortSignal.timeout(3_000) }).catch(() => null);
      const text = res?.status === 200 ? await res.text().catch(() => '') : '';
      const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? NaN);
      const count = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
      out.set(`${node.name} ${stream}`, Number.isFinite(seq) ? seq + count - 1 : -1);
    })));
    return out;
  };
  const before = await newest();
  await sleep(2 * target.segmentS * 1000 + 1000);
  const after = await newest();
  let statuses: Map<string, string> | null = null;
  for (const node of target.nodes) {
    const a = await apiCall({ baseUrl: node.httpUrl, token: target.apiToken, method: 'GET', path: '/api/v1/streams', timeoutMs: 5_000 });
    if (a.status !== 200) continue;
    statuses = new Map((JSON.parse(a.body) as { id: string; status: string }[]).map((s) => [s.id, s.status]));
    break;
  }
  return target.streamIds.map((stream) => ({
    stream,
    status: statuses?.get(stream) ?? null,
    notAdvancing: target.nodes.filter((n) => (after.get(`${n.name} ${stream}`) ?? -1) <= (before.get(`${n.name} ${stream}`) ?? -1)).map((n) => n.name),
  }));
}
