// Signed viewer URLs and the internal token check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

import { checkInternalAuth, internalTokenFromNetworkKey } from '../../node/hls/internal-auth.ts';
import { checkViewerSignature, signedQuery, signedViewerUrl } from '../../node/hls/signing.ts';

const secret = 'a-secret-of-16-chars-or-more';
const nowMs = 1_800_000_000_000;

test('a signed URL: HMAC-SHA256 over "<stream>/<exp>", accepted until it expires', () => {
  const url = signedViewerUrl('http://gw.example:8080/', secret, 'news', 3600, nowMs);
  const params = new URL(url).searchParams;
  assert.equal(new URL(url).pathname, '/live/news/index.m3u8');
  const exp = params.get('exp')!;
  assert.equal(exp, String(nowMs / 1000 + 3600));
  assert.equal(params.get('sig'), createHmac('sha256', secret).update(`news/${exp}`).digest('hex'));
  const ok = checkViewerSignature(secret, 'news', exp, params.get('sig'), nowMs);
  assert.deepEqual(ok, { ok: true, query: signedQuery(secret, 'news', Number(exp)) });
  const upper = checkViewerSignature(secret, 'news', exp, params.get('sig')!.toUpperCase(), nowMs);
  assert.equal(upper.ok, true);
});

test('missing, malformed, wrong (other stream, other secret) and expired signatures say why', () => {
  const exp = String(nowMs / 1000 + 60);
  const good = createHmac('sha256', secret).update(`news/${exp}`).digest('hex');
  const cases: [unknown, unknown, string, number][] = [
    [undefined, good, 'missing', nowMs],
    [exp, undefined, 'missing', nowMs],
    ['', '', 'missing', nowMs],
    ['12x', good, 'bad-signature', nowMs],
    [exp, 'zz', 'bad-signature', nowMs],
    [exp, createHmac('sha256', secret).update(`sports/${exp}`).digest('hex'), 'bad-signature', nowMs],
    [exp, createHmac('sha256', 'another-secret-16-chars').update(`news/${exp}`).digest('hex'), 'bad-signature', nowMs],
    [String(Number(exp) + 1), good, 'bad-signature', nowMs],
    [exp, good, 'expired', nowMs + 61_000],
  ];
  for (const [e, s, problem, at] of cases) {
    const check = checkViewerSignature(secret, 'news', e, s, at);
    assert.equal(check.ok ? 'ok' : check.problem, problem, `${String(e)} ${String(s)}`);
    if (!check.ok) assert.ok(check.message.length > 20);
  }
});

test("a line's redirect binds its viewer token: without the token the signature fails", () => {
  const expS = nowMs / 1000 + 60;
  const params = new URLSearchParams(signedQuery(secret, 'news', expS, 'tok/en+1'));
  assert.equal(params.get('vt'), 'tok/en+1');
  const withToken = checkViewerSignature(secret, 'news', params.get('exp'), params.get('sig'), nowMs, params.get('vt'));
  assert.deepEqual(withToken, { ok: true, query: `exp=${expS}&sig=${params.get('sig')}&vt=${encodeURIComponent('tok/en+1')}` }, 'segments repeat the token');
  const stripped = checkViewerSignature(secret, 'news', params.get('exp'), params.get('sig'), nowMs);
  assert.equal(stripped.ok, false);
  assert.equal(checkViewerSignature(secret, 'news', params.get('exp'), params.get('sig'), nowMs, 'another').ok, false);
});

test('internal token: derived from the network key, checked in constant time, clear refusals', () => {
  const token = internalTokenFromNetworkKey(new Uint8Array(32).fill(7));
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.notEqual(token, internalTokenFromNetworkKey(new Uint8Array(32).fill(8)));
  assert.deepEqual(checkInternalAuth(`Bearer ${token}`, token), { ok: true });
  assert.deepEqual(checkInternalAuth(`bearer   ${token} `, token), { ok: true });
  for (const [header, message] of [[undefined, /node-to-node route/], ['Basic x', /must be 'Bearer/], ['Bearer nope', /wrong internal token/]] as const) {
    const check = checkInternalAuth(header, token);
    assert.equal(check.ok, false);
    if (!check.ok) assert.match(check.message, message);
  }
  assert.equal(checkInternalAuth('Bearer x', '').ok, false, 'an unset token lets nobody in');
});
