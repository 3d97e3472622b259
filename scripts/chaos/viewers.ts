// ffmpeg viewers (stalls.ts says what is made of their records): each viewer watches one random
// channel through one random node's stable URL with `ffmpeg -c copy -f null -`, spawned with
// target.spawnClient so it runs where the nodes are reachable. Every segment ffmpeg opens is
// recorded. When its ffmpeg ends (the node died or refused) or stops getting playlists (none
// parsed for `hangMs`: a paused node accepts connections but answers nothing, and ffmpeg retries
// it for 15 s and more), or the balancer's health check takes its node out (GET /api/v1/ready
// failed twice in a row, a second apart: the node is fenced, paused or down), the viewer
// reconnects after `reconnectMs` to another node, as a player behind a load balancer would. A
// node that is ready but lists a frozen playlist (its gateway in touch with a quorum, the
// worker not yet replaced) keeps its viewers: their stalls last until the switch.
import type { ChildProcess } from 'node:child_process';

import { sleep } from './api-client.ts';
import { JsonlWriter, recordPath } from './records.ts';
import type { ViewerRecord } from './stalls.ts';
import type { ChaosNode, ChaosTarget, Observer } from './types.ts';

/** Delay before a viewer whose session ended connects again (a load balancer's retry). */
export const reconnectMs = 1_000;
/** The balancer's health check: GET /api/v1/ready every readyCheckMs (and as its timeout);
 *  readyFailuresMax failures in a row take the node out. */
export const readyCheckMs = 1_000;
const readyFailuresMax = 2;
/** ffmpeg reloads the playlist about once a target duration: none parsed for this many target
 *  durations (at least 6 s) means the node does not answer (a balancer's health check, e.g. 3
 *  failed checks a second apart plus the request's own timeout, would have taken it out). */
const hangTargetDurations = 3;
const hangMsMin = 6_000;
/** ffmpeg's I/O timeout for each HTTP request (-rw_timeout, in µs below). */
const ioTimeoutMs = 5_000;
/** Longest stderr line kept when it is not a segment. */
const stderrTailMax = 4_000;

const segmentOpen = /Opening '[^']*\/live\/[^/']+\/(\d+)\.ts(?:\?[^']*)?' for reading/;
/** ffmpeg 5.1's hls demuxer logs, at info level, every tag it skips while parsing a playlist:
 *  our playlists always carry EXT-X-VERSION, so each parsed playlist shows this line. */
const playlistParsed = "Skip ('#EXT-X-VERSION";

export function viewerArgs(url: string): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'info', '-rw_timeout', String(ioTimeoutMs * 1000), '-i', url, '-c', 'copy', '-f', 'null', '-'];
}

/** True for the line ffmpeg logs while parsing a playlist it was answered (see playlistParsed). */
export function playlistAnswered(line: string): boolean {
  return line.includes(playlistParsed);
}

/** The public number in one line of ffmpeg's log when it opens a segment; null otherwise. */
export function openedSegment(line: string): number | null {
  const m = segmentOpen.exec(line);
  return m === null ? null : Number(m[1]);
}

export function startViewers(target: ChaosTarget, outDir: string, count: number): Observer {
  const out = new JsonlWriter<ViewerRecord>(recordPath(outDir, 'viewers'));
  const stop = new AbortController();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(target.rng() * list.length)]!;

  const runViewer = async (viewer: number): Promise<void> => {
    const stream = pick(target.streamIds);
    let node = pick(target.nodes);
    for (let session = 0; !stop.signal.aborted; session++) {
      out.write({ type: 'session', viewer, session, node: node.name, stream, atMs: Date.now() });
      const hangMs = Math.max(hangMsMin, hangTargetDurations * target.segmentS * 1000);
      const why = await watch(target, node, stream, hangMs, stop.signal, (n) => out.write({ type: 'segment', viewer, session, n, atMs: Date.now() }));
      out.write({ type: 'end', viewer, session, atMs: Date.now(), why });
      if (stop.signal.aborted) return;
      await sleep(reconnectMs, stop.signal);
      const others = target.nodes.filter((n) => n !== node);
      node = others.length === 0 ? node : pick(others);
    }
  };

  const viewers = Array.from({ length: count }, (_, i) => runViewer(i).catch((err: unknown) => target.log(`viewer ${i} ended: ${(err as Error).message}`)));
  return {
    name: 'viewers',
    async stop() {
      stop.abort();
      await Promise.all(viewers);
      await out.close();
    },
  };
}

/** Runs one ffmpeg session until it exits, hangs or the viewers stop; says why it ended. */
function watch(target: ChaosTarget, node: ChaosNode, stream: string, hangMs: number, signal: AbortSignal, onSegment: (n: number) => void): Promise<string> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = target.spawnClient('ffmpeg', viewerArgs(`${node.httpUrl}/live/${stream}/index.m3u8`));
    } catch (err) {
      resolve(`could not start ffmpeg: ${(err as Error).message}`);
      return;
    }
    let partial = '';
    let lastLine = '';
    let ending: string | null = null;
    let heardMs = Date.now();
    child.stdout?.resume();
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = (lines.pop() ?? '').slice(-stderrTailMax);
      for (const line of lines) {
        const n = openedSegment(line);
        if (n !== null) {
          heardMs = Date.now();
          onSegment(n);
        } else if (playlistAnswered(line)) heardMs = Date.now();
        else if (line.trim() !== '' && !line.includes('Skip (')) lastLine = line.trim().slice(0, 200);
      }
    });
    const end = (why: string) => {
      if (ending !== null) return;
      ending = why;
      child.kill('SIGKILL');
    };
    const hangTimer = setInterval(() => {
      if (Date.now() - heardMs > hangMs) end(`no playlist answered for ${hangMs} ms (${lastLine})`);
    }, 500);
    let readyFailures = 0;
    const readyTimer = setInterval(() => {
      void readyProblem(node).then((problem) => {
        readyFailures = problem === null ? 0 : readyFailures + 1;
        if (readyFailures >= readyFailuresMax) end(`the balancer took ${node.name} out: /api/v1/ready ${problem}`);
      });
    }, readyCheckMs);
    const onAbort = () => end('observer stopped');
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => end(`ffmpeg: ${err.message}`));
    child.once('close', (code, sig) => {
      clearInterval(hangTimer);
      clearInterval(readyTimer);
      signal.removeEventListener('abort', onAbort);
      resolve(ending ?? `ffmpeg exited (${code ?? sig}): ${lastLine}`);
    });
  });
}

/** Null when the node answers ready; otherwise what went wrong. Never throws. */
async function readyProblem(node: ChaosNode): Promise<string | null> {
  try {
    const res = await fetch(`${node.httpUrl}/api/v1/ready`, { signal: AbortSignal.timeout(readyCheckMs) });
    await res.body?.cancel();
    return res.status === 200 ? null : `answered ${res.status}`;
  } catch (err) {
    return `did not answer (${(err as Error).message})`;
  }
}
