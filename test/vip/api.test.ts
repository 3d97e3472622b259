// The floating address through the API: PATCH /api/v1/settings takes and checks it, GET
// /api/v1/cluster shows who holds it, and a follower's view comes from the leader.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';

import Fastify from 'fastify';

import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import type { ClusterState } from '../../node/state/index.ts';
import type { AddressSystem } from '../../node/vip/address.ts';
import type { LocalFloatingStatus } from '../../node/vip/floating-address.ts';
import { FloatingAddressService, floatingAddressRoutes, floatingInternalPath } from '../../node/vip/service.ts';
import type { FloatingAddressView } from '../../node/vip/service.ts';
import { adminApiToken, FakeApi } from '../http/fake-api.ts';

const auth = { authorization: `Bearer ${adminApiToken.token}` };
const servers: { close(): Promise<unknown> }[] = [];
after(() => Promise.all(servers.map((app) => app.close())));

function serve(api: FakeApi): HttpServer {
  const app = buildServer({ api });
  servers.push(app);
  return app;
}

test('PATCH /api/v1/settings sets, shows and clears the floating address; a bad one is a 400 saying why', async () => {
  const api = new FakeApi('p1', 'alpha');
  const app = serve(api);
  const before = await app.inject({ method: 'GET', url: '/api/v1/settings', headers: auth });
  assert.equal(before.json<{ floatingAddress: string | null }>().floatingAddress, null);
  const set = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: { floatingAddress: '10.231.1.200/24' } });
  assert.equal(set.statusCode, 200, set.body);
  assert.deepEqual(set.json<Record<string, unknown>>(), { ...api.current.settings, floatingAddress: '10.231.1.200/24', floatingInterface: null });
  assert.equal(api.current.settings.floatingAddress, '10.231.1.200/24');
  const iface = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: { floatingInterface: 'eth1' } });
  assert.equal(iface.json<{ floatingInterface: string }>().floatingInterface, 'eth1');
  const bad: [unknown, RegExp][] = [
    [{ floatingAddress: '10.231.1.200' }, /floatingAddress must be an IPv4 address with its prefix length, e\.g\. "10\.0\.0\.100\/24"/],
    [{ floatingAddress: '127.0.0.5/8' }, /loopback/],
    [{ floatingAddress: '224.1.1.1/24' }, /multicast/],
    [{ floatingInterface: 'eth0:otm' }, /floatingInterface must be a network interface name/],
  ];
  for (const [payload, message] of bad) {
    const res = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: payload as Record<string, unknown> });
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.match(res.json<{ message: string }>().message, message);
  }
  assert.equal((await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: { floatingAddress: 42 } })).statusCode, 400);
  assert.equal(api.current.settings.floatingAddress, '10.231.1.200/24', 'refused changes left it');
  const cleared = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: auth, payload: { floatingAddress: null, floatingInterface: null } });
  assert.equal(cleared.statusCode, 200);
  assert.equal(api.current.settings.floatingAddress, null);
});

test('GET /api/v1/cluster carries floatingAddress when the node has the loop; without it, nothing changes', async () => {
  const api = new FakeApi('p1', 'alpha');
  const view: FloatingAddressView = { address: '10.231.1.200/24', holder: 'p1', interface: 'eth0', problem: null };
  const withLoop = Object.assign(api, { floatingAddress: async () => view });
  const res = await serve(withLoop).inject({ method: 'GET', url: '/api/v1/cluster', headers: auth });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json<{ floatingAddress: unknown }>().floatingAddress, view);
  const plain = await serve(new FakeApi('p1', 'alpha')).inject({ method: 'GET', url: '/api/v1/cluster', headers: auth });
  assert.equal(plain.statusCode, 200);
  assert.equal('floatingAddress' in plain.json<object>(), false);
});

/** A service on a fake node: its role and leader, its machine, what the leader answers. */
function serviceOn(role: { role: string; leaderId: string | null }, settings: Partial<ClusterState['settings']>, leaderAnswer: LocalFloatingStatus | null, held = false) {
  const state = { ...new FakeApi('p2', 'beta').current };
  const current = { ...state, settings: { ...state.settings, ...settings } };
  const driver = Object.assign(new EventEmitter(), { status: () => role });
  const table = held ? { eth0: [{ address: '10.231.1.11', netmask: '255.255.255.0', family: 'IPv4', internal: false }], 'eth0:otm': [{ address: '10.231.1.200', netmask: '255.255.255.0', family: 'IPv4', internal: false }] }
    : { eth0: [{ address: '10.231.1.11', netmask: '255.255.255.0', family: 'IPv4', internal: false }] };
  const system: AddressSystem = {
    interfaces: () => table, devices: () => ['eth0'],
    add: async () => ({ ok: true }), del: async () => ({ ok: true }), announce: async () => ({ ok: true }),
  };
  const asked: string[] = [];
  const service = new FloatingAddressService({
    selfId: 'p2', driver, state: () => current, onStateChange: () => () => undefined, log: () => undefined, system,
    askNode: async <T>(id: string, path: string) => {
      asked.push(`${id} ${path}`);
      return leaderAnswer as T | null;
    },
  });
  return { service, asked };
}

test('the view: the holder itself, a follower asking the leader, no leader, a silent leader, none set', async () => {
  const none = serviceOn({ role: 'follower', leaderId: 'p1' }, {}, null);
  assert.deepEqual(await none.service.view(), { address: null, holder: null, interface: null, problem: null });
  assert.deepEqual(none.asked, []);

  const address = { floatingAddress: '10.231.1.200/24' };
  const follower = serviceOn({ role: 'follower', leaderId: 'p1' }, address, { address: '10.231.1.200/24', held: true, interface: 'eth0', problem: null });
  assert.deepEqual(await follower.service.view(), { address: '10.231.1.200/24', holder: 'p1', interface: 'eth0', problem: null });
  assert.deepEqual(follower.asked, [`p1 ${floatingInternalPath}`]);

  const failing = serviceOn({ role: 'follower', leaderId: 'p1' }, address, { address: '10.231.1.200/24', held: false, interface: null, problem: 'no interface ...' });
  assert.deepEqual(await failing.service.view(), { address: '10.231.1.200/24', holder: null, interface: null, problem: 'no interface ...' });

  const silent = serviceOn({ role: 'follower', leaderId: 'p1' }, address, null);
  assert.match((await silent.service.view()).problem ?? '', /the leader alpha did not answer about the floating address within 1000 ms/);
  const leaderless = serviceOn({ role: 'candidate', leaderId: null }, address, null);
  assert.match((await leaderless.service.view()).problem ?? '', /no leader is elected right now/);

  const leader = serviceOn({ role: 'leader', leaderId: 'p2' }, address, null, true);
  leader.service.start();
  await leader.service.loop.settled();
  assert.deepEqual(await leader.service.view(), { address: '10.231.1.200/24', holder: 'p2', interface: 'eth0', problem: null });
  assert.deepEqual(leader.asked, [], 'the holder answers for itself');
  await leader.service.stop();
});

test('GET /internal/v1/floating-address needs the internal token', async () => {
  const app = Fastify();
  servers.push(app);
  const status: LocalFloatingStatus = { address: '10.231.1.200/24', held: true, interface: 'eth0', problem: null };
  await app.register(floatingAddressRoutes({ status: () => status, internalToken: () => 'secret-token' }));
  assert.equal((await app.inject({ method: 'GET', url: floatingInternalPath })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: floatingInternalPath, headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  const ok = await app.inject({ method: 'GET', url: floatingInternalPath, headers: { authorization: 'Bearer secret-token' } });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), status);
});
