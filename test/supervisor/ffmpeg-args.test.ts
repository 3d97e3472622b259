// Golden tests of the ffmpeg command line: each file in golden/ holds a spec and the exact
// argument array expected for it (one per scheme and profile). After an intended change, run
//   node --test test/supervisor/ffmpeg-args.test.ts -- --rewrite
// (or REWRITE=1 node --test ...) and review the diff of golden/ like any code change.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildFfmpegArgs, buildProbeArgs, checkSourceUrl, isHlsUrl } from '../../node/supervisor/ffmpeg-args.ts';
import type { FfmpegArgsSpec } from '../../node/supervisor/ffmpeg-args.ts';
import { UnsafeSourceError } from '../../node/supervisor/errors.ts';
import type { SourceRecord } from '../../node/state/stream-types.ts';

const goldenDir = join(import.meta.dirname, 'golden');
const rewrite = process.env['REWRITE'] === '1' || process.argv.includes('--rewrite');

interface Golden {
  readonly comment: string;
  /** 'stream' (default): buildFfmpegArgs(spec); 'probe': buildProbeArgs(spec.source, probeS). */
  readonly kind?: 'stream' | 'probe';
  readonly probeS?: number;
  readonly spec: FfmpegArgsSpec;
  readonly args: string[];
}

for (const name of readdirSync(goldenDir).filter((f) => f.endsWith('.json')).sort()) {
  test(`golden ${name}`, () => {
    const path = join(goldenDir, name);
    const golden = JSON.parse(readFileSync(path, 'utf8')) as Golden;
    const args = golden.kind === 'probe' ? buildProbeArgs(golden.spec.source, golden.probeS ?? 2) : buildFfmpegArgs(golden.spec);
    if (rewrite) {
      writeFileSync(path, `${JSON.stringify({ ...golden, args }, null, 2)}\n`);
      return;
    }
    assert.deepEqual(args, golden.args);
  });
}

test('golden files cover every scheme and both kinds of profile', () => {
  const specs = readdirSync(goldenDir).filter((f) => f.endsWith('.json')).map((f) => (JSON.parse(readFileSync(join(goldenDir, f), 'utf8')) as Golden).spec);
  const schemes = new Set(specs.map((s) => s.source.url.slice(0, s.source.url.indexOf(':'))));
  assert.deepEqual([...schemes].sort(), ['http', 'https', 'rtmp', 'rtmps', 'rtp', 'srt', 'udp']);
  assert.ok(specs.some((s) => s.profile === 'copy') && specs.some((s) => s.profile !== 'copy'));
});

const source = (url: string, extra: Partial<SourceRecord> = {}): SourceRecord => ({ url, priority: 0, userAgent: null, referrer: null, ...extra });
const spec = (src: SourceRecord): FfmpegArgsSpec => ({ source: src, profile: 'copy', dir: '/data/streams/news/3', segmentS: 2, listSize: 9, startNumber: 0 });

test('refuses sources ffmpeg could read as an option, a local file or a protocol chain', () => {
  const refused = [
    '-i', '-f lavfi', 'file:///etc/passwd', 'pipe:0', 'concat:http://a/1.ts|http://a/2.ts', 'subfile,,start,0,end,1,,:http://x/a.ts',
    'crypto+http://x/a.ts', 'cache:http://x/a.ts', 'async:http://x/', 'data:text/plain,hi', 'hls+http://x/a.m3u8', 'tee:http://x',
    'ftp://x/a.ts', 'sftp://x/a.ts', 'gopher://x/', 'unix:///tmp/sock', 'tcp://1.2.3.4:5', 'rist://x:1', 'zmq:tcp://x',
    'http://x/a.ts|file:/etc/passwd', 'http://x/get?u=file:/etc/passwd', 'http://x/a,concat:b', 'udp://x:1?x=1|y', 'http://x/a b.ts',
    'http://x/a\n.ts', 'https:/x/a.ts', 'http:x', '/etc/passwd', 'news.ts', '',
  ];
  for (const url of refused) {
    assert.throws(() => checkSourceUrl(url), (err: unknown) => err instanceof UnsafeSourceError && err.name === 'UnsafeSourceError', url);
    assert.throws(() => buildFfmpegArgs(spec(source(url))), UnsafeSourceError, url);
  }
});

test('accepts ordinary network URLs, hosts named like protocols included', () => {
  const accepted = [
    'http://cache:8080/live.ts', 'http://file:80/x.ts', 'HTTP://Example.com/Live.TS', 'https://cdn.example/a/b.m3u8?token=a:b',
    'udp://239.1.1.1:1234', 'udp://@239.1.1.1:1234?localaddr=10.0.0.2', 'rtp://239.0.0.1:5004', 'rtmp://x/live/key', 'rtmps://x:443/live/key',
    'srt://x:9000?mode=caller&latency=200000', 'http://[::1]:8080/a.ts',
  ];
  for (const url of accepted) assert.doesNotThrow(() => checkSourceUrl(url), url);
});

test('refuses a user agent or referrer with a line break (header injection)', () => {
  assert.throws(() => buildFfmpegArgs(spec(source('http://x/a.ts', { userAgent: 'VLC\r\nX-Evil: 1' }))), UnsafeSourceError);
  assert.throws(() => buildFfmpegArgs(spec(source('http://x/a.ts', { referrer: 'http://r/\n' }))), UnsafeSourceError);
});

test('refuses an output directory ffmpeg would misread', () => {
  for (const dir of ['relative/dir', '/data/streams/news/3/', '/data/%d/x']) {
    assert.throws(() => buildFfmpegArgs({ ...spec(source('udp://239.1.1.1:1234')), dir }), { name: 'InvalidStreamSpecError' });
  }
  assert.throws(() => buildFfmpegArgs({ ...spec(source('udp://239.1.1.1:1234')), startNumber: -1 }), { name: 'InvalidStreamSpecError' });
});

test('an HLS source is told apart by its path, not its query', () => {
  assert.equal(isHlsUrl('https://x/live/index.m3u8?token=1'), true);
  assert.equal(isHlsUrl('http://x/playlist.M3U'), true);
  assert.equal(isHlsUrl('http://x/live.ts?f=a.m3u8'), false);
  assert.equal(isHlsUrl('udp://x/a.m3u8'), false);
});

test('the source URL is one argument, right after -i, and nothing else comes from the source unquoted', () => {
  const url = 'http://x/a.ts?q=1&r=2';
  const args = buildFfmpegArgs(spec(source(url, { userAgent: 'My Agent/1.0 (x; y)' })));
  assert.equal(args[args.indexOf('-i') + 1], url);
  assert.equal(args.filter((a) => a === '-i').length, 1);
  assert.equal(args[args.indexOf('-user_agent') + 1], 'My Agent/1.0 (x; y)');
});
