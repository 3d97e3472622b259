// A node process that dies, even by SIGKILL, must not leave its ffmpeg running unsupervised.
// Real processes: a small node script runs a StreamRunner (fixtures/orphan-child.ts) on a live
// UDP source; the test kills the script with SIGKILL and watches the ffmpeg pid.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { isAlive, killLeftovers, pidFileName } from '../../node/supervisor/pid-files.ts';
import { startUdpSource, tempDir, waitFor } from './helpers.ts';
import type { LiveSource } from './helpers.ts';

const child = join(import.meta.dirname, 'fixtures', 'orphan-child.ts');
let root: Awaited<ReturnType<typeof tempDir>>;
let source: LiveSource;
before(async () => {
  root = await tempDir('orphans');
  source = await startUdpSource(40);
});
after(async () => {
  await source.stop();
  await root.remove();
});

/** Starts the child script supervising one stream in `dir`; resolves with both pids once ffmpeg runs. */
async function superviseInChild(dir: string, withSetpriv: boolean): Promise<{ nodePid: number; ffmpegPid: number }> {
  const proc = spawn(process.execPath, [child, dir, source.url, withSetpriv ? 'yes' : 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (text: string) => (out += text));
  const line = await waitFor('the ffmpeg pid from the child', () => out.split('\n').find((l) => l.startsWith('{')), 10_000);
  const { pid } = JSON.parse(line) as { pid: number };
  // Let ffmpeg get going (it writes into the directory) before the parent dies.
  await waitFor('ffmpeg writing', () => existsSync(join(dir, 'index.m3u8')), 10_000);
  return { nodePid: proc.pid!, ffmpegPid: pid };
}

test('SIGKILL of the node process: its ffmpeg is gone within 2 s (parent-death signal)', async () => {
  const dir = join(root.path, 'news', '1');
  const { nodePid, ffmpegPid } = await superviseInChild(dir, true);
  assert.equal(await isAlive(ffmpegPid), true);
  const killedAt = performance.now();
  process.kill(nodePid, 'SIGKILL');
  await waitFor('ffmpeg to be gone', async () => !(await isAlive(ffmpegPid)), 2_000, 10);
  console.log(`# ffmpeg gone ${Math.round(performance.now() - killedAt)} ms after SIGKILL of its node process`);
});

test('without the parent-death signal ffmpeg outlives its node process, and killLeftovers ends it', async () => {
  const dir = join(root.path, 'sports', '3');
  const { nodePid, ffmpegPid } = await superviseInChild(dir, false);
  process.kill(nodePid, 'SIGKILL');
  // ffmpeg ignores SIGPIPE and its failed progress writes: it keeps running (why setpriv is used).
  await sleep(1_500);
  assert.equal(await isAlive(ffmpegPid), true, 'ffmpeg noticed the closed pipe after all: the parent-death signal may be unnecessary');
  const killed = await killLeftovers(root.path);
  assert.deepEqual(killed, [ffmpegPid]);
  assert.equal(await isAlive(ffmpegPid), false);
  assert.equal(existsSync(join(dir, pidFileName)), false);
});

test('killLeftovers kills only an ffmpeg writing into the directory its pid file is in', async () => {
  // A pid file naming a process that is not ffmpeg (a reused pid).
  const sleeper = execa('sleep', ['20'], { reject: false });
  const notFfmpeg = join(root.path, 'other', '1');
  mkdirSync(notFfmpeg, { recursive: true });
  writeFileSync(join(notFfmpeg, pidFileName), `${sleeper.pid}\n`);
  // An ffmpeg writing somewhere else.
  const elsewhere = join(root.path, 'elsewhere');
  mkdirSync(elsewhere, { recursive: true });
  const ffmpeg = execa('ffmpeg', ['-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=5', '-t', '20', '-f', 'hls', join(elsewhere, 'index.m3u8')], { reject: false });
  const wrongDir = join(root.path, 'wrong', '2');
  mkdirSync(wrongDir, { recursive: true });
  writeFileSync(join(wrongDir, pidFileName), `${ffmpeg.pid}\n`);
  // A pid file of a process long gone, and one that is garbage.
  const gone = join(root.path, 'gone', '4');
  mkdirSync(gone, { recursive: true });
  writeFileSync(join(gone, pidFileName), '999999999\n');
  const garbage = join(root.path, 'garbage', '5');
  mkdirSync(garbage, { recursive: true });
  writeFileSync(join(garbage, pidFileName), '1; rm -rf /\n');
  try {
    await sleep(300);
    assert.deepEqual(await killLeftovers(root.path), []);
    assert.equal(await isAlive(sleeper.pid!), true);
    assert.equal(await isAlive(ffmpeg.pid!), true);
    for (const dir of [notFfmpeg, wrongDir, gone, garbage]) assert.equal(existsSync(join(dir, pidFileName)), false, dir);
    assert.deepEqual(await killLeftovers(join(root.path, 'no-such-dir')), []);
  } finally {
    sleeper.kill('SIGKILL');
    ffmpeg.kill('SIGKILL');
    await Promise.all([sleeper, ffmpeg]);
  }
});
