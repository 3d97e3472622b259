// StreamRunner with real ffmpeg on loopback: a live UDP source made by ffmpeg, 1 s segments.
// Covers: segments from index 0 and figures; restart with backoff after ffmpeg is killed, the
// numbering continuing; failover to the backup when the primary stops, and return to the primary
// (after its rest and a probe) when it is back; the stderr tail; stop.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UnsafeSourceError } from '../../node/supervisor/errors.ts';
import { isAlive, pidFileName } from '../../node/supervisor/pid-files.ts';
import { StreamRunner } from '../../node/supervisor/stream-runner.ts';
import type { RunnerEvent, StreamRunnerInit } from '../../node/supervisor/stream-runner.ts';
import type { StreamSpec } from '../../node/supervisor/types.ts';
import { freeUdpPort, startHttpSource, startUdpSource, tempDir, udpSource, waitFor } from './helpers.ts';

let root: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  root = await tempDir('runner');
});
after(async () => {
  await root.remove();
});

interface Recorded {
  readonly atMs: number;
  readonly event: RunnerEvent;
}

function makeRunner(name: string, spec: Partial<StreamSpec> & Pick<StreamSpec, 'sources'>, options: Partial<StreamRunnerInit> = {}) {
  const events: Recorded[] = [];
  const runner = new StreamRunner({ random: () => 0.5 }, {
    spec: { streamId: name, epoch: 1, profile: 'copy', segmentS: 1, listSize: 6, ...spec },
    dir: join(root.path, name, '1'),
    pollMs: 500,
    ...options,
    onEvent: (event) => events.push({ atMs: performance.now(), event }),
  });
  return { runner, events };
}

const segments = (events: Recorded[]) => events.flatMap((r) => (r.event.type === 'segment' ? [r.event.index] : []));

test('a stream starts, writes segments from index 0, and reports its figures; stop ends ffmpeg', async () => {
  const source = await startUdpSource(30);
  const { runner, events } = makeRunner('start', { sources: [udpSource(source.url)] });
  try {
    const t0 = performance.now();
    await runner.start();
    await waitFor('two segments', () => runner.figures().lastSegment !== undefined && runner.figures().lastSegment! >= 1, 12_000);
    const firstSegmentMs = events.find((r) => r.event.type === 'segment')!.atMs - t0;
    console.log(`# first segment ${Math.round(firstSegmentMs)} ms after start`);
    assert.deepEqual(segments(events).slice(0, 2), [0, 1]);
    assert.ok(existsSync(join(runner.dir, 'seg-0.ts')) && existsSync(join(runner.dir, 'index.m3u8')));
    assert.equal(runner.status, 'running');
    const pid = runner.pid!;
    assert.equal(readFileSync(join(runner.dir, pidFileName), 'utf8').trim(), String(pid));
    await waitFor('cpu and memory sampled', () => runner.figures().memBytes !== undefined && runner.figures().cpuPct !== undefined, 3_000);
    const figures = runner.figures();
    assert.equal(figures.restarts, 0);
    assert.equal(figures.source, 0);
    assert.ok(figures.memBytes! > 1_000_000 && figures.memBytes! < 500_000_000, `rss ${figures.memBytes}`);
    assert.ok(figures.outKbps! > 50 && figures.outKbps! < 2_000, `out ${figures.outKbps} kb/s`);
    assert.equal(figures.inKbps, figures.outKbps);
    assert.ok(runner.stderrTail().some((line) => line.includes('Input #0, mpegts')), runner.stderrTail().join('\n'));
    await runner.stop();
    assert.equal(runner.status, 'stopped');
    assert.equal(await isAlive(pid), false);
    assert.equal(existsSync(join(runner.dir, pidFileName)), false);
    assert.ok(runner.stderrTail().at(-1)!.includes('as asked'));
  } finally {
    await runner.stop();
    await source.stop();
  }
});

