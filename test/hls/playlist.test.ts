// The public playlist's text, exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { renderPlaylist } from '../../node/hls/playlist.ts';

const t0 = Date.parse('2026-08-22T10:00:00.000Z');

test('header, DISCONTINUITY-SEQUENCE, PDT on every segment, 3-decimal EXTINF, relative <n>.ts URIs', () => {
  const text = renderPlaylist({
    targetDurationS: 2, mediaSequence: 1234, discontinuitySequence: 7,
    segments: [
      { n: 1234, durationS: 2, discontinuity: false, pdtMs: t0 },
      { n: 1235, durationS: 1.96, discontinuity: true, pdtMs: t0 + 2000 },
      { n: 1236, durationS: 2.0004, discontinuity: false, pdtMs: t0 + 3960 },
    ],
  });
  assert.equal(text, [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:2',
    '#EXT-X-MEDIA-SEQUENCE:1234',
    '#EXT-X-DISCONTINUITY-SEQUENCE:7',
    '#EXT-X-PROGRAM-DATE-TIME:2026-08-22T10:00:00.000Z',
    '#EXTINF:2.000,',
    '1234.ts',
    '#EXT-X-DISCONTINUITY',
    '#EXT-X-PROGRAM-DATE-TIME:2026-08-22T10:00:02.000Z',
    '#EXTINF:1.960,',
    '1235.ts',
    '#EXT-X-PROGRAM-DATE-TIME:2026-08-22T10:00:03.960Z',
    '#EXTINF:2.000,',
    '1236.ts',
    '',
  ].join('\n'));
  assert.doesNotMatch(text, /ENDLIST|PLAYLIST-TYPE|\r/);
});

test('a signed viewer\'s query is appended to every segment URI', () => {
  const text = renderPlaylist({ targetDurationS: 6, mediaSequence: 0, discontinuitySequence: 0, segments: [{ n: 0, durationS: 6, discontinuity: false, pdtMs: t0 }, { n: 1, durationS: 6, discontinuity: false, pdtMs: t0 + 6000 }] }, 'exp=1900000000&sig=ab');
  assert.deepEqual(text.split('\n').filter((l) => l.endsWith('sig=ab')), ['0.ts?exp=1900000000&sig=ab', '1.ts?exp=1900000000&sig=ab']);
});

test('an empty window still says where the next segment starts', () => {
  assert.equal(renderPlaylist({ targetDurationS: 2, mediaSequence: 5, discontinuitySequence: 0, segments: [] }),
    '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n');
});
