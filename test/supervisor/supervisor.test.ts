// Supervisor with real ffmpeg: reconcile starts, restarts (new epoch) and stops streams in the
// docs/streams.md layout, reports figures in the gossip shape, refuses unsafe sources, removes a
// stopped epoch's directory after the retention time, and kills leftovers at start.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import type { StreamStatus } from '../../node/gossip/report.ts';
import { isAlive, pidFileName } from '../../node/supervisor/pid-files.ts';
import { streamDir, Supervisor } from '../../node/supervisor/supervisor.ts';
import type { StreamSpec } from '../../node/supervisor/types.ts';
import { startUdpSource, tempDir, udpSource, waitFor } from './helpers.ts';
import type { LiveSource } from './helpers.ts';

let root: Awaited<ReturnType<typeof tempDir>>;
let source: LiveSource;
before(async () => {
  root = await tempDir('supervisor');
  source = await startUdpSource(40);
});
after(async () => {
  await source.stop();
  await root.remove();
});

const spec = (streamId: string, epoch: number, url = source.url): StreamSpec => ({
  streamId, epoch, sources: [udpSource(url)], profile: 'copy', segmentS: 1, listSize: 6,
});
const desired = (...specs: StreamSpec[]) => new Map(specs.map((s) => [s.streamId, s]));

test('reconcile runs, moves to a new epoch, refuses and stops streams; old epochs are removed later', async () => {
  const streamsRoot = join(root.path, 'streams');
  // A leftover from a previous life of the node: an ffmpeg writing into an epoch directory.
  const oldDir = streamDir(streamsRoot, 'old', 9);
  mkdirSync(oldDir, { recursive: true });
  const leftover = execa('ffmpeg', ['-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=5', '-g', '5', '-t', '30', '-f', 'hls', '-hls_time', '1', join(oldDir, 'index.m3u8')], { reject: false });
  writeFileSync(join(oldDir, pidFileName), `${leftover.pid}\n`);
  await waitFor('the leftover writing', () => existsSync(join(oldDir, 'index.m3u8')), 10_000);

  const statuses: [string, StreamStatus][] = [];
  const supervisor = new Supervisor({ random: () => 0.5 }, {
    streamsRoot, retainStoppedMs: 2_500, runner: { pollMs: 500 },
    onEvent: (id, event) => event.type === 'status' && statuses.push([id, event.status]),
  });
  try {
    assert.deepEqual(await supervisor.start(), [leftover.pid]);
    await leftover;
    assert.equal(await isAlive(leftover.pid!), false);

    const plan1 = await supervisor.reconcile(desired(spec('news', 1), spec('bad', 1, 'file:///etc/passwd')));
    assert.deepEqual(plan1.starts.map((s) => s.streamId), ['bad', 'news']);
    await waitFor('news running', () => supervisor.streams().find((f) => f.id === 'news')?.status === 'running', 12_000);
    const [bad, news] = supervisor.streams();
    assert.deepEqual(bad, { id: 'bad', status: 'failed', restarts: 0 });
    assert.match(supervisor.stderrTail('bad')![0]!, /UnsafeSourceError|refused/);
    assert.equal(news!.source, '0');
    assert.equal(news!.restarts, 0);
    assert.ok(news!.lastSegment! >= 0);
    assert.ok(existsSync(join(streamsRoot, 'news', '1', 'seg-0.ts')));
    assert.ok(supervisor.stderrTail('news')!.length > 0);
    assert.equal(supervisor.stderrTail('nope'), null);
    assert.equal(supervisor.epochOf('news'), 1);

    // Same desired set again: nothing changes.
    const same = await supervisor.reconcile(desired(spec('news', 1), spec('bad', 1, 'file:///etc/passwd')));
    assert.deepEqual([same.starts.length, same.stops.length, same.restarts.length], [0, 0, 0]);

    // A new epoch (the stream moved back here, or a switch): a new directory numbering from 0.
    const plan2 = await supervisor.reconcile(desired(spec('news', 2)));
    assert.deepEqual(plan2.restarts.map((s) => s.streamId), ['news']);
    assert.deepEqual(plan2.stops, ['bad']);
    const stoppedAt = performance.now();
    assert.ok(existsSync(join(streamsRoot, 'news', '1', 'seg-0.ts')), 'the old epoch is kept for a while');
    await waitFor('epoch 2 running', () => supervisor.streams()[0]?.status === 'running', 12_000);
    assert.ok(existsSync(join(streamsRoot, 'news', '2', 'seg-0.ts')));
    await waitFor('the old epoch removed', () => !existsSync(join(streamsRoot, 'news', '1')), 5_000);
    assert.ok(performance.now() - stoppedAt >= 2_500);
    assert.ok(!existsSync(join(streamsRoot, 'old')), 'the leftover directory was removed too');

    await supervisor.reconcile(desired());
    assert.deepEqual(supervisor.streams(), []);
    await waitFor('the stream directory removed', () => !existsSync(join(streamsRoot, 'news')), 5_000);
    assert.deepEqual(statuses.filter(([id]) => id === 'news').map(([, s]) => s), ['running', 'stopped', 'running', 'stopped']);
  } finally {
    await supervisor.stopAll();
    leftover.kill('SIGKILL');
  }
});

test('stopAll stops every stream and later reconciles do nothing', async () => {
  const second = await startUdpSource(30);
  const supervisor = new Supervisor({}, { streamsRoot: join(root.path, 'stop-all') });
  try {
    await supervisor.start();
    await supervisor.reconcile(desired(spec('a', 1), spec('b', 1, second.url)));
    await waitFor('both running', () => supervisor.streams().every((f) => f.status === 'running'), 12_000);
    const pids = ['a', 'b'].map((id) => Number(readFileSync(join(root.path, 'stop-all', id, '1', pidFileName), 'utf8')));
    await supervisor.stopAll();
    assert.deepEqual(supervisor.streams(), []);
    for (const pid of pids) assert.equal(await isAlive(pid), false);
    const plan = await supervisor.reconcile(desired(spec('a', 1)));
    assert.deepEqual(plan.starts, []);
  } finally {
    await supervisor.stopAll();
    await second.stop();
  }
  assert.throws(() => streamDir('/x', '../etc', 1), { name: 'InvalidStreamSpecError' });
  assert.throws(() => streamDir('/x', 'a', 1.5), { name: 'InvalidStreamSpecError' });
});
