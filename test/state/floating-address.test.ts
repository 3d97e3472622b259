// The floating address setting: parsing, the values UpdateSettings accepts, old snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  apply, decodeState, encodeState, floatingAddressProblem, inSubnet, maskOf, parseCidr, parseIpv4, prefixOfNetmask,
} from '../../node/state/index.ts';
import { clusterWithToken, nodeRecord, t0 } from './fixtures.ts';

test('parseIpv4 and parseCidr take dotted quads with a prefix, nothing looser', () => {
  assert.equal(parseIpv4('10.0.0.1'), 0x0a00_0001);
  assert.equal(parseIpv4('255.255.255.255'), 0xffff_ffff);
  for (const bad of ['10.0.0', '10.0.0.1.2', '10.0.0.256', '10.0.0.01', '10.0.0.-1', ' 10.0.0.1', '10.0.0.1 ', 'a.b.c.d', '', '1e1.0.0.1']) {
    assert.equal(parseIpv4(bad), null, bad);
  }
  assert.deepEqual(parseCidr('10.231.1.200/24'), { address: '10.231.1.200', prefix: 24, value: parseIpv4('10.231.1.200') });
  for (const bad of ['10.231.1.200', '10.231.1.200/33', '10.231.1.200/', '10.231.1.200/024', '10.231.1.200/24/1', '/24', '10.231.1.200/2x']) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

test('masks, netmasks and subnets', () => {
  assert.equal(maskOf(24), 0xffff_ff00);
  assert.equal(maskOf(32), 0xffff_ffff);
  assert.equal(maskOf(0), 0);
  assert.equal(prefixOfNetmask('255.255.255.0'), 24);
  assert.equal(prefixOfNetmask('255.255.255.255'), 32);
  assert.equal(prefixOfNetmask('255.0.255.0'), null);
  assert.ok(inSubnet(parseIpv4('10.231.1.200')!, parseIpv4('10.231.1.10')!, 24));
  assert.ok(!inSubnet(parseIpv4('10.231.2.200')!, parseIpv4('10.231.1.10')!, 24));
  assert.ok(inSubnet(parseIpv4('10.231.2.200')!, parseIpv4('10.231.1.10')!, 16));
});

test('floatingAddressProblem: a usable unicast address with its prefix, and an interface name', () => {
  for (const ok of ['10.0.0.100/24', '192.168.1.50/32', '172.16.5.4/12', '10.0.0.1/31', '100.64.0.7/10']) assert.equal(floatingAddressProblem(ok, null), null, ok);
  assert.equal(floatingAddressProblem(null, null), null);
  assert.equal(floatingAddressProblem('10.0.0.100/24', 'eth0'), null);
  assert.equal(floatingAddressProblem('10.0.0.100/24', 'enp0s31f6'), null);
  assert.equal(floatingAddressProblem(null, 'eth0'), null, 'an interface alone is kept for later');
  const cases: [string, string | null, RegExp][] = [
    ['10.0.0.100', null, /must be an IPv4 address with its prefix length, e\.g\. "10\.0\.0\.100\/24", not "10\.0\.0\.100"/],
    ['fe80::1/64', null, /must be an IPv4 address/],
    ['10.0.0.100/0', null, /prefix length must be 1-32/],
    ['127.0.0.2/8', null, /loopback/],
    ['0.0.0.0/8', null, /0\.0\.0\.0\/8/],
    ['0.0.0.0/32', null, /0\.0\.0\.0\/8/],
    ['224.0.0.5/24', null, /multicast/],
    ['239.255.255.250/24', null, /multicast/],
    ['255.255.255.255/32', null, /reserved/],
    ['10.0.0.0/24', null, /network address of its subnet/],
    ['10.0.0.255/24', null, /broadcast address of its subnet/],
    ['10.0.0.100/24', 'eth0:1', /floatingInterface must be a network interface name/],
    ['10.0.0.100/24', 'a-name-too-long-for-linux', /floatingInterface must be/],
    ['10.0.0.100/24', '', /floatingInterface must be/],
    ['10.0.0.100/24', '..', /floatingInterface must be/],
    ['10.0.0.100/24', 'eth0; rm', /floatingInterface must be/],
  ];
  for (const [address, iface, message] of cases) assert.match(floatingAddressProblem(address, iface) ?? 'accepted', message, `${address} ${iface}`);
});

test('UpdateSettings takes, changes and clears the floating address; refuses a bad one or a member\'s address', () => {
  const state = clusterWithToken();
  assert.equal(state.settings.floatingAddress, null);
  assert.equal(state.settings.floatingInterface, null);
  const set = apply(state, { type: 'UpdateSettings', atMs: t0, settings: { floatingAddress: '10.0.0.100/24' } });
  assert.deepEqual(set.result, { ok: true });
  assert.equal(set.state.settings.floatingAddress, '10.0.0.100/24');
  const withInterface = apply(set.state, { type: 'UpdateSettings', atMs: t0, settings: { floatingInterface: 'eth1' } });
  assert.deepEqual(withInterface.state.settings, { ...set.state.settings, floatingInterface: 'eth1' });
  const cleared = apply(withInterface.state, { type: 'UpdateSettings', atMs: t0, settings: { floatingAddress: null, floatingInterface: null } });
  assert.equal(cleared.state.settings.floatingAddress, null);
  assert.equal(cleared.state.settings.floatingInterface, null);
  const loopback = apply(state, { type: 'UpdateSettings', atMs: t0, settings: { floatingAddress: '127.0.0.9/8' } });
  assert.match(loopback.result.ok ? '' : loopback.result.reason, /loopback/);
  assert.equal(loopback.state, state, 'refused: nothing changes');
  // The fixture's p1 is at 127.0.0.1; a member on 10.0.0.5 cannot lend its address.
  const member = { ...state, nodes: { ...state.nodes, p1: nodeRecord('p1', { httpUrl: 'http://10.0.0.5:8080', addrs: ['/ip4/10.0.0.5/tcp/7000/p2p/p1'] }) } };
  const taken = apply(member, { type: 'UpdateSettings', atMs: t0, settings: { floatingAddress: '10.0.0.5/24' } });
  assert.match(taken.result.ok ? '' : taken.result.reason, /floatingAddress 10\.0\.0\.5\/24 is the address of node n-p1: pick an address no machine uses/);
});

test('a snapshot from before the floating address decodes with none', () => {
  const good = JSON.parse(new TextDecoder().decode(encodeState(clusterWithToken()))) as { v: number; state: { settings: Record<string, unknown> } };
  const { floatingAddress: _a, floatingInterface: _i, ...oldSettings } = good.state.settings;
  const old = { ...good, state: { ...good.state, settings: oldSettings } };
  const decoded = decodeState(new TextEncoder().encode(JSON.stringify(old)));
  assert.equal(decoded.settings.floatingAddress, null);
  assert.equal(decoded.settings.floatingInterface, null);
  assert.deepEqual(decoded, clusterWithToken());
});

test('a snapshot of a cluster with no floating address is written as older versions wrote it', () => {
  const state = clusterWithToken();
  const written = JSON.parse(new TextDecoder().decode(encodeState(state))) as { state: { settings: Record<string, unknown> } };
  assert.deepEqual(Object.keys(written.state.settings).sort(), ['downAfterS', 'replaceDownVoterAfterS', 'suspectAfterS', 'votersTarget']);
  const set = apply(state, { type: 'UpdateSettings', atMs: t0, settings: { floatingAddress: '10.0.0.100/24' } }).state;
  const withAddress = JSON.parse(new TextDecoder().decode(encodeState(set))) as { state: { settings: Record<string, unknown> } };
  assert.equal(withAddress.state.settings['floatingAddress'], '10.0.0.100/24');
  assert.deepEqual(decodeState(encodeState(set)), set);
});
