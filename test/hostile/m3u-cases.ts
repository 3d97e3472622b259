// Malformed, hostile and huge M3U playlists for POST /api/v1/import/m3u, made from a seed:
// truncated, binary, mixed line endings and BOMs, attributes with quotes and line breaks, giant
// lines, hostile source URLs, and playlists with many entries. The generators are pure (a seed
// in, text out); runImportCase sends one and checks the answer, for the test and for
// `npm run hostile`.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { HostileApp } from './hostile-app.ts';
import { bearer } from '../http/team.ts';
import type { Rng } from '../sim/rng.ts';

/** A real playlist to damage, when ../shared/data/m3u is here (CI has it; it is not copied into
 *  the project). */
export function realPlaylists(): string[] {
  const path = join(import.meta.dirname, '../../../shared/data/m3u/iptv-org_us.m3u');
  return existsSync(path) ? [readFileSync(path, 'utf8')] : [];
}

/** An import that takes longer than this (in-process, dry run or a few thousand entries) is a failure. */
export const importTimeMsMax = 20_000;

/** A well-formed entry, as iptv-org writes them. */
export function entry(i: number, url = `http://127.0.0.1:9/ch${i}.m3u8`): string {
  return `#EXTINF:-1 tvg-id="Ch${i}.us" tvg-logo="https://logo.example/${i}.png" group-title="News",Channel ${i} (720p)\n${url}\n`;
}

export function playlist(n: number, from = 0): string {
  let text = '#EXTM3U x-tvg-url="https://epg.example/guide.xml.gz"\n';
  for (let i = from; i < from + n; i++) text += entry(i);
  return text;
}

/** Hostile source URLs an import must skip (never create), each with why. */
export const refusedUrls: readonly string[] = [
  'file:///etc/passwd', 'pipe://ffmpeg -i https://example.com/x -f mpegts pipe:1', 'pipe:0', 'concat:http://127.0.0.1:9/a|http://127.0.0.1:9/b',
  'subfile,,start,0,end,100,,:/etc/shadow', 'data:video/mp2t;base64,R0VU', 'http://127.0.0.1:9/x?subfile,,start,0,,:/etc/passwd',
  'http://127.0.0.1:9/x,file:/etc/passwd', 'rtsp://127.0.0.1/x', 'gopher://127.0.0.1:70/1', 'ftp://127.0.0.1/x.ts', 'tcp://127.0.0.1:9', 'crypto:http://127.0.0.1:9/x',
  'hls+http://127.0.0.1:9/x.m3u8', 'async:http://127.0.0.1:9/x',
];

/** URLs with shell metacharacters that are still plain http URLs: created, and handed to ffmpeg
 *  as one argument (never a shell). */
export const shellyHttpUrls: readonly string[] = [
  'http://127.0.0.1:9/$(touch${IFS}/tmp/ottmesh-pwned)', 'http://127.0.0.1:9/`id`', 'http://127.0.0.1:9/a;rm${IFS}-rf${IFS}/', 'http://127.0.0.1:9/a&&id',
  'http://user:p%40ss@127.0.0.1:65535/x.ts', "http://127.0.0.1:9/'\"><x>", 'http://127.0.0.1:9/%0a-f%20null',
];

export interface ImportCase {
  readonly name: string;
  /** The body: text, or bytes sent as they are. */
  readonly body: string | Uint8Array;
  readonly contentType?: string;
  readonly query?: string;
  /** Default {@link importTimeMsMax}. */
  readonly timeMsMax?: number;
  /** What the answer must be: a refusal with this status, or an import (2xx). */
  readonly expect: { readonly refused: number; readonly message?: RegExp } | { readonly imported: true } | { readonly nothingImported: true } | { readonly anyClearAnswer: true };
}

