// The fencing checker: parsing /proc, which assignment names which process, and hand-made runs
// that must pass (a switch, a paused node, a new worker seen before its commit) or fail (an old
// worker that keeps running).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { channelOf, checkFencing, fencingBoundMs, isRunningState, names, parseStat } from '../../scripts/chaos/fencing.ts';
import type { AssignmentRecord, ChannelProcess, ProcessRecord, StreamAssignment } from '../../scripts/chaos/fencing.ts';

const dirs = new Map([['/tmp/lab/n1', 'n1'], ['/tmp/lab/n2', 'n2']]);
/** The argv of a channel ffmpeg as node/supervisor starts it (setpriv execs ffmpeg). */
const channelArgv = (dir: string, stream: string, epoch: number) => [
  'ffmpeg', '-hide_banner', '-nostdin', '-i', 'http://127.0.0.1:9/live.ts', '-c', 'copy', '-f', 'hls', '-hls_time', '2',
  '-hls_segment_filename', `${dir}/streams/${stream}/${epoch}/seg-%d.ts`, '-start_number', '0', `${dir}/streams/${stream}/${epoch}/index.m3u8`,
];

test('channel processes are told from viewers, probes and other clusters by their output path', () => {
  assert.deepEqual(channelOf(channelArgv('/tmp/lab/n2', 'news', 7), dirs), { node: 'n2', stream: 'news', epoch: 7 });
  assert.deepEqual(channelOf(['/usr/bin/ffmpeg', ...channelArgv('/tmp/lab/n1', 'a-b_c', 12).slice(1)], dirs), { node: 'n1', stream: 'a-b_c', epoch: 12 });
  assert.equal(channelOf(['ffmpeg', '-i', 'http://x/live/news/index.m3u8', '-c', 'copy', '-f', 'null', '-'], dirs), null, 'a viewer');
  assert.equal(channelOf(['ffmpeg', '-i', 'http://x', '-t', '2', '-f', 'null', '-'], dirs), null, 'a probe');
  assert.equal(channelOf(channelArgv('/tmp/other/n1', 'news', 1), dirs), null, 'another cluster on this machine');
  assert.equal(channelOf(['node', 'bin/ottmesh', 'start', '--data-dir', '/tmp/lab/n1'], dirs), null);
  assert.equal(channelOf([], dirs), null);
});

test('/proc/<pid>/stat: state and start time, also when the command name holds spaces and parentheses', () => {
  const rest = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4917093 99 100';
  assert.deepEqual(parseStat(`2535 (ffmpeg) ${rest}`), { state: 'S', startTicks: 4917093 });
  assert.deepEqual(parseStat(`77 (a (b) c) ${rest.replace(/^S/, 'T')}`), { state: 'T', startTicks: 4917093 });
  assert.equal(parseStat('garbage'), null);
  assert.equal(isRunningState('R'), true);
  assert.equal(isRunningState('S'), true);
  assert.equal(isRunningState('D'), true);
  assert.equal(isRunningState('T'), false);
  assert.equal(isRunningState('Z'), false);
});

test('an assignment names its active worker in its epoch and its standby above it, nothing else', () => {
  const a: StreamAssignment = { nodeId: 'n1', epoch: 5, standby: 'n2', status: 'running' };
  assert.equal(names(a, { node: 'n1', epoch: 5 }), true);
  assert.equal(names(a, { node: 'n2', epoch: 6 }), true);
  assert.equal(names(a, { node: 'n1', epoch: 4 }), false, 'an older epoch on the same node');
  assert.equal(names(a, { node: 'n2', epoch: 3 }), false, 'the standby node in an older epoch');
  assert.equal(names(a, { node: 'n3', epoch: 6 }), false);
  assert.equal(names(undefined, { node: 'n1', epoch: 5 }), false);
  assert.equal(names({ nodeId: null, epoch: null, standby: null, status: 'unplaced' }, { node: 'n1', epoch: 5 }), false);
  const known: StreamAssignment = { ...a, standbyEpoch: 9 };
  assert.equal(names(known, { node: 'n2', epoch: 9 }), true, 'the standby in its own epoch');
  assert.equal(names(known, { node: 'n2', epoch: 6 }), false, 'a standby replaced on the same node (its older epoch)');
});

test('the bound is fenceAfterMs plus two sampling periods and a second', () => {
  assert.equal(fencingBoundMs(3_000, 250), 4_500);
});

