// Forged, expired and replayed credentials against the in-process node: API bearer tokens
// (random, revoked, truncated, of a deleted or demoted user), session cookies (forged signature,
// changed payload, expired, another cluster's, after a password change, after logout), signed
// viewer tokens on the .m3u8 redirect (forged, expired, for another stream, stripped from a
// signed URL, after the line changed) and Xtream logins (the failed-login limit per address).
// Each is a 401/403/429 with a message, and nothing changes. Join tokens go over the p2p port
// to real nodes: cluster.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { newApiToken, sessionCookieName, sessionKeyFrom, sessionTtlMs, signSession } from '../../node/auth/index.ts';
import { nowMs } from '../http/fake-api.ts';
import { bearer, login, tokens } from '../http/team.ts';
import { assertRefusal } from './checks.ts';
import { hostileApp, linePassword } from './hostile-app.ts';
import type { HostileApp } from './hostile-app.ts';

let h: HostileApp;
before(async () => {
  h = await hostileApp();
});
after(() => h.close());

const get = (url: string, headers: Record<string, string> = {}, remoteAddress = '10.1.0.1') => h.app.inject({ method: 'GET', url, headers, remoteAddress });

test('API tokens: random, truncated, padded, wrong secret, revoked, of a deleted user: 401 with one message; a demoted user\'s token loses the role', { timeout: 30_000 }, async () => {
  const admin = tokens.admin;
  const unknown = newApiToken();
  const cases: [string, string, RegExp][] = [
    ['a random well-formed token', unknown.token, /unknown or revoked API token/],
    ['a truncated token', admin.token.slice(0, -1), /not an ottmesh API token/],
    ['a token with a character more', `${admin.token}A`, /not an ottmesh API token/],
    ['the right id with another secret', `otm_${admin.id}_${unknown.token.slice('otm_'.length + 17)}`, /unknown or revoked API token/],
    ['an 8 KB token', `otm_${'a'.repeat(8000)}`, /not an ottmesh API token/],
    ['a token with a NUL', `${admin.token.slice(0, 10)}\u0000${admin.token.slice(11)}`, /not an ottmesh API token|Authorization/],
    ['Basic credentials', 'Basic YWRtaW46YWRtaW4=', /Bearer/],
  ];
  for (const [what, token, message] of cases) {
    const header = token.startsWith('Basic') ? token : `Bearer ${token}`;
    const res = await get('/api/v1/streams', { authorization: header });
    assertRefusal(res, 401, message, what);
  }
  // One message whether or not the id exists: the answer does not tell which token ids exist.
  const known = await get('/api/v1/me', { authorization: `Bearer otm_${admin.id}_${'B'.repeat(43)}` });
  const random = await get('/api/v1/me', { authorization: `Bearer ${unknown.token}` });
  assert.equal(known.json().message, random.json().message);

  // Revoked: made, used, deleted, used again.
  const made = await h.app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: bearer('admin'), payload: { name: 'short-lived' } });
  assert.equal(made.statusCode, 201, made.body);
  const { id, token } = made.json() as { id: string; token: string };
  assert.equal((await get('/api/v1/me', { authorization: `Bearer ${token}` })).statusCode, 200);
  assert.equal((await h.app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${id}`, headers: bearer('admin') })).statusCode, 204);
  const before = h.api.current;
  assertRefusal(await h.app.inject({ method: 'POST', url: '/api/v1/streams', headers: { authorization: `Bearer ${token}` }, payload: { id: 'x', name: 'x', sources: [{ url: 'http://127.0.0.1:9/x' }] } }), 401, /unknown or revoked/, 'a revoked token writing');
  assert.equal(h.api.current, before, 'nothing written with a revoked token');

  // A deleted user's tokens go with them.
  assert.equal((await h.app.inject({ method: 'POST', url: '/api/v1/users', headers: bearer('admin'), payload: { name: 'dave', password: 'dave-password-12', role: 'admin' } })).statusCode, 201);
  const daveLogin = await h.app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'dave', password: 'dave-password-12' }, remoteAddress: '10.3.0.1' });
  const daveCookie = String(daveLogin.headers['set-cookie']).split(';')[0]!;
  const daveToken = (await h.app.inject({ method: 'POST', url: '/api/v1/api-tokens', headers: { cookie: daveCookie }, payload: {} })).json() as { token: string };
  assert.equal((await get('/api/v1/me', { authorization: `Bearer ${daveToken.token}` })).statusCode, 200);
  assert.equal((await h.app.inject({ method: 'DELETE', url: '/api/v1/users/dave', headers: bearer('admin') })).statusCode, 204);
  assertRefusal(await get('/api/v1/me', { authorization: `Bearer ${daveToken.token}` }), 401, /unknown or revoked/, 'a deleted user\'s token');
  assertRefusal(await get('/api/v1/me', { cookie: daveCookie }), 401, /no longer exists/, 'a deleted user\'s session');

  // The operator is demoted to read-only: the token keeps working, as read-only.
  assert.equal((await h.app.inject({ method: 'PATCH', url: '/api/v1/users/bob', headers: bearer('admin'), payload: { role: 'read-only' } })).statusCode, 200);
  assertRefusal(await h.app.inject({ method: 'POST', url: '/api/v1/groups', headers: bearer('operator'), payload: { name: 'g1' } }), 403, /needs the operator role \(you are read-only\)/);
  assert.equal((await h.app.inject({ method: 'PATCH', url: '/api/v1/users/bob', headers: bearer('admin'), payload: { role: 'operator' } })).statusCode, 200);
});

test('unknown token ids do not queue a read barrier each: 200 at once share one', async () => {
  let reads = 0;
  const readImpl = h.api.readImpl;
  h.api.readImpl = async () => {
    reads++;
    await new Promise((r) => setTimeout(r, 50));
  };
  try {
    const answers = await Promise.all(Array.from({ length: 200 }, () => get('/api/v1/streams', { authorization: `Bearer ${newApiToken().token}` })));
    for (const res of answers) assertRefusal(res, 401, /unknown or revoked/);
    assert.ok(reads <= 3, `${reads} read barriers for 200 requests`);
  } finally {
    h.api.readImpl = readImpl;
  }
});

test('session cookies: forged, changed, expired, another cluster\'s, after a password change: 401 saying to log in again', { timeout: 30_000 }, async () => {
  const cookie = await login(h.app, 'carol');
  const value = cookie.slice(cookie.indexOf('=') + 1);
  const [v, payload, sig] = value.split('.') as [string, string, string];
  const session = (c: string) => ({ cookie: `${sessionCookieName}=${c}` });
  assert.equal((await get('/api/v1/me', session(value))).json().user, 'carol');

  const flipped = `${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`;
  const asAdmin = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), u: 'admin', r: 'admin' })).toString('base64url');
  const key = sessionKeyFrom(h.api.internalToken());
  const expired = signSession({ user: 'carol', role: 'read-only', expiresAtMs: nowMs - 1 }, key);
  const foreign = signSession({ user: 'admin', role: 'admin', expiresAtMs: nowMs + sessionTtlMs }, sessionKeyFrom('another cluster'));
  const cases: [string, string, RegExp][] = [
    ['a forged signature', `${v}.${payload}.${flipped}`, /not valid for this cluster/],
    ['the payload changed to admin, the old signature', `${v}.${asAdmin}.${sig}`, /not valid for this cluster/],
    ['no signature', `${v}.${payload}`, /malformed/],
    ['another version', `s2.${payload}.${sig}`, /malformed/],
    ['an expired session', expired, /expired/],
    ['another cluster\'s key', foreign, /not valid for this cluster/],
    ['10 KB of garbage', 'x'.repeat(10_000), /malformed/],
    ['a deleted user', signSession({ user: 'ghost', role: 'admin', expiresAtMs: nowMs + 1000 }, key), /no longer exists/],
  ];
  for (const [what, c, message] of cases) assertRefusal(await get('/api/v1/me', session(c)), 401, message, what);

  // A password change ends the sessions made before it.
  assert.equal((await h.app.inject({ method: 'PATCH', url: '/api/v1/users/carol', headers: bearer('admin'), payload: { password: 'carol-password-2' } })).statusCode, 200);
  assertRefusal(await get('/api/v1/me', session(value)), 401, /password of carol was changed/);
});

test('logout clears the cookie and revokes the session: a copy replayed afterwards is refused; a second logout changes nothing', async () => {
  const cookie = await login(h.app, 'admin');
  const out = await h.app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie } });
  assert.equal(out.statusCode, 204);
  assert.match(String(out.headers['set-cookie']), new RegExp(`^${sessionCookieName}=; .*Max-Age=0`));
  assertRefusal(await get('/api/v1/me', { cookie }), 401, /ended by logging out: log in again/);
  const revoked = Object.keys(h.api.state().revokedSessions).length;
  assert.equal((await h.app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie } })).statusCode, 204);
  assert.equal(Object.keys(h.api.state().revokedSessions).length, revoked, 'replaying the logout adds nothing');
  // Another session of the same user is not affected.
  assert.equal((await get('/api/v1/me', { cookie: await login(h.app, 'admin') })).statusCode, 200);
});

/** The .m3u8 redirect of line `user` for stream number of `streamId`. */
async function redirect(streamId: string, user = 'alice', remoteAddress = '10.2.0.1'): Promise<string> {
  const state = h.api.state();
  const { streamNumbers } = await import('../../node/iptv/xtream.ts');
  const number = streamNumbers(state).get(streamId)!;
  const res = await get(`/live/${user}/${linePassword}/${number}.m3u8`, {}, remoteAddress);
  assert.equal(res.statusCode, 302, res.body);
  return String(res.headers.location);
}

test('viewer tokens: forged, expired, for another stream, stripped from a signed URL, after the line changed: 403; repeated: 400', { timeout: 30_000 }, async () => {
  const signed = await redirect('news');
  assert.match(signed, /^\/live\/news\/index\.m3u8\?exp=\d+&sig=[^&]+&vt=/);
  assert.equal((await get(signed)).statusCode, 200, 'the redirect itself plays');
  const url = new URL(signed, 'http://x');
  const vt = url.searchParams.get('vt')!;
  const flip = (s: string, at: number) => `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
  const withParams = (params: Record<string, string>) => `/live/news/index.m3u8?${new URLSearchParams({ ...Object.fromEntries(url.searchParams), ...params })}`;
  const unsigned = await redirect('free');
  const freeVt = new URL(unsigned, 'http://x').searchParams.get('vt')!;

  const cases: [string, string, number, RegExp][] = [
    ['a forged viewer token (payload)', withParams({ vt: flip(vt, 3) }), 403, /not valid|signature/],
    ['a forged viewer token (mac)', withParams({ vt: flip(vt, vt.length - 2) }), 403, /not valid|signature/],
    ['the token stripped from the signed URL', `/live/news/index.m3u8?exp=${url.searchParams.get('exp')}&sig=${url.searchParams.get('sig')}`, 403, /signature/],
    ['exp moved later', withParams({ exp: String(Number(url.searchParams.get('exp')) + 3600) }), 403, /signature/],
    ['the news token on the free stream', `/live/free/index.m3u8?vt=${vt}`, 403, /another stream/],
    ['a 2 KB token', `/live/free/index.m3u8?vt=${'A'.repeat(2000)}.${'B'.repeat(22)}`, 403, /not valid/],
    ['the token twice', `/live/free/index.m3u8?vt=${freeVt}&vt=${freeVt}`, 400, /once/],
  ];
  for (const [what, path, status, message] of cases) {
    const res = await get(path);
    if (status === 400 && res.statusCode === 400) assertRefusal(res, 400, undefined, what);
    else assertRefusal(res, status, message, what);
  }

  // Expired: seven hours later (tokens and signatures last six).
  const realNow = h.api.nowMs;
  h.api.nowMs = () => nowMs + 7 * 3_600_000;
  try {
    assertRefusal(await get(signed), 403, /expired/, 'an expired signed URL');
    assertRefusal(await get(unsigned), 403, /expired/, 'an expired viewer token');
  } finally {
    h.api.nowMs = realNow;
  }

  // The line gets a new password: its tokens stop working.
  assert.equal((await h.app.inject({ method: 'PATCH', url: '/api/v1/lines/alice', headers: bearer('admin'), payload: { password: 'another-pass-2' } })).statusCode, 200);
  assertRefusal(await get(unsigned), 403, /new password/, 'a token of a line whose password changed');
  assert.equal((await h.app.inject({ method: 'PATCH', url: '/api/v1/lines/alice', headers: bearer('admin'), payload: { password: linePassword } })).statusCode, 200);
});

test('Xtream logins: 20 failures from one address make it wait (429 with Retry-After, correct password too); other addresses are not affected', { timeout: 60_000 }, async () => {
  const from = '10.9.9.9';
  for (let i = 0; i < 20; i++) {
    const res = await get(`/get.php?username=alice&password=guess-${i}`, {}, from);
    assert.equal(res.statusCode, 403, `guess ${i}: ${res.body}`);
    assert.match(res.body, /unknown line, wrong password/);
  }
  const limited = await get(`/get.php?username=alice&password=${linePassword}`, {}, from);
  assert.equal(limited.statusCode, 429);
  assert.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After');
  assert.match(limited.body, /too many failed logins from your address: wait \d+ s/);
  const api = await get(`/player_api.php?username=alice&password=${linePassword}`, {}, from);
  assert.equal(api.statusCode, 429);
  assert.match(api.json().user_info.message, /too many failed logins/);
  const live = await get(`/live/alice/${linePassword}/1.m3u8`, {}, from);
  assert.equal(live.statusCode, 429);
  // Another address (another /64 for IPv6) still logs in.
  assert.equal((await get(`/get.php?username=alice&password=${linePassword}`, {}, '10.9.9.10')).statusCode, 200);
  assert.equal((await get(`/get.php?username=alice&password=${linePassword}`, {}, '2001:db8:1:2::1')).statusCode, 200);
  // A minute later the address may try again.
  const realNow = h.api.nowMs;
  h.api.nowMs = () => nowMs + 61_000;
  try {
    assert.equal((await get(`/get.php?username=alice&password=${linePassword}`, {}, from)).statusCode, 200);
  } finally {
    h.api.nowMs = realNow;
  }
});