/** The fixed cases: each says what the answer must be. */
export function fixedCases(rng: Rng): ImportCase[] {
  const base = playlist(40);
  const crlfMixed = base.split('\n').map((line, i) => `${line}${['\r\n', '\n', '\r', '\n\r'][i % 4]}`).join('');
  const quotes = [
    '#EXTM3U',
    '#EXTINF:-1 tvg-id="a"b" tvg-name="unterminated,Quote in attr',
    'http://127.0.0.1:9/q1.ts',
    '#EXTINF:-1 tvg-name="line',
    'break" group-title="x",Name after a broken line',
    'http://127.0.0.1:9/q2.ts',
    '#EXTINF:-1 tvg-id="\u0000nul\u0007bell" group-title="<script>",Title with \u0000 NUL and \u202e RTL',
    'http://127.0.0.1:9/q3.ts',
    '#EXTVLCOPT:http-user-agent=Mozilla\u0001\u001b[31m',
    '#EXTINF:-1,Agent with control characters',
    'http://127.0.0.1:9/q4.ts',
    '#EXTINF:-1,Kodi suffix with a control character',
    'http://127.0.0.1:9/q5.ts|User-Agent=A\u0007B&Referer=http://127.0.0.1/',
    '#EXTINF:-1 tvg-id="' + '"'.repeat(5000) + '",Five thousand quotes',
    'http://127.0.0.1:9/q6.ts',
    '#EXTINF:-1 ' + 'a="b" '.repeat(20_000) + ',Twenty thousand attributes',
    'http://127.0.0.1:9/q7.ts',
  ].join('\n');
  const hostile = ['#EXTM3U', ...refusedUrls.flatMap((u, i) => [`#EXTINF:-1,Refused ${i}`, u]), ...shellyHttpUrls.flatMap((u, i) => [`#EXTINF:-1,Shelly ${i}`, u])].join('\n');
  const bytes = Uint8Array.from({ length: 64 * 1024 }, () => rng.int(0, 255));
  return [
    { name: 'well-formed (40 entries)', body: base, expect: { imported: true } },
    { name: 'truncated in the middle of an attribute', body: base.slice(0, base.indexOf('tvg-logo', 2000) + 12), expect: { imported: true } },
    { name: 'truncated after #EXTINF (nothing imported, the entry skipped: no URL)', body: '#EXTM3U\n#EXTINF:-1 tvg-id="x",Only a title', expect: { imported: true } },
    { name: 'empty body', body: '', expect: { refused: 400 } },
    { name: 'only a BOM', body: '\ufeff', expect: { refused: 400, message: /M3U/ } },
    { name: 'binary (64 KiB of random bytes)', body: bytes, contentType: 'audio/x-mpegurl', expect: { nothingImported: true } },
    { name: 'a JPEG header', body: Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]), expect: { refused: 400, message: /M3U/ } },
    { name: 'UTF-16 with a BOM', body: new Uint8Array(Buffer.from(`\ufeff${playlist(3)}`, 'utf16le')), expect: { refused: 400, message: /M3U/ } },
    { name: 'CRLF, LF, CR and LFCR mixed, BOM first', body: `\ufeff${crlfMixed}`, expect: { imported: true } },
    { name: 'a BOM in the middle and NUL bytes between lines', body: `${playlist(3)}\ufeff${entry(50)}\u0000\n${entry(51)}`, expect: { imported: true } },
    { name: 'quotes, line breaks and control characters in attributes', body: quotes, expect: { imported: true } },
    { name: 'hostile source URLs', body: hostile, expect: { imported: true } },
    { name: 'a JSON body', body: '{"streams":[]}', contentType: 'application/json', expect: { refused: 415, message: /Content-Type/ } },
    { name: 'no content type', body: base, contentType: '', expect: { refused: 415 } },
    { name: 'XML content type', body: base, contentType: 'application/xml', expect: { refused: 415 } },
    { name: 'an unknown service', body: base, query: '?service=nope', expect: { refused: 400, message: /unknown service nope/ } },
    { name: 'a service id with a path in it', body: base, query: '?service=..%2F..%2Fetc', expect: { refused: 400 } },
    { name: 'dryRun that is not a boolean', body: base, query: '?dryRun=perhaps', expect: { refused: 400 } },
    { name: 'an unknown query parameter', body: base, query: '?exec=1', expect: { refused: 400, message: /unknown field "exec"/ } },
  ];
}

