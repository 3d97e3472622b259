// The gateway with real ffmpeg: a "worker" ffmpeg writes HLS (lavfi testsrc2, 1 s segments) into
// <streamsRoot>/<stream>/<epoch>/, the worker's internal route serves it, and a gateway on another
// fastify instance polls it and serves /live. Then a switch as the leader makes it: a second
// ffmpeg writes the next epoch, the old epoch is sealed, the switch commits base = last + 1, the
// first ffmpeg dies. The public numbering must continue at exactly last + 1 with DISCONTINUITY,
// and an ffmpeg client reading the stable URL must keep running across it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { HlsPoller } from '../../node/hls/poller.ts';
import { SegmentCache } from '../../node/hls/segment-cache.ts';
import { FakeCluster, hlsApp, internalToken, tempDir, waitFor } from './helpers.ts';

const stream = 'e2e';
const processes: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A worker's ffmpeg for one epoch, with the flags node/supervisor uses for HLS. */
function workerFfmpeg(dir: string): ChildProcess {
  mkdirSync(dir, { recursive: true }); // the supervisor makes the epoch's directory
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6',
    '-hls_flags', 'delete_segments+independent_segments+temp_file+omit_endlist+program_date_time',
    '-hls_segment_filename', `${dir}/seg-%d.ts`, '-start_number', '0', `${dir}/index.m3u8`,
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  processes.push(child);
  return child;
}

/** An ffmpeg client playing the URL; `frames()` is what it has read so far. */
function client(url: string): { child: ChildProcess; frames: () => number; stderr: () => string } {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', url, '-c', 'copy', '-f', 'null', '-', '-progress', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(child);
  let frames = 0;
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    for (const match of text.matchAll(/^frame=(\d+)$/gm)) frames = Number(match[1]);
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    err = (err + text).slice(-4000);
  });
  return { child, frames: () => frames, stderr: () => err };
}

test('real ffmpeg: numbers start at base, a switch continues at last + 1 with DISCONTINUITY, a client plays on', { timeout: 50_000 }, async () => {
  const root = await tempDir('ottmesh-hls-e2e-');
  cleanups.push(root.remove);
  const cluster = new FakeCluster('w');
  const worker = await hlsApp({ source: { stream: () => null, timeline: () => null, originUrl: () => null }, cache: new SegmentCache(), streamsRoot: root.path, internalToken: () => internalToken });
  cleanups.push(() => worker.close());
  cluster.urls.set('w', await worker.listen({ host: '127.0.0.1', port: 0 }));

  const view = new FakeCluster('gw1', cluster);
  const cache = new SegmentCache({ bytesMax: 64 << 20 });
  let sealApplied = false;
  const poller = new HlsPoller({ cluster: view, cache, internalToken: () => internalToken, isFenced: () => false, onSealApplied: () => { sealApplied = true; }, logger: { warn: () => undefined } }, { pollIntervalMs: 100 });
  cleanups.push(() => poller.stop());
  const gateway = await hlsApp({ source: poller, cache, streamsRoot: join(root.path, 'none'), internalToken: () => internalToken });
  cleanups.push(() => gateway.close());
  const gatewayUrl = await gateway.listen({ host: '127.0.0.1', port: 0 });
  cluster.urls.set('gw1', gatewayUrl);

  cluster.addStream(stream, { segmentS: 1, windowSegments: 6 });
  cluster.assign(stream, 'w', 5, 1000);
  poller.start();
  const first = workerFfmpeg(join(root.path, stream, '5'));
  const playlist = async (): Promise<string> => (await fetch(`${gatewayUrl}/live/${stream}/index.m3u8`)).text();
  const timeline = () => poller.timeline(stream);

  await waitFor('3 public segments of epoch 5', 15_000, () => (timeline()?.lastPublished(5) ?? -1) >= 1002);
  const text = await playlist();
  assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:1000\n/);
  assert.match(text, /\n1000\.ts\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n#EXTINF:1\.000,\n1001\.ts\n/);
  const segment = await fetch(`${gatewayUrl}/live/${stream}/1001.ts`);
  assert.equal(segment.status, 200);
  assert.equal(new Uint8Array(await segment.arrayBuffer())[0], 0x47, 'an MPEG-TS sync byte');

  const player = client(`${gatewayUrl}/live/${stream}/index.m3u8`);
  await waitFor('the client to read frames', 15_000, () => player.frames() > 25);

  // The next worker starts (make-before-break), the leader waits for its first segment.
  const nextDir = join(root.path, stream, '6');
  const second = workerFfmpeg(nextDir);
  await waitFor('the next worker\'s first segment', 15_000, () => existsSync(join(nextDir, 'index.m3u8')) && /seg-0\.ts/.test(readFileSync(join(nextDir, 'index.m3u8'), 'utf8')));
  cluster.seal(stream);
  await waitFor('the gateway to apply the seal', 5000, () => sealApplied);
  const last = timeline()!.lastPublished(5)!;
  assert.deepEqual(poller.gatewayFigures(), [{ id: stream, epoch: 5, lastPublished: last, sealed: true }]);
  cluster.assign(stream, 'w', 6, last + 1);
  first.kill('SIGKILL');
  const framesAtSwitch = player.frames();

  await waitFor('3 public segments of epoch 6', 15_000, () => (timeline()?.lastPublished(6) ?? -1) >= last + 3);
  const after = await playlist();
  assert.match(after, new RegExp(`\\n${last}\\.ts\\n#EXT-X-DISCONTINUITY\\n#EXT-X-PROGRAM-DATE-TIME:[^\\n]+\\n#EXTINF:[\\d.]+,\\n${last + 1}\\.ts\\n`));
  const numbers = [...after.matchAll(/^(\d+)\.ts$/gm)].map((m) => Number(m[1]));
  numbers.forEach((n, i) => assert.equal(n, numbers[0]! + i, 'contiguous'));
  assert.equal(Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(after)![1]), numbers[0]);
  assert.equal(timeline()!.view().segments.find((s) => s.n === last + 1)?.k, 0, 'last + 1 is the new epoch\'s segment 0');

  await waitFor('the client to play 2 s past the switch', 20_000, () => player.frames() > framesAtSwitch + 50);
  assert.equal(player.child.exitCode, null, `the client exited: ${player.stderr()}`);
  player.child.kill('SIGTERM');
  second.kill('SIGTERM');
});
