// Reading ffmpeg's own playlists: k from the names, durations, flags; tolerant and bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatIsoMs, parseIsoMs } from '../../node/hls/date-time.ts';
import { parseWorkerPlaylist, WorkerPlaylistError, workerPlaylistCharsMax, workerSegmentsMax } from '../../node/hls/worker-playlist.ts';

// What ffmpeg 5.1 wrote here with -hls_flags ...+program_date_time (EXTINF before the PDT).
const ffmpegPlaylist = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:1.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-24T07:58:02.033+0000
seg-5.ts
#EXTINF:1.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-24T07:58:03.033+0000
seg-6.ts
#EXT-X-DISCONTINUITY
#EXTINF:0.960000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:58:04.033+0200
seg-7.ts
`;

test('an ffmpeg playlist: k from the names, durations, PDT in any zone, discontinuity, media sequence', () => {
  const p = parseWorkerPlaylist(ffmpegPlaylist);
  assert.equal(p.mediaSequence, 5);
  assert.equal(p.targetDurationS, 1);
  assert.equal(p.ended, false);
  assert.deepEqual(p.segments.map((s) => [s.k, s.durationS, s.discontinuity, s.uri]), [[5, 1, false, 'seg-5.ts'], [6, 1, false, 'seg-6.ts'], [7, 0.96, true, 'seg-7.ts']]);
  assert.equal(p.segments[0]!.pdtMs, Date.parse('2026-11-24T07:58:02.033Z'));
  assert.equal(p.segments[2]!.pdtMs, Date.parse('2026-11-24T07:58:04.033Z'));
});

test('tolerant: CRLF, BOM, unknown tags, titles, paths and queries in URIs, ENDLIST', () => {
  const text = '\ufeff#EXTM3U\r\n#EXT-X-FOO:bar\r\n#EXTINF:2,title, with comma\r\n/x/y/seg-12.ts?a=1\r\n#EXTINF:2.5,\r\nseg-13.ts\r\n#EXT-X-ENDLIST\r\n';
  const p = parseWorkerPlaylist(text);
  assert.deepEqual(p.segments.map((s) => [s.k, s.durationS, s.pdtMs]), [[12, 2, null], [13, 2.5, null]]);
  assert.equal(p.ended, true);
});

test('segments without a usable EXTINF or name are skipped, duplicates keep the last, order by k', () => {
  const text = [
    '#EXTM3U',
    'seg-1.ts', // no EXTINF
    '#EXTINF:abc,', 'seg-2.ts', // bad duration
    '#EXTINF:0,', 'seg-3.ts', // zero
    '#EXTINF:9999,', 'seg-4.ts', // absurd
    '#EXTINF:2,', 'other-5.ts', // not a worker name
    '#EXTINF:2,', 'seg-6.ts.tmp', // ffmpeg's temp file
    '#EXTINF:2,', 'seg-9.ts',
    '#EXTINF:2,', 'seg-8.ts',
    '#EXTINF:1.5,', 'seg-8.ts',
    '#EXTINF:2,', // truncated at the end: no URI
  ].join('\n');
  assert.deepEqual(parseWorkerPlaylist(text).segments.map((s) => [s.k, s.durationS]), [[8, 1.5], [9, 2]]);
});

test('not a playlist, or too large: WorkerPlaylistError; too many segments: the last ones', () => {
  assert.throws(() => parseWorkerPlaylist('<html>'), (err: Error) => err instanceof WorkerPlaylistError && /does not start with #EXTM3U \(it starts with "<html>"\)/.test(err.message));
  assert.throws(() => parseWorkerPlaylist(''), /\(it is empty\)/, 'what it was shows in the log');
  assert.throws(() => parseWorkerPlaylist(`#EXTM3U\n${'#'.repeat(workerPlaylistCharsMax)}`), /more than/);
  const many = ['#EXTM3U', ...Array.from({ length: workerSegmentsMax + 10 }, (_, k) => `#EXTINF:1,\nseg-${k}.ts`)].join('\n');
  const segments = parseWorkerPlaylist(many).segments;
  assert.equal(segments.length, workerSegmentsMax);
  assert.equal(segments[0]!.k, 10);
});

test('date-times: formatting and parsing agree with Date, bad ones are null', () => {
  for (const ms of [0, 951_782_400_000, 1_709_164_800_123, 1_798_761_599_999, 4_102_444_800_000]) {
    assert.equal(formatIsoMs(ms), new Date(ms).toISOString());
    assert.equal(parseIsoMs(formatIsoMs(ms)), ms);
  }
  assert.equal(parseIsoMs('2024-02-29T12:00:00-05:30'), Date.parse('2024-02-29T12:00:00-05:30'));
  assert.equal(parseIsoMs('2024-02-29T12:00:00.5'), Date.parse('2024-02-29T12:00:00.500Z'));
  for (const bad of ['2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', 'yesterday', '2024-01-01T24:00:00Z', '2024-01-01 00:00:00Z', '1969-12-31T23:59:59Z']) {
    assert.equal(parseIsoMs(bad), null, bad);
  }
});