/** `count` playlists made from well-formed ones by random damage (cuts, byte flips, line ending
 *  swaps, junk and hostile lines, BOMs and NULs): each must get a clear answer. `base` adds a
 *  real playlist to damage (e.g. ../shared/data/m3u/iptv-org_us.m3u when present). */
export function mutatedCases(rng: Rng, count: number, base: readonly string[] = []): ImportCase[] {
  const sources = [playlist(60), ...base];
  const junk = ['#EXTINF:', '#EXTINF:-1 tvg-id="', '#EXTVLCOPT:http-user-agent=\u0001', '#KODIPROP:', '"', ',', '|User-Agent=x', '\ufeff', '\u0000', ...refusedUrls, ...shellyHttpUrls];
  const cases: ImportCase[] = [];
  for (let i = 0; i < count; i++) {
    let text = rng.pick(sources);
    const damage: string[] = [];
    for (let d = rng.int(1, 4); d > 0; d--) {
      const kind = rng.int(0, 5);
      const at = rng.int(0, Math.max(0, text.length - 1));
      if (kind === 0) { text = text.slice(0, at); damage.push(`cut at ${at}`); }
      else if (kind === 1) { text = text.replace(/\n/g, () => rng.pick(['\n', '\r\n', '\r', '\n\n'])); damage.push('line endings'); }
      else if (kind === 2) { text = `${text.slice(0, at)}${rng.pick(junk)}${text.slice(at)}`; damage.push(`junk at ${at}`); }
      else if (kind === 3) { const lines = text.split('\n'); const l = rng.int(0, lines.length - 1); lines.splice(l, 0, ...Array.from({ length: rng.int(1, 50) }, () => lines[l] ?? '')); text = lines.join('\n'); damage.push(`line ${l} repeated`); }
      else if (kind === 4) { text = `${text.slice(0, at)}${rng.pick(['\ufeff', '\u0000', '\ud800', '\r'])}${text.slice(at)}`; damage.push(`odd character at ${at}`); }
      else { const bytes = Buffer.from(text, 'utf8'); for (let f = rng.int(1, 64); f > 0 && bytes.length > 0; f--) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255); text = bytes.toString('latin1'); damage.push('bytes flipped'); }
    }
    cases.push({ name: `damaged #${i} (${damage.join(', ')})`, body: text, contentType: rng.pick(['audio/x-mpegurl', 'text/plain', 'application/vnd.apple.mpegurl']), query: rng.chance(0.3) ? '?dryRun=true' : '', expect: { anyClearAnswer: true } });
  }
  return cases;
}

/** Big inputs, each bounded in time and memory. `huge` adds the ones that take longer. */
export function bigCases(huge: boolean): ImportCase[] {
  const spaces = `#EXTM3U\n#EXTINF:-1${' '.repeat(15 * 1024 * 1024)}x,Spaces\nhttp://127.0.0.1:9/s.ts\n`;
  const giantUrl = `#EXTM3U\n#EXTINF:-1,Giant URL\nhttp://127.0.0.1:9/${'a'.repeat(3 * 1024 * 1024)}\n${entry(1)}`;
  const giantTitle = `#EXTM3U\n#EXTINF:-1,${'T'.repeat(4 * 1024 * 1024)}\nfile:///etc/passwd\n`;
  const many = (n: number) => {
    const parts = ['#EXTM3U\n'];
    for (let i = 0; i < n; i++) parts.push(`#EXTINF:-1,C${i}\nhttp://127.0.0.1:9/${i}\n`);
    return parts.join('');
  };
  const cases: ImportCase[] = [
    { name: 'a 50 MB body', body: 'x'.repeat(50 * 1024 * 1024), expect: { refused: 413, message: /larger than/ } },
    { name: 'a 15 MiB line of spaces inside #EXTINF', body: spaces, expect: { imported: true } },
    { name: 'a 3 MiB URL', body: giantUrl, expect: { imported: true } },
    { name: 'a 4 MiB title (echoed cut short)', body: giantTitle, expect: { imported: true } },
    { name: '100,000 entries (dry run)', body: many(100_000), query: '?dryRun=true', expect: { imported: true } },
  ];
  // Every created stream copies the streams table (node/state's withEntry): quadratic, about 20 s
  // here for 10,000 (reported; a batch command would make it linear).
  if (huge) cases.push({ name: '12,000 entries (10,000 streams at most)', body: many(12_000), expect: { imported: true }, timeMsMax: 90_000 });
  else cases.push({ name: '1,500 entries', body: many(1_500), expect: { imported: true } });
  return cases;
}

