// The viewers' log parsing, on lines ffmpeg 5.1 printed while playing a node's stable URL.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openedSegment, playlistAnswered, viewerArgs } from '../../scripts/chaos/viewers.ts';

test('segment opens are read from ffmpeg\'s log; playlist reloads and other lines are not', () => {
  assert.equal(openedSegment("[hls @ 0x557545f4a180] Opening 'http://127.0.0.1:22328/live/s1/20.ts' for reading"), 20);
  assert.equal(openedSegment("[http @ 0x557545f59c40] Opening 'http://10.231.1.3:8080/live/news-1/123456.ts' for reading"), 123456);
  assert.equal(openedSegment("[hls @ 0x1] Opening 'http://h/live/s1/21.ts?exp=1&sig=ab' for reading"), 21, 'a signed URL');
  assert.equal(openedSegment("[http @ 0x557546068040] Opening 'http://127.0.0.1:22328/live/s1/index.m3u8' for reading"), null);
  assert.equal(openedSegment("[hls @ 0x557545f4a180] Skip ('#EXT-X-PROGRAM-DATE-TIME:2026-11-24T18:12:14.479Z')"), null);
  assert.equal(openedSegment('[hls @ 0x1] Failed to open segment 22 of playlist 0'), null);
});

test('a viewer copies to the null muxer with an I/O timeout, so a node that answers nothing ends the session', () => {
  const args = viewerArgs('http://n1/live/s1/index.m3u8');
  assert.deepEqual(args.slice(args.indexOf('-i')), ['-i', 'http://n1/live/s1/index.m3u8', '-c', 'copy', '-f', 'null', '-']);
  assert.equal(args[args.indexOf('-rw_timeout') + 1], '5000000');
  assert.equal(args[args.indexOf('-loglevel') + 1], 'info', 'segment opens are logged at info');
});

test('a parsed playlist is told by the tag ffmpeg skips first; retries and errors are not answers', () => {
  assert.equal(playlistAnswered("[hls @ 0x557545f4a180] Skip ('#EXT-X-VERSION:3')"), true);
  assert.equal(playlistAnswered("[hls @ 0x557545f4a180] Skip ('#EXT-X-PROGRAM-DATE-TIME:2026-11-24T18:12:14.479Z')"), false);
  assert.equal(playlistAnswered("[http @ 0x1] Opening 'http://n2/live/s1/index.m3u8' for reading"), false);
  assert.equal(playlistAnswered('[hls @ 0x1] keepalive request failed for \'http://n2/live/s1/index.m3u8\' with error: \'Connection timed out\' when opening url, retrying with new connection'), false);
});
