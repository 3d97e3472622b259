// PATCH changes only the fields it is given (the validator's defaults must not reset the others),
// HLS signing secrets are shown to admins only and survive a form that sends the hidden value
// back, GET /api/v1/policy names the built-in defaults, and a stream's view says since when it
// runs on its worker.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { defaultPolicy } from '../../node/placement/policy.ts';
import { hiddenSecret } from '../../node/http/schemas.ts';
import { redactedUrl } from '../../node/auth/index.ts';
import { bearer, closeAll, serve, teamApi } from './team.ts';

after(closeAll);

type Json = Record<string, unknown>;

async function setUp() {
  const api = teamApi();
  const app = serve(api);
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: object, role: 'admin' | 'operator' | 'read-only' = 'admin') => {
    const res = await app.inject({ method, url, headers: bearer(role), ...(payload === undefined ? {} : { payload }) });
    return { status: res.statusCode, body: res.json<Json>() };
  };
  return { api, call };
}

test('PATCH leaves out what it is not given: streams, services, lines', async () => {
  const { call } = await setUp();
  const secret = 's'.repeat(32);
  assert.equal((await call('POST', '/api/v1/services', { id: 'paid', name: 'Paid', policy: { strategy: 'binpack' }, hls: { segmentS: 4, signingSecret: secret }, epgUrls: ['http://127.0.0.1:9/guide.xml'] })).status, 201);
  assert.equal((await call('POST', '/api/v1/streams', { id: 'news', name: 'News', sources: [{ url: 'http://127.0.0.1:9/a.ts' }], serviceId: 'paid', enabled: false, priority: 7, policy: { hotStandby: true } })).status, 201);
  const stream = await call('PATCH', '/api/v1/streams/news', { name: 'News 24' });
  assert.equal(stream.status, 200, JSON.stringify(stream.body));
  assert.deepEqual((({ name, serviceId, enabled, priority, policy }) => ({ name, serviceId, enabled, priority, policy }))(stream.body['config'] as Json),
    { name: 'News 24', serviceId: 'paid', enabled: false, priority: 7, policy: { hotStandby: true } });

  const service = await call('PATCH', '/api/v1/services/paid', { name: 'Paid TV' });
  assert.equal(service.status, 200, JSON.stringify(service.body));
  assert.deepEqual([service.body['name'], service.body['policy'], service.body['epgUrls']], ['Paid TV', { strategy: 'binpack' }, ['http://127.0.0.1:9/guide.xml']]);
  assert.deepEqual(service.body['hls'], { segmentS: 4, windowSegments: (service.body['hls'] as Json)['windowSegments'], mode: (service.body['hls'] as Json)['mode'], signingSecret: secret });
  const hlsOnly = await call('PATCH', '/api/v1/services/paid', { hls: { windowSegments: 8 } });
  assert.deepEqual([(hlsOnly.body['hls'] as Json)['segmentS'], (hlsOnly.body['hls'] as Json)['windowSegments'], hlsOnly.body['policy']], [4, 8, { strategy: 'binpack' }]);

  assert.equal((await call('POST', '/api/v1/lines', { username: 'viewer', password: 'pw-123456', maxConnections: 3, expiresAt: '2030-01-01T00:00:00Z' })).status, 201);
  const line = await call('PATCH', '/api/v1/lines/viewer', { enabled: false });
  assert.equal(line.status, 200, JSON.stringify(line.body));
  assert.deepEqual([line.body['enabled'], line.body['maxConnections'], line.body['expiresAt']], [false, 3, '2030-01-01T00:00:00.000Z']);
});

test('signing secrets: admins see them, others see that one is set; sending the hidden value back keeps the secret', async () => {
  const { api, call } = await setUp();
  const secret = 'k'.repeat(24);
  assert.equal((await call('POST', '/api/v1/services', { id: 'paid', name: 'Paid', hls: { signingSecret: secret } })).status, 201);
  assert.equal(((await call('GET', '/api/v1/services/paid')).body['hls'] as Json)['signingSecret'], secret);
  for (const role of ['operator', 'read-only'] as const) {
    const seen = await call('GET', '/api/v1/services', undefined, role);
    assert.equal(((seen.body as unknown as Json[])[0]!['hls'] as Json)['signingSecret'], hiddenSecret, role);
  }
  // The operator's form sends back what it saw: the secret stays.
  const edited = await call('PATCH', '/api/v1/services/paid', { name: 'Paid TV', hls: { signingSecret: hiddenSecret, segmentS: 3 } }, 'operator');
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  assert.equal(api.current.services['paid']!.hls.signingSecret, secret);
  assert.equal(api.current.services['paid']!.hls.segmentS, 3);

  assert.equal((await call('PUT', '/api/v1/policy', { policy: {}, hls: { signingSecret: secret } })).status, 200);
  const policy = await call('GET', '/api/v1/policy', undefined, 'read-only');
  assert.equal((policy.body['hls'] as Json)['signingSecret'], hiddenSecret);
  assert.deepEqual(policy.body['defaults'], { ...defaultPolicy });
  assert.equal((await call('PUT', '/api/v1/policy', { policy: { strategy: 'spread' }, hls: { signingSecret: hiddenSecret } }, 'operator')).status, 200);
  assert.equal(api.current.hls.signingSecret, secret);
});

test('a placed stream says since when it runs on its worker', async () => {
  const { api, call } = await setUp();
  assert.equal((await call('POST', '/api/v1/streams', { id: 'news', name: 'News', sources: [{ url: 'http://127.0.0.1:9/a.ts' }] })).status, 201);
  assert.equal((await call('GET', '/api/v1/streams/news')).body['sinceMs'], null);
  await api.propose({ type: 'AssignStream', atMs: 1_700_000_000_000, streamId: 'news', nodeId: 'p1', base: 0 }, null);
  assert.equal((await call('GET', '/api/v1/streams/news')).body['sinceMs'], 1_700_000_000_000);
});

test('read-only accounts see source URLs without credentials; operators see them whole', async () => {
  const { call } = await setUp();
  const url = 'http://user:pass@127.0.0.1:9/live/a.ts?username=u&password=p';
  assert.equal((await call('POST', '/api/v1/streams', { id: 'news', name: 'News', sources: [{ url }] })).status, 201);
  const seen = async (role: 'operator' | 'read-only') => (((await call('GET', '/api/v1/streams/news', undefined, role)).body['config'] as Json)['sources'] as Json[])[0]!['url'];
  assert.equal(await seen('operator'), url);
  assert.equal(await seen('read-only'), 'http://127.0.0.1:9/live/a.ts?(hidden)');
  const list = await call('GET', '/api/v1/streams', undefined, 'read-only');
  assert.doesNotMatch(JSON.stringify(list.body), /pass|password=p/);
});

test('redactedUrl: userinfo and query go, also from what is not a URL', () => {
  assert.equal(redactedUrl('rtmp://a:b@host:1935/app/key?token=1'), 'rtmp://host:1935/app/key?(hidden)');
  assert.equal(redactedUrl('http://host/x.m3u8'), 'http://host/x.m3u8');
  assert.equal(redactedUrl('srt://host:9000?passphrase=secret'), 'srt://host:9000?(hidden)');
  assert.equal(redactedUrl('not a url?user=1'), 'not a url?(hidden)');
});