export interface ImportOutcome {
  readonly name: string;
  readonly status: number;
  readonly ms: number;
  readonly created: number;
  readonly skipped: number;
  readonly rssGrowthMiB: number;
}

/** Sends one case and checks its answer: a refusal as expected (JSON message, nothing changed),
 *  or an import whose created ids are exactly the streams added and whose skipped entries each
 *  carry a line and a reason. Throws (assert) otherwise. */
export async function runImportCase(h: HostileApp, c: ImportCase): Promise<ImportOutcome> {
  const before = h.api.current;
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const headers: Record<string, string> = { ...bearer('admin') };
  const type = c.contentType ?? 'audio/x-mpegurl';
  if (type !== '') headers['content-type'] = type;
  const res = await h.app.inject({ method: 'POST', url: `/api/v1/import/m3u${c.query ?? ''}`, headers, payload: typeof c.body === 'string' ? c.body : Buffer.from(c.body) });
  const ms = Math.round(performance.now() - started);
  const rssGrowthMiB = Math.round((process.memoryUsage().rss - rssBefore) / (1024 * 1024));
  assert.ok(ms < (c.timeMsMax ?? importTimeMsMax), `${c.name}: took ${ms} ms`);
  assert.ok(res.statusCode < 500, `${c.name}: answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
  // Random bytes may hold something shaped like a URL ("t5:..."): refused whole, or skipped.
  const refusedWhole = 'nothingImported' in c.expect || 'anyClearAnswer' in c.expect ? res.statusCode >= 400 : 'refused' in c.expect;
  if (refusedWhole) {
    if ('refused' in c.expect) assert.equal(res.statusCode, c.expect.refused, `${c.name}: ${res.body.slice(0, 300)}`);
    assert.match(String(res.headers['content-type']), /^application\/json/, `${c.name}: a JSON error`);
    const message = (JSON.parse(res.body) as { message: string }).message;
    if ('message' in c.expect && c.expect.message !== undefined) assert.match(message, c.expect.message, c.name);
    assert.equal(h.api.current, before, `${c.name}: refused, so nothing changed`);
    return { name: c.name, status: res.statusCode, ms, created: 0, skipped: 0, rssGrowthMiB };
  }
  assert.equal(res.statusCode, 200, `${c.name}: ${res.body.slice(0, 300)}`);
  const body = JSON.parse(res.body) as { created: string[]; skipped: { line: number; title: string; reason: string }[] };
  const added = Object.keys(h.api.current.streams).filter((id) => !Object.hasOwn(before.streams, id)).sort();
  const dryRun = /dryRun=true/.test(c.query ?? '');
  if ('nothingImported' in c.expect) assert.deepEqual(body.created, [], `${c.name}: nothing created`);
  assert.deepEqual(added, dryRun ? [] : [...body.created].sort(), `${c.name}: the streams added are exactly those it says it created`);
  for (const s of body.skipped) {
    assert.ok(Number.isInteger(s.line) && s.line >= 1, `${c.name}: a skipped entry names its line`);
    assert.ok(s.reason.length >= 10, `${c.name}: a skipped entry says why: ${JSON.stringify(s).slice(0, 200)}`);
    assert.ok(s.title.length <= 257, `${c.name}: titles are echoed cut short`);
  }
  return { name: c.name, status: res.statusCode, ms, created: body.created.length, skipped: body.skipped.length, rssGrowthMiB };
}