test('ffmpeg killed: restarted with growing backoff, numbering continues with a discontinuity', async () => {
  const source = await startUdpSource(40);
  const { runner, events } = makeRunner('restart', { sources: [udpSource(source.url)] }, { restart: { initialDelayMs: 300, stableRunMs: 60_000 } });
  try {
    await runner.start();
    await waitFor('a segment', () => runner.figures().lastSegment !== undefined, 12_000);
    const delays: number[] = [];
    for (let kill = 1; kill <= 2; kill++) {
      const pid = runner.pid!;
      const from = events.length;
      process.kill(pid, 'SIGKILL');
      const exit = await waitFor('the exit', () => events.slice(from).find((r) => r.event.type === 'exit'), 3_000);
      assert.deepEqual([exit.event.type === 'exit' && exit.event.expected, runner.status], [false, 'restarting']);
      const started = await waitFor('the restart', () => events.slice(from).find((r) => r.event.type === 'started'), 5_000);
      delays.push(started.atMs - exit.atMs);
      assert.notEqual(runner.pid, pid);
    }
    console.log(`# restart delays ${delays.map(Math.round).join(', ')} ms (policy: 300, 600)`);
    assert.ok(delays[0]! >= 290 && delays[0]! < 1_000, `first delay ${delays[0]}`);
    assert.ok(delays[1]! >= 590 && delays[1]! < 1_500, `second delay ${delays[1]}`);
    const before = runner.figures().lastSegment!;
    await waitFor('a segment after the restarts', () => runner.figures().lastSegment! > before && runner.status === 'running', 12_000);
    const indices = segments(events);
    assert.deepEqual(indices, [...indices].sort((a, b) => a - b), 'segment indices only grow');
    assert.equal(new Set(indices).size, indices.length, 'no index reused');
    assert.equal(runner.figures().restarts, 2);
    assert.match(readFileSync(join(runner.dir, 'index.m3u8'), 'utf8'), /#EXT-X-DISCONTINUITY/);
    assert.ok(runner.stderrTail().some((line) => line.includes('signal SIGKILL')), runner.stderrTail().filter((l) => l.includes('[supervisor]')).join('\n'));
  } finally {
    await runner.stop();
    await source.stop();
  }
});

test('fails over to the backup when the primary stops delivering, and returns to it with hysteresis', async () => {
  const primary = await startUdpSource(50);
  const backup = await startUdpSource(50);
  const stallTimeoutMs = 2_000;
  const retryAfterMs = 4_000;
  const { runner, events } = makeRunner('failover', { sources: [udpSource(backup.url, 0), udpSource(primary.url, 10)] }, {
    stallTimeoutMs, probeS: 1, probeTimeoutMs: 5_000, choice: { retryAfterMs },
  });
  const sourceEvents = () => events.flatMap((r) => (r.event.type === 'source' ? [{ atMs: r.atMs, index: r.event.index, reason: r.event.reason }] : []));
  try {
    await runner.start();
    assert.equal(runner.sourceIndex, 1, 'the higher priority source first');
    await waitFor('running on the primary', () => runner.status === 'running', 12_000);
    const lastOnPrimary = runner.figures().lastSegment!;
    const stopAt = performance.now();
    await primary.stop();
    const switched = await waitFor('switch to the backup', () => sourceEvents().find((e) => e.index === 0), stallTimeoutMs + 3_000);
    assert.equal(switched.reason, 'stall');
    const switchMs = switched.atMs - stopAt;
    const firstOnBackup = await waitFor('a segment from the backup', () => events.find((r) => r.event.type === 'segment' && r.atMs > switched.atMs), 10_000);
    const segmentMs = firstOnBackup.atMs - stopAt;
    console.log(`# primary stopped: switched after ${Math.round(switchMs)} ms (stall timeout ${stallTimeoutMs}), new segment after ${Math.round(segmentMs)} ms`);
    // The stall timeout counts from the last progress, which came before the stop; the new
    // segment needs ffmpeg's start (about 1.3 s here) and one segment (1 s) more.
    assert.ok(switchMs <= stallTimeoutMs + 1_000, `switch after ${switchMs} ms`);
    assert.ok(segmentMs <= stallTimeoutMs + 1_000 + 3_000, `new segment after ${segmentMs} ms`);
    assert.ok((firstOnBackup.event as { index: number }).index > lastOnPrimary);

    // The primary comes back at once, but we return only after its rest and a good probe.
    await primary.restart();
    const back = await waitFor('return to the primary', () => sourceEvents().find((e) => e.index === 1 && e.atMs > switched.atMs), retryAfterMs + 8_000);
    assert.equal(back.reason, 'recovered');
    const restMs = back.atMs - switched.atMs;
    console.log(`# returned to the primary ${Math.round(restMs)} ms after leaving it (rest ${retryAfterMs} ms + probe)`);
    assert.ok(restMs >= retryAfterMs, `returned after ${restMs} ms`);
    await waitFor('a segment from the primary again', () => events.find((r) => r.event.type === 'segment' && r.atMs > back.atMs), 10_000);
    assert.equal(runner.figures().source, 1);
    const indices = segments(events);
    assert.deepEqual(indices, [...indices].sort((a, b) => a - b));
    assert.equal(new Set(indices).size, indices.length);
    assert.ok(runner.stderrTail().some((line) => line.includes('probe of source 1: delivers')), runner.stderrTail().slice(-10).join('\n'));
    assert.equal(sourceEvents().length, 3, 'initial, to the backup, back: no flapping');
  } finally {
    await runner.stop();
    await Promise.all([primary.stop(), backup.stop()]);
  }
});

test('an HTTP MPEG-TS source gets the user agent and referrer', async () => {
  const source = await startHttpSource(30);
  const { runner } = makeRunner('http', { sources: [{ url: source.url, priority: 0, userAgent: 'VLC/3.0.18 LibVLC/3.0.18', referrer: 'http://portal.example/' }] });
  try {
    await runner.start();
    await waitFor('a segment', () => runner.status === 'running', 12_000);
    assert.equal(source.requests[0]!['user-agent'], 'VLC/3.0.18 LibVLC/3.0.18');
    assert.equal(source.requests[0]!['referer'], 'http://portal.example/');
  } finally {
    await runner.stop();
    await source.stop();
  }
});

test('a source that never delivers: failed after 3 starts, retries go on, the tail says why', async () => {
  const silent = `udp://127.0.0.1:${await freeUdpPort()}`;
  const { runner, events } = makeRunner('silent', { sources: [udpSource(silent)] }, { startTimeoutMs: 700, restart: { initialDelayMs: 100 } });
  try {
    await runner.start();
    await waitFor('failed', () => runner.status === 'failed', 8_000);
    const starts = events.filter((r) => r.event.type === 'started').length;
    assert.ok(starts >= 3, `${starts} starts`);
    await waitFor('another start', () => events.filter((r) => r.event.type === 'started').length > starts, 3_000);
    assert.equal(runner.status, 'failed', 'still failed while retrying');
    assert.ok(runner.stderrTail().some((line) => line.includes('switching to source 0 (no-start)')), runner.stderrTail().join('\n'));
    assert.equal(runner.figures().lastSegment, undefined);
  } finally {
    await runner.stop();
  }
});

test('a source ffmpeg must never be given is refused before anything starts', () => {
  for (const url of ['file:///etc/passwd', 'concat:udp://a:1|udp://b:2', '-i']) {
    assert.throws(() => makeRunner('refused', { sources: [udpSource('udp://127.0.0.1:9'), udpSource(url)] }), UnsafeSourceError);
  }
});
