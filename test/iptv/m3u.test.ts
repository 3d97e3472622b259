// M3U import parsing: the quirks of real playlists (inline cases), and the real files in
// ../shared/data/m3u (read from there, never copied; skipped when absent; stream URLs inside are
// never fetched): entry counts match the files' #EXTINF lines.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { parseM3u, slugFor } from '../../node/iptv/m3u.ts';

const corpus = join(import.meta.dirname, '../../../shared/data/m3u');

test('BOM, CRLF, quoted attributes with commas, titles with commas, EXTGRP, EXTVLCOPT, blank lines, junk', () => {
  const text = '\uFEFF#EXTM3U x-tvg-url="http://epg/a.xml.gz, http://epg/b.xml.gz" tvg-shift="+3"\r\n' +
    '  #EXTINF:-1 tvg-ID="CH1" tvg-logo="http://logo/a.png,b.png" group-title="Music",Channel 1, with comma\r\n' +
    '#EXTVLCOPT:http-referrer=http://ref/\r\n' +
    '#EXTVLCOPT:http-user-agent="Dalvik/2.1.0 (Linux)"\r\n' +
    '\r\n' +
    'http://host/live/a.m3u8 \r\n' +
    '=========sudan=========\r\n' +
    '#EXTINF: -1, name,with comma\r\n' +
    '#EXTGRP:News\r\n' +
    'udp://239.0.0.1:1234\r\n' +
    '#EXTINF:-1,Lost\r\n' +
    '#EXTINF:-1,Last\r\n';
  const p = parseM3u(text);
  assert.deepEqual(p.header, { 'x-tvg-url': 'http://epg/a.xml.gz, http://epg/b.xml.gz', 'tvg-shift': '+3' });
  assert.equal(p.entries.length, 2);
  const [a, b] = p.entries;
  assert.deepEqual([a!.line, a!.title, a!.url, a!.group, a!.userAgent, a!.referrer], [2, 'Channel 1, with comma', 'http://host/live/a.m3u8', 'Music', 'Dalvik/2.1.0 (Linux)', 'http://ref/']);
  assert.equal(a!.attrs['tvg-id'], 'CH1');
  assert.equal(a!.attrs['tvg-logo'], 'http://logo/a.png,b.png');
  assert.deepEqual([b!.title, b!.group, b!.url], ['name,with comma', 'News', 'udp://239.0.0.1:1234']);
  assert.deepEqual(p.skipped, [{ line: 11, title: 'Lost', reason: 'no URL after #EXTINF' }, { line: 12, title: 'Last', reason: 'no URL after #EXTINF' }]);
});

test('Kodi headers after "|", KODIPROP kept, a comma between attributes, a title that starts with a comma', () => {
  const p = parseM3u([
    '#EXTM3U',
    '#EXTINF:-1 tvg-id="rtp1",RTP 1',
    '#KODIPROP:inputstream.adaptive.manifest_type=hls',
    'https://host/rtp1.m3u8|User-Agent=RTP Play/2.0&Referer=http://ref/',
    '#EXTINF:-1 tvg-name="重温经典",group-title="电影",重温经典',
    'rtp://239.3.1.1:8000',
    '#EXTINF:-1 tvg-name="动作影院" group-title="电影",,动作影院',
    'rtp://239.3.1.2:8000',
  ].join('\n'));
  const [kodi, cjk, lead] = p.entries;
  assert.deepEqual([kodi!.url, kodi!.userAgent, kodi!.referrer, kodi!.options['kodiprop:inputstream.adaptive.manifest_type']], ['https://host/rtp1.m3u8', 'RTP Play/2.0', 'http://ref/', 'hls']);
  assert.deepEqual([cjk!.title, cjk!.group], ['重温经典', '电影']);
  assert.equal(lead!.title, ',动作影院');
});

test('stream ids from tvg-id or the title, unique', () => {
  const taken = new Set(['news']);
  assert.equal(slugFor({ title: 'News', attrs: {} }, taken), 'news-2');
  assert.equal(slugFor({ title: 'x', attrs: { 'tvg-id': 'ABC.us@SD' } }, taken), 'abc-us-sd');
  assert.equal(slugFor({ title: 'Télé Québec (720p)', attrs: {} }, taken), 'tele-quebec-720p');
  assert.equal(slugFor({ title: '重温经典', attrs: {} }, taken), 'channel');
  assert.equal(slugFor({ title: '动作影院', attrs: {} }, taken), 'channel-2');
});

const expected: Record<string, { entries: number; skipped: number }> = {
  'iptv-org_us.m3u': { entries: 601, skipped: 0 },
  'iptv-org_in_distro_CRLF.m3u': { entries: 195, skipped: 0 },
  'free-tv_playlist.m3u8': { entries: 2059, skipped: 0 },
  'kodinerds_dash_tv_KODIPROP.m3u': { entries: 20, skipped: 0 },
  'yuechan_IPTV_catchup_rtp.m3u': { entries: 90, skipped: 0 },
  // 330 #EXTINF, 17 of them without a URL (../shared/data/m3u/README.md).
  'smolnp_IPTVru.m3u': { entries: 313, skipped: 17 },
};

for (const [file, counts] of Object.entries(expected)) {
  test(`the real playlist ${file}: counts match the file`, { skip: existsSync(join(corpus, file)) ? false : 'no ../shared/data/m3u here' }, () => {
    const p = parseM3u(readFileSync(join(corpus, file), 'utf8'));
    assert.deepEqual({ entries: p.entries.length, skipped: p.skipped.length }, counts);
    for (const e of p.entries) assert.ok(e.url !== '' && e.url === e.url.trim(), `${file}:${e.line}: a URL, trimmed`);
    if (file === 'yuechan_IPTV_catchup_rtp.m3u') {
      // Line 172: a comma between two attributes; line 162: a title that starts with a comma.
      const c = p.entries.find((e) => e.line === 172)!;
      assert.deepEqual([c.title, c.group, c.url], ['重温经典', '数字', 'rtp://239.3.1.25:8001']);
      assert.equal(p.entries.find((e) => e.line === 162)?.title, ',动作影院');
    }
  });
}
