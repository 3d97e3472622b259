// Hostile source URLs on stream create, replace and change, and on the probe (the operator's and
// the node-to-node one), against the in-process node: shell metacharacters, `pipe:`, `file:`,
// `concat:`, `subfile,`, `data:`, local paths, options, protocol chains after a host, line
// breaks for ffmpeg's arguments. A worker would refuse each of them, so the API does: 400 with
// the reason, nothing written, nothing probed. Allowed http URLs with odd characters are
// accepted and reach ffmpeg as one argument (node processes: cluster.test.ts shows no ffmpeg is
// started for a refused source and no shell runs for an accepted one).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { buildFfmpegArgs, buildProbeArgs } from '../../node/supervisor/index.ts';
import { bearer } from '../http/team.ts';
import { assertRefusal } from './checks.ts';
import { hostileApp } from './hostile-app.ts';
import type { HostileApp } from './hostile-app.ts';

let h: HostileApp;
before(async () => {
  h = await hostileApp();
});
after(() => h.close());

/** Each is refused by the API, with a reason matching the pattern. */
export const refusedSources: readonly [string, RegExp][] = [
  ['; rm -rf /', /not an absolute URL/],
  ['$(id)', /not an absolute URL/],
  ['`id`', /not an absolute URL/],
  ['| cat /etc/passwd', /not an absolute URL/],
  ['/etc/passwd', /not an absolute URL/],
  ['./relative.ts', /not an absolute URL/],
  ['-i /etc/passwd', /not an absolute URL|option/],
  ['pipe:0', /scheme "pipe:" is not allowed/],
  ['pipe://ffmpeg -i http://127.0.0.1:9/x -f mpegts pipe:1', /scheme "pipe:" is not allowed/],
  ['file:///etc/passwd', /scheme "file:" is not allowed/],
  ['FILE:/etc/passwd', /scheme "file:" is not allowed/],
  ['concat:http://127.0.0.1:9/a|http://127.0.0.1:9/b', /scheme "concat:" is not allowed/],
  ['subfile,,start,0,end,10,,:/etc/passwd', /not an absolute URL/],
  ['data:text/plain;base64,aGk=', /scheme "data:" is not allowed/],
  ['gopher://127.0.0.1:70/1', /scheme "gopher:" is not allowed/],
  ['http:/etc/passwd', /must be http:\/\//],
  ['http://127.0.0.1:9/a|file:/etc/passwd', /another protocol/],
  ['http://127.0.0.1:9/a|b', /another protocol/],
  ['http://127.0.0.1:9/x?concat:http://a', /another protocol/],
  ['http://127.0.0.1:9/x/subfile,,start,0,,:/etc/passwd', /another protocol/],
  ['https://127.0.0.1:9/hls,pipe:1', /another protocol/],
  ['http://127.0.0.1:9/a\n-f null -y /etc/passwd', /control characters/],
  ['http://127.0.0.1:9/a\r\nX: y', /control characters/],
  ['http://127.0.0.1:9/a b', /spaces or control characters/],
  ['http://127.0.0.1:9/a\u0000b', /control characters/],
  ['http://127.0.0.1:9/a\tb', /control characters/],
  [`http://127.0.0.1:9/${'a'.repeat(2100)}`, /must NOT have more than 2048|2048/],
  ['http://127.0.0.1:99999/x.ts', /port 99999: a port is 1-65535/],
  ['udp://239.0.0.1:0', /port 0: a port is 1-65535/],
  ['http://user:pw@[::1]:123456/x', /port 123456/],
];

/** Plain http(s) URLs with characters a shell would treat specially: accepted, one argument. */
export const acceptedOddSources: readonly string[] = [
  'http://127.0.0.1:9/$(touch${IFS}/tmp/ottmesh-pwned)', 'http://127.0.0.1:9/`id`', 'http://127.0.0.1:9/a;id', 'http://127.0.0.1:9/a&&id',
  'http://user:p%40ss@127.0.0.1:65535/x.ts', 'https://[::1]:8443/live.m3u8?token=a%0Ab', "http://127.0.0.1:9/'\"><>", 'http://127.0.0.1:1/x.ts#frag',
];

/** PATCH bodies carry no defaults (schemas.ts withoutDefaults), so a source names every field. */
const fullSource = { priority: 0, userAgent: null, referrer: null };
const streamBody = (url: string, extra: Record<string, unknown> = {}) => ({ id: 'hostile', name: 'Hostile', sources: [{ url, ...extra }] });

test('create, replace and change with a hostile source: 400 with the reason, nothing written', { timeout: 30_000 }, async () => {
  for (const [url, reason] of refusedSources) {
    const before = h.api.current;
    const what = JSON.stringify(url.slice(0, 50));
    assertRefusal(await h.app.inject({ method: 'POST', url: '/api/v1/streams', headers: bearer('admin'), payload: streamBody(url) }), 400, reason, `POST ${what}`);
    assertRefusal(await h.app.inject({ method: 'PUT', url: '/api/v1/streams/free', headers: bearer('admin'), payload: { name: 'Free', sources: [{ url }] } }), 400, reason, `PUT ${what}`);
    assertRefusal(await h.app.inject({ method: 'PATCH', url: '/api/v1/streams/free', headers: bearer('admin'), payload: { sources: [{ ...fullSource, url: 'http://127.0.0.1:9/ok.ts' }, { ...fullSource, url }] } }), 400, reason, `PATCH ${what}`);
    assert.equal(h.api.current, before, `${what}: nothing written`);
  }
});

test('user agent and referrer with line breaks or control characters (header injection into ffmpeg): 400', async () => {
  for (const [field, value] of [['userAgent', 'VLC\r\nX-Injected: 1'], ['referrer', 'http://a/\nb'], ['userAgent', 'VLC\u0001'], ['referrer', 'x\u001b[31m'], ['userAgent', 'a\u007f']] as const) {
    const before = h.api.current;
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/streams', headers: bearer('admin'), payload: streamBody('http://127.0.0.1:9/x.ts', { [field]: value }) });
    assertRefusal(res, 400, /one line|line break or control character/, `${field} ${JSON.stringify(value)}`);
    assert.equal(h.api.current, before);
  }
});

test('probe (operator and node to node) with a hostile source: 400, nothing probed', { timeout: 30_000 }, async () => {
  const probedBefore = h.api.probed.length;
  for (const [url, reason] of refusedSources) {
    const what = JSON.stringify(url.slice(0, 50));
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/probe', headers: bearer('admin'), payload: { url } });
    assertRefusal(res, 400, reason, `probe ${what}`);
    const internal = await h.app.inject({ method: 'POST', url: '/internal/v1/probe', headers: { authorization: `Bearer ${h.api.internalToken()}` }, payload: { url } });
    assertRefusal(internal, 400, reason, `internal probe ${what}`);
  }
  const agent = await h.app.inject({ method: 'POST', url: '/api/v1/probe', headers: bearer('admin'), payload: { url: 'http://127.0.0.1:9/x.ts', userAgent: 'a\u0001b' } });
  assertRefusal(agent, 400, /control character/);
  assert.equal(h.api.probed.length, probedBefore, 'nothing was probed');
});

test('regression: what the API accepted and a worker then refused (or a probe answered 500 for) is a 400 now', async () => {
  // Before: 201 (the stream never ran: the supervisor refused it), and a probe answered 500
  // because the node's probe threw UnsafeSourceError.
  for (const url of ['http://127.0.0.1:9/a|b', 'http://127.0.0.1:9/x?subfile,,start,0,,:/etc/passwd']) {
    assertRefusal(await h.app.inject({ method: 'POST', url: '/api/v1/streams', headers: bearer('admin'), payload: streamBody(url) }), 400, /another protocol/, url);
    assertRefusal(await h.app.inject({ method: 'POST', url: '/api/v1/probe', headers: bearer('admin'), payload: { url } }), 400, /another protocol/, url);
  }
  assertRefusal(await h.app.inject({ method: 'POST', url: '/api/v1/streams', headers: bearer('admin'), payload: streamBody('http://127.0.0.1:9/x.ts', { userAgent: 'VLC\u0007' }) }), 400, /control character/);
  // What real sources look like still passes: multicast with '@', IPv6, no port, a port at the top.
  for (const [i, url] of ['udp://@239.0.0.1:1234', 'rtp://239.1.1.1:5004?localaddr=10.0.0.1', 'http://[::1]:8443/x.m3u8', 'rtmp://127.0.0.1/live/x', 'srt://127.0.0.1:65535?mode=caller', 'https://cdn.example/hls3/now,-1m/m.m3u8?ads.vf=1'].entries()) {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/streams', headers: bearer('admin'), payload: { ...streamBody(url), id: `real-${i}` } });
    assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
  }
});

test('http URLs with shell metacharacters are accepted as written and go to ffmpeg as one argument', async () => {
  for (const [i, url] of acceptedOddSources.entries()) {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/streams', headers: bearer('admin'), payload: { ...streamBody(url), id: `odd-${i}` } });
    assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
    assert.equal(h.api.current.streams[`odd-${i}`]?.sources[0]?.url, url);
    const source = { url, priority: 0, userAgent: 'UA; $(id)', referrer: null };
    for (const args of [buildFfmpegArgs({ source, profile: 'copy', dir: '/tmp/x', segmentS: 2, listSize: 6, startNumber: 0 }), buildProbeArgs(source, 1)]) {
      assert.equal(args[args.indexOf('-i') + 1], url, 'the URL is the one argument after -i');
      assert.equal(args[args.indexOf('-user_agent') + 1], 'UA; $(id)', 'the user agent is one argument');
    }
  }
});