const t0 = 1_000_000;
const proc = (pid: number, node: string, epoch: number, running = true): ChannelProcess => ({ pid, startTicks: pid * 10, node, stream: 's1', epoch, running });
const assign = (atMs: number, nodeId: string, epoch: number, standby: string | null): AssignmentRecord => ({ atMs, prevAtMs: null, via: 'n3', streams: { s1: { nodeId, epoch, standby, status: 'running' } } });
/** Process records: each [atMs, procs] lasts until the next sample (250 ms before the next change). */
function sampled(states: [number, ChannelProcess[]][]): ProcessRecord[] {
  return states.map(([atMs, procs], i) => ({ atMs, prevAtMs: i === 0 ? null : atMs - 250, procs }));
}
const init = { boundMs: 4_500, startedAtMs: t0 };

test('passes: a switch whose old worker stops within a second', () => {
  const assignments = [assign(t0, 'n1', 1, 'n2'), assign(t0 + 10_000, 'n2', 2, null)];
  const records = sampled([
    [t0, [proc(100, 'n1', 1), proc(200, 'n2', 2)]],
    [t0 + 11_000, [proc(200, 'n2', 2)]],
    [t0 + 20_000, [proc(200, 'n2', 2)]],
  ]);
  const r = checkFencing(records, assignments, init);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['max stale run (ms)'], 750);
  assert.equal(r.figures['seen running unnamed'], 1);
});

test('passes: a paused node\'s stopped ffmpeg is not running; after it resumes it stops in time', () => {
  const assignments = [assign(t0, 'n1', 1, null), assign(t0 + 3_000, 'n2', 2, null)];
  const records = sampled([
    [t0, [proc(100, 'n1', 1)]],
    [t0 + 500, [proc(100, 'n1', 1, false)]], // SIGSTOP of n1 and its children
    [t0 + 4_000, [proc(100, 'n1', 1, false), proc(200, 'n2', 2)]],
    [t0 + 60_000, [proc(100, 'n1', 1), proc(200, 'n2', 2)]], // SIGCONT
    [t0 + 61_000, [proc(200, 'n2', 2)]], // fenced: stopped
    [t0 + 62_000, [proc(200, 'n2', 2)]],
  ]);
  const r = checkFencing(records, assignments, init);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['max stale run (ms)'], 750);
});

test('passes: a new worker seen running just before the sample that shows its commit', () => {
  const assignments = [assign(t0, 'n1', 1, null), assign(t0 + 5_400, 'n1', 1, 'n2')];
  const records = sampled([[t0, [proc(100, 'n1', 1)]], [t0 + 5_000, [proc(100, 'n1', 1), proc(200, 'n2', 2)]], [t0 + 9_000, [proc(100, 'n1', 1), proc(200, 'n2', 2)]]]);
  assert.equal(checkFencing(records, assignments, init).ok, true);
});

test('fails: an old worker that runs on after the switch, beyond the bound', () => {
  const assignments = [assign(t0, 'n1', 1, 'n2'), assign(t0 + 10_000, 'n2', 2, null)];
  const records = sampled([
    [t0, [proc(100, 'n1', 1), proc(200, 'n2', 2)]],
    [t0 + 16_000, [proc(200, 'n2', 2)]],
    [t0 + 20_000, [proc(200, 'n2', 2)]],
  ]);
  const r = checkFencing(records, assignments, init);
  assert.equal(r.ok, false);
  assert.equal(r.figures['over bound'], 1);
  assert.equal(r.figures['max stale run (ms)'], 5_750);
  assert.match(r.violations[0]!, /stream s1 epoch 1 ran on n1 \(pid 100\) 5750 ms while the committed assignment did not name it \(from \+10\.0 s; bound 4500 ms\)/);
});

test('fails: a restarted node that runs a stale epoch again for longer than the bound', () => {
  const assignments = [assign(t0, 'n2', 2, null)];
  const records = sampled([[t0, [proc(200, 'n2', 2)]], [t0 + 1_000, [proc(200, 'n2', 2), proc(300, 'n1', 1)]], [t0 + 7_000, [proc(200, 'n2', 2)]]]);
  const r = checkFencing(records, assignments, init);
  assert.equal(r.ok, false);
  assert.match(r.violations[0]!, /epoch 1 ran on n1 \(pid 300\) 5750 ms/);
});

test('a reused pid is another process (start time tells them apart)', () => {
  const assignments = [assign(t0, 'n1', 1, null), assign(t0 + 2_000, 'n1', 3, null)];
  const again: ChannelProcess = { ...proc(100, 'n1', 3), startTicks: 99_999 };
  const records = sampled([[t0, [proc(100, 'n1', 1)]], [t0 + 2_250, [again]], [t0 + 30_000, [again]]]);
  const r = checkFencing(records, assignments, init);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['channel processes seen'], 2);
});
