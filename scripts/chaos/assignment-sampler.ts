// Samples the committed assignments every `assignmentSampleMs` (GET /api/v1/streams is a
// read-index read: what it shows is committed) from whichever node answers, and writes an
// AssignmentRecord to assignments.jsonl whenever they changed. Node ids are written as names
// (GET /api/v1/cluster), so records compare with the process sampler's.
import { apiCall, repeatEvery } from './api-client.ts';
import type { AssignmentRecord, StreamAssignment } from './fencing.ts';
import { JsonlWriter, recordPath } from './records.ts';
import type { ChaosTarget, Observer } from './types.ts';

export const assignmentSampleMs = 500;
/** One node gets this long to answer before the next one is asked. */
const answerTimeoutMs = 2_000;
/** Ids are looked up again at most this often when an unknown one shows up. */
const namesRefreshMs = 5_000;

interface StreamView {
  readonly id: string;
  readonly status: string;
  readonly nodeId: string | null;
  readonly epoch: number | null;
  readonly standbyNodeId: string | null;
  readonly standbyEpoch?: number | null;
}

export function startAssignmentSampler(target: ChaosTarget, outDir: string): Observer {
  const out = new JsonlWriter<AssignmentRecord>(recordPath(outDir, 'assignments'));
  const stop = new AbortController();
  const names = new Map<string, string>();
  const ours = new Set(target.streamIds);
  let namesAtMs = -Infinity;
  let turn = 0;
  let lastKey = '';
  let lastAtMs: number | null = null;

  const get = (path: string, i: number) => apiCall({ baseUrl: target.nodes[i]!.httpUrl, token: target.apiToken, method: 'GET', path, timeoutMs: answerTimeoutMs, signal: stop.signal });
  const refreshNames = async (i: number): Promise<void> => {
    if (Date.now() - namesAtMs < namesRefreshMs) return;
    namesAtMs = Date.now();
    const a = await get('/api/v1/cluster', i);
    if (a.status !== 200) return;
    for (const n of (JSON.parse(a.body) as { nodes: { id: string; name: string }[] }).nodes) names.set(n.id, n.name);
  };
  const nameOf = (id: string | null) => (id === null ? null : names.get(id) ?? id);

  /** One sample, asking each node in turn (from the last that answered) until one does. */
  const round = async (): Promise<void> => {
    for (let tries = 0; tries < target.nodes.length && !stop.signal.aborted; tries++) {
      const i = turn % target.nodes.length;
      const a = await get('/api/v1/streams', i);
      if (a.status !== 200) {
        turn++;
        continue;
      }
      const views = (JSON.parse(a.body) as StreamView[]).filter((s) => ours.has(s.id));
      if (views.some((s) => (s.nodeId !== null && !names.has(s.nodeId)) || (s.standbyNodeId !== null && !names.has(s.standbyNodeId)))) await refreshNames(i);
      const streams: Record<string, StreamAssignment> = {};
      for (const s of views) streams[s.id] = { nodeId: nameOf(s.nodeId), epoch: s.epoch, standby: nameOf(s.standbyNodeId), standbyEpoch: s.standbyEpoch ?? null, status: s.status };
      const key = JSON.stringify(Object.entries(streams).sort(([x], [y]) => x.localeCompare(y)));
      if (key !== lastKey) {
        out.write({ atMs: a.endMs, prevAtMs: lastAtMs, via: target.nodes[i]!.name, streams });
        lastKey = key;
      }
      lastAtMs = a.endMs;
      return;
    }
  };

  const loop = repeatEvery(assignmentSampleMs, round, (err) => target.log(`assignments: ${err.message}`), stop.signal);

  return {
    name: 'assignments',
    async stop() {
      stop.abort();
      await loop;
      await out.close();
    },
  };
}
