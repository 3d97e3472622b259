// Samples this machine's channel ffmpeg processes every `everyMs` from /proc (fencing.ts says
// what for) and writes a ProcessRecord to processes.jsonl whenever the set, or a process's
// running state, changed. /proc is shared by every network namespace here, so one sampler sees
// every node's processes.
//
// Cost: one readdir of /proc a round; a command line is read once per new pid (pids that are
// young are read again until they are a second old: a node's child shows the node's own command
// line between fork and exec); a stat is read per channel process a round. Pids that left /proc
// are forgotten, so a reused pid is read afresh.
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { repeatEvery } from './api-client.ts';
import { channelOf, isRunningState, parseStat } from './fencing.ts';
import type { ChannelProcess, ProcessRecord } from './fencing.ts';
import { JsonlWriter, recordPath } from './records.ts';
import type { ChaosTarget, Observer } from './types.ts';

/** How often processes are sampled (the fencing bound's slack counts two of these). */
export const processSampleMs = 250;
/** A process whose command line is not a channel's is read again until it is this old. */
const execSettleMs = 1_000;

interface Known {
  readonly channel: { node: string; stream: string; epoch: number } | null;
  readonly firstSeenMs: number;
}

export function startProcessSampler(target: ChaosTarget, outDir: string): Observer {
  const out = new JsonlWriter<ProcessRecord>(recordPath(outDir, 'processes'));
  const dataDirs = new Map(target.nodes.map((n) => [resolve(n.dataDir), n.name]));
  const known = new Map<number, Known>();
  const stop = new AbortController();
  let lastKey = '';
  let lastAtMs: number | null = null;
  let last: readonly ChannelProcess[] = [];

  const round = async (): Promise<void> => {
    const nowMs = Date.now();
    const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
    const alive = new Set(pids);
    for (const pid of known.keys()) if (!alive.has(pid)) known.delete(pid);
    const procs: ChannelProcess[] = [];
    await Promise.all(pids.map(async (pid) => {
      let k = known.get(pid);
      if (k === undefined || (k.channel === null && nowMs - k.firstSeenMs < execSettleMs)) {
        const argv = await readText(`/proc/${pid}/cmdline`);
        if (argv === null) return;
        k = { channel: channelOf(argv.split('\0').filter((a) => a !== ''), dataDirs), firstSeenMs: k?.firstSeenMs ?? nowMs };
        known.set(pid, k);
      }
      if (k.channel === null) return;
      const stat = await readText(`/proc/${pid}/stat`);
      const parsed = stat === null ? null : parseStat(stat);
      if (parsed === null) return; // it just ended
      procs.push({ pid, startTicks: parsed.startTicks, ...k.channel, running: isRunningState(parsed.state) });
    }));
    procs.sort((a, b) => a.pid - b.pid);
    const key = procs.map((p) => `${p.pid}:${p.startTicks}:${p.running}`).join(',');
    if (key !== lastKey) {
      out.write({ atMs: nowMs, prevAtMs: lastAtMs, procs });
      lastKey = key;
    }
    lastAtMs = nowMs;
    last = procs;
  };

  const loop = repeatEvery(processSampleMs, round, (err) => target.log(`processes: ${err.message}`), stop.signal);

  return {
    name: 'processes',
    async stop() {
      stop.abort();
      await loop;
      // Closes the last state's interval: it lasted until the last sample.
      if (lastAtMs !== null) out.write({ atMs: lastAtMs, prevAtMs: lastAtMs, procs: last });
      await out.close();
    },
  };
}

/** A /proc file's text, or null when the process is gone (or not readable). */
async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null; // ENOENT/ESRCH: the process ended between readdir and this read
  }
}
