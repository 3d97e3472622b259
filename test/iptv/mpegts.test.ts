// The TS restamper on real ffmpeg output: two separate HLS runs (video + audio, as two workers
// would make them) joined at a DISCONTINUITY. Concatenated as they are, timestamps go back to
// the start and continuity counters break; restamped, every stream's DTS keeps rising without a
// gap larger than a frame or two, and every PID's counter continues. ffprobe reads the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readTimestamp, signedDiff, tsPacketBytes, TsRestamper } from '../../node/iptv/mpegts.ts';

/** One ffmpeg run's HLS segments (1 s, 25 fps video + AAC), in order. */
function hlsRun(dir: string, seconds: number, tone: number): Buffer[] {
  mkdirSync(dir);
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'lavfi', '-i', `testsrc2=size=160x90:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_segment_filename', join(dir, 'seg-%d.ts'), join(dir, 'index.m3u8'),
  ]);
  const names = readdirSync(dir).filter((n) => n.endsWith('.ts')).sort((a, b) => Number(a.slice(4, -3)) - Number(b.slice(4, -3)));
  return names.map((n) => readFileSync(join(dir, n)));
}

/** Per stream index, the DTS (s) of its packets in file order, read by ffprobe. */
function packetTimes(file: string): Map<number, number[]> {
  const csv = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,dts_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const times = new Map<number, number[]>();
  for (const row of csv.trim().split('\n')) {
    const [index, dts] = row.split(',');
    if (dts === undefined || dts === 'N/A') continue;
    const list = times.get(Number(index)) ?? [];
    list.push(Number(dts));
    times.set(Number(index), list);
  }
  return times;
}

/** Continuity errors: payload packets whose counter is not the previous one + 1 (per PID). */
function continuityErrors(bytes: Uint8Array): number {
  const last = new Map<number, number>();
  let errors = 0;
  for (let at = 0; at < bytes.length; at += tsPacketBytes) {
    const pid = ((bytes[at + 1]! & 0x1f) << 8) | bytes[at + 2]!;
    const hasPayload = (bytes[at + 3]! & 0x10) !== 0;
    const cc = bytes[at + 3]! & 0x0f;
    if (pid === 0x1fff) continue;
    const prev = last.get(pid);
    if (prev !== undefined && hasPayload && cc !== ((prev + 1) & 0x0f)) errors++;
    last.set(pid, cc);
  }
  return errors;
}

test('restamper: two ffmpeg runs become one stream with rising timestamps and unbroken counters', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ottmesh-mpegts-'));
  try {
    const runA = hlsRun(join(dir, 'a'), 3, 440);
    const runB = hlsRun(join(dir, 'b'), 3, 880);
    assert.ok(runA.length >= 3 && runB.length >= 3, `segments: ${runA.length} + ${runB.length}`);
    const segments = [...runA.map((bytes, i) => ({ bytes, durationS: 1, discontinuity: false, i })), ...runB.map((bytes, i) => ({ bytes, durationS: 1, discontinuity: i === 0, i }))];

    const plain = Buffer.concat(segments.map((s) => s.bytes));
    const restamper = new TsRestamper();
    const outputs = segments.map((s) => restamper.next(s));
    const joined = Buffer.concat(outputs);
    assert.equal(joined.length, plain.length);
    assert.deepEqual(restamper.stats, { segments: segments.length, rewritten: runB.length, joins: 1, unparsable: 0 });
    for (let i = 0; i < runA.length; i++) assert.equal(outputs[i], segments[i]!.bytes, 'run A goes out as it was, uncopied');

    writeFileSync(join(dir, 'plain.ts'), plain);
    writeFileSync(join(dir, 'joined.ts'), joined);
    const backwards = (times: Map<number, number[]>): number => [...times.values()].reduce((n, list) => n + list.filter((t, i) => i > 0 && t < list[i - 1]!).length, 0);
    // Without restamping the second run starts over: the check below can fail.
    assert.ok(backwards(packetTimes(join(dir, 'plain.ts'))) > 0, 'the plain concatenation goes back in time');
    assert.ok(continuityErrors(plain) > 0, 'the plain concatenation breaks the counters');

    const times = packetTimes(join(dir, 'joined.ts'));
    assert.equal(times.size, 2, 'video and audio');
    assert.equal(backwards(times), 0, 'every stream\'s DTS rises');
    for (const [index, list] of times) {
      const gaps = list.slice(1).map((t, i) => t - list[i]!);
      assert.ok(Math.max(...gaps) < 0.2, `stream ${index}: largest step ${Math.max(...gaps).toFixed(3)} s`);
      assert.ok(list.at(-1)! - list[0]! > 5, `stream ${index} spans both runs`);
    }
    assert.equal(continuityErrors(joined), 0);
    // ffmpeg decodes the joined stream without complaint.
    const log = execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', join(dir, 'joined.ts'), '-f', 'null', '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(log.trim(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('restamper: a jump the playlist did not mark is joined too; odd bytes pass unchanged', () => {
  // A minimal PES packet on PID 0x100 with a PTS, continuity counter `cc`.
  const packet = (pts: number, cc: number): Uint8Array => {
    const p = new Uint8Array(tsPacketBytes).fill(0xff);
    p.set([0x47, 0x41, 0x00, 0x10 | cc, 0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x80, 0x05]);
    p[13] = 0x21 | (Math.floor(pts / 2 ** 30) & 0x07) << 1;
    p[14] = Math.floor(pts / 2 ** 22) & 0xff;
    p[15] = ((Math.floor(pts / 2 ** 15) & 0x7f) << 1) | 1;
    p[16] = Math.floor(pts / 2 ** 7) & 0xff;
    p[17] = ((pts & 0x7f) << 1) | 1;
    return p;
  };
  const r = new TsRestamper();
  const first = packet(900_000, 3);
  assert.equal(r.next({ bytes: first, durationS: 2, discontinuity: false }), first, 'the first segment is not copied');
  const continuing = packet(900_000 + 180_000, 4);
  assert.equal(r.next({ bytes: continuing, durationS: 2, discontinuity: false }), continuing);
  // Unmarked, but 100 s back: joined at 900,000 + 2 * 180,000.
  const jumped = r.next({ bytes: packet(900_000 - 9_000_000, 9), durationS: 2, discontinuity: false });
  assert.equal(readTimestamp(jumped, 13), 900_000 + 360_000);
  assert.equal(jumped[3]! & 0x0f, 5, 'the counter continues');
  // Near the 33-bit wrap: differences are taken on the circle.
  assert.equal(signedDiff(5, 2 ** 33 - 5), 10);
  const odd = new Uint8Array(100);
  assert.equal(r.next({ bytes: odd, durationS: 2, discontinuity: false }), odd);
  assert.equal(r.stats.unparsable, 1);
});
