// Runs the chaos checkers again over a saved run's records, without a cluster:
//   node scripts/chaos/recheck.ts DIR [--segment-s 2] [--fence-after-ms 3000]
// (after changing a checker, or to look at a failing run again). The faults come from the run's
// faults.jsonl (the last record of each fault), its start from report.json, the nodes from the
// final reads and the channels from the final state. Prints the results as JSON; exit code 1
// when a check fails, 2 for bad arguments.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { checkRecords } from './checks.ts';
import type { FinalRead } from './history.ts';
import { readJsonl, recordPath } from './records.ts';
import type { FinalChannelState } from './recovery.ts';
import type { FaultRecord } from './types.ts';

const usage = 'usage: node scripts/chaos/recheck.ts DIR [--segment-s 2] [--fence-after-ms 3000]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'segment-s': { type: 'string', default: '2' }, 'fence-after-ms': { type: 'string', default: '3000' } } });
  const dir = positionals[0];
  const segmentS = Number(values['segment-s']);
  const fenceAfterMs = Number(values['fence-after-ms']);
  if (dir === undefined || positionals.length > 1 || !(segmentS > 0) || !(fenceAfterMs > 0)) {
    console.error(usage);
    return 2;
  }
  const byId = new Map<number, FaultRecord>();
  for (const f of await readJsonl<FaultRecord>(join(dir, 'faults.jsonl'))) byId.set(f.id, f);
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8').catch(() => '{}')) as { started_at?: string };
  const ops = await readJsonl<{ startMs: number }>(recordPath(dir, 'writes'));
  const startedAtMs = report.started_at !== undefined ? Date.parse(report.started_at) : (ops[0]?.startMs ?? 0);
  const nodes = (await readJsonl<FinalRead>(recordPath(dir, 'finalReads'))).map((f) => f.node);
  const streamIds = (JSON.parse(await readFile(join(dir, 'final-state.json'), 'utf8')) as FinalChannelState[]).map((c) => c.stream);
  const results = await checkRecords(dir, [...byId.values()], { startedAtMs, nodes, streamIds, segmentS, fenceAfterMs });
  console.log(JSON.stringify(results, null, 1));
  return results.every((r) => r.ok) ? 0 : 1;
}

process.exitCode = await main();
