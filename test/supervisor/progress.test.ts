// ffmpeg -progress parsing (progress.ts), the stderr ring (line-ring.ts), the worker playlist
// parse (playlist-watch.ts) and /proc parsing (proc-stats.ts): the small pure pieces of the runner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineRing, lineCharsMax } from '../../node/supervisor/line-ring.ts';
import { parseWorkerPlaylist } from '../../node/supervisor/playlist-watch.ts';
import { parseCpuTicks, parseRssBytes } from '../../node/supervisor/proc-stats.ts';
import { ProgressParser } from '../../node/supervisor/progress.ts';

// Captured from ffmpeg 5.1 writing HLS (total_size and bitrate are N/A with that muxer).
const hlsBlock = 'frame=51\nfps=19.15\nstream_0_0_q=-1.0\nbitrate=N/A\ntotal_size=N/A\nout_time_us=3423222\nout_time_ms=3423222\nout_time=00:00:03.423222\ndup_frames=0\ndrop_frames=0\nspeed=1.29x\nprogress=continue\n';
const fileBlock = 'frame=250\nbitrate= 812.4kbits/s\ntotal_size=1015552\nout_time_us=10000000\nspeed=   1x\nprogress=end\n';

test('progress blocks are parsed across arbitrary chunk boundaries', () => {
  const text = hlsBlock + fileBlock;
  for (const chunk of [1, 7, 64, text.length]) {
    const parser = new ProgressParser();
    const blocks = [];
    for (let i = 0; i < text.length; i += chunk) blocks.push(...parser.push(text.slice(i, i + chunk)));
    assert.deepEqual(blocks, [
      { outTimeUs: 3_423_222, totalSizeBytes: null, bitrateKbps: null, speed: 1.29, frame: 51, ended: false },
      { outTimeUs: 10_000_000, totalSizeBytes: 1_015_552, bitrateKbps: 812.4, speed: 1, frame: 250, ended: true },
    ], `chunk ${chunk}`);
  }
});

test('progress: N/A and garbage give null; CRLF and junk lines are tolerated; long lines are bounded', () => {
  const parser = new ProgressParser();
  assert.deepEqual(parser.push('out_time_us=N/A\r\nspeed=N/A\r\nnonsense\n=x\nframe=abc\nprogress=continue\r\n'), [
    { outTimeUs: null, totalSizeBytes: null, bitrateKbps: null, speed: null, frame: null, ended: false },
  ]);
  assert.deepEqual(parser.push('x'.repeat(10_000)), []);
  assert.deepEqual(parser.push('\nout_time_us=5\nprogress=continue\n').map((b) => b.outTimeUs), [5]);
});

test('the line ring keeps the last N lines, oldest first, cut to a bounded length, noise skipped', () => {
  const ring = new LineRing(3, /noise/);
  ring.write('a\nb\r\nnoise line\nc\rd');
  assert.deepEqual(ring.lines(), ['a', 'b', 'c']);
  ring.write('e\n');
  assert.deepEqual(ring.lines(), ['b', 'c', 'de']);
  ring.write(`${'z'.repeat(5_000)}\n`);
  ring.flush();
  const lines = ring.lines();
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.length, lineCharsMax + 3);
  assert.throws(() => new LineRing(0), RangeError);
});

test('worker playlist: segments with their durations, in order', () => {
  const text = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000+0000\nseg-41.ts\n#EXTINF:1.960000,\nseg-42.ts\nseg-43.ts.tmp\nother.ts\n';
  assert.deepEqual(parseWorkerPlaylist(text), { segments: [{ index: 41, durationS: 2 }, { index: 42, durationS: 1.96 }], ended: false });
  assert.equal(parseWorkerPlaylist('#EXTM3U\n#EXT-X-ENDLIST\n').ended, true);
});

test('/proc parsing: cpu ticks after a command name with spaces and parentheses, RSS in bytes', () => {
  const stat = '4242 (ffm peg) x) S 1 4242 4242 0 -1 4194560 2000 0 0 0 1234 567 0 0 20 0 4 0 100 200000000 5000 18446744073709551615';
  assert.equal(parseCpuTicks(stat), 1234 + 567);
  assert.equal(parseCpuTicks('garbage'), null);
  assert.equal(parseRssBytes('Name:\tffmpeg\nVmRSS:\t   22528 kB\nThreads:\t4\n'), 22_528 * 1024);
  assert.equal(parseRssBytes('Name:\tkthread\n'), null);
});
