// decide(): what a node does about the floating address, as a table of situations.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decide, labelFor, reannounceEveryMs, takeoverAnnouncements } from '../../node/vip/decide.ts';
import type { InterfaceAddress, InterfaceTable, VipInput } from '../../node/vip/decide.ts';

const v4 = (address: string, netmask = '255.255.255.0'): InterfaceAddress => ({ address, netmask, family: 'IPv4', internal: false });
const v6 = (address: string): InterfaceAddress => ({ address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', internal: false });
const lo: InterfaceAddress = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', internal: true };

/** A machine with eth0 on 10.0.0.0/24 and eth1 on 192.168.5.0/24. */
const plain: InterfaceTable = { lo: [lo], eth0: [v4('10.0.0.5'), v6('fe80::1')], eth1: [v4('192.168.5.5')] };
const holding: InterfaceTable = { ...plain, 'eth0:otm': [v4('10.0.0.100')] };

function input(over: Partial<VipInput>): VipInput {
  return { leader: true, address: '10.0.0.100/24', interfaceName: null, interfaces: plain, devices: ['lo', 'eth0', 'eth1'], nowMs: 100_000, lastAnnouncedAtMs: null, ...over };
}

test('a leader adds the address on the interface whose subnet holds it, labelled, and announces it', () => {
  const plan = decide(input({}));
  assert.deepEqual(plan, {
    actions: [
      { kind: 'add', device: 'eth0', cidr: '10.0.0.100/24', label: 'eth0:otm' },
      { kind: 'announce', device: 'eth0', address: '10.0.0.100', count: takeoverAnnouncements },
    ],
    device: 'eth0',
    problem: null,
  });
  assert.equal(decide(input({ address: '192.168.5.77/24' })).device, 'eth1');
  // The interface's subnet decides, not the configured prefix: a /32 address in eth1's subnet.
  assert.equal(decide(input({ address: '192.168.5.77/32' })).device, 'eth1');
});

test('a leader holding it announces again only when due', () => {
  assert.deepEqual(decide(input({ interfaces: holding, lastAnnouncedAtMs: 100_000 - 1000 })), { actions: [], device: 'eth0', problem: null });
  assert.deepEqual(decide(input({ interfaces: holding, lastAnnouncedAtMs: 100_000 - reannounceEveryMs })).actions, [{ kind: 'announce', device: 'eth0', address: '10.0.0.100', count: 1 }]);
  // Held from before this run (a restart that won again): announced as a takeover.
  assert.deepEqual(decide(input({ interfaces: holding, lastAnnouncedAtMs: null })).actions, [{ kind: 'announce', device: 'eth0', address: '10.0.0.100', count: takeoverAnnouncements }]);
});

test('a node that does not lead removes its own copies, whatever address they have, and nothing else', () => {
  const stale: InterfaceTable = { ...plain, 'eth0:otm': [v4('10.0.0.100')], 'eth1:otm': [v4('192.168.5.9', '255.255.255.255')] };
  const plan = decide(input({ leader: false, interfaces: stale }));
  assert.deepEqual(plan, {
    actions: [
      { kind: 'del', device: 'eth0', cidr: '10.0.0.100/24', why: 'this node does not lead' },
      { kind: 'del', device: 'eth1', cidr: '192.168.5.9/32', why: 'this node does not lead' },
    ],
    device: null,
    problem: null,
  });
  // Without the setting (a node starting before its state caught up): the same.
  assert.deepEqual(decide(input({ leader: false, address: null, interfaces: stale })).actions.map((a) => a.kind), ['del', 'del']);
  assert.deepEqual(decide(input({ leader: false })), { actions: [], device: null, problem: null });
});

test('a copy without ottmesh\'s label is left alone, and said so on a node that does not lead', () => {
  const byHand: InterfaceTable = { ...plain, eth0: [v4('10.0.0.5'), v4('10.0.0.100')] };
  const follower = decide(input({ leader: false, interfaces: byHand }));
  assert.deepEqual(follower.actions, []);
  assert.match(follower.problem ?? '', /10\.0\.0\.100 is on eth0 without ottmesh's label.*ip addr del 10\.0\.0\.100\/24 dev eth0/);
  // The leader takes it as held: nothing to add, only the announcement.
  const leader = decide(input({ interfaces: byHand }));
  assert.deepEqual(leader.actions, [{ kind: 'announce', device: 'eth0', address: '10.0.0.100', count: takeoverAnnouncements }]);
  assert.equal(leader.device, 'eth0');
});

test('a changed setting moves the address: the old copy goes before the new one comes', () => {
  const plan = decide(input({ address: '192.168.5.77/24', interfaces: holding, lastAnnouncedAtMs: 99_000 }));
  assert.deepEqual(plan.actions, [
    { kind: 'del', device: 'eth0', cidr: '10.0.0.100/24', why: 'not where it belongs now' },
    { kind: 'add', device: 'eth1', cidr: '192.168.5.77/24', label: 'eth1:otm' },
    { kind: 'announce', device: 'eth1', address: '192.168.5.77', count: takeoverAnnouncements },
  ]);
  // Same address, another prefix: replaced.
  assert.deepEqual(decide(input({ address: '10.0.0.100/25', interfaces: holding, lastAnnouncedAtMs: 99_000 })).actions.map((a) => a.kind), ['del', 'add', 'announce']);
  // Cleared: the leader removes it too.
  assert.deepEqual(decide(input({ address: null, interfaces: holding })).actions, [{ kind: 'del', device: 'eth0', cidr: '10.0.0.100/24', why: 'no floating address is configured' }]);
});

test('a configured interface is used as given, or its absence is the problem', () => {
  const onEth1 = decide(input({ interfaceName: 'eth1' }));
  assert.deepEqual(onEth1.actions[0], { kind: 'add', device: 'eth1', cidr: '10.0.0.100/24', label: 'eth1:otm' });
  // A device with no address yet counts: it is in the device list.
  assert.equal(decide(input({ interfaceName: 'br0', devices: ['lo', 'eth0', 'eth1', 'br0'] })).device, 'br0');
  const missing = decide(input({ interfaceName: 'eth9', interfaces: holding }));
  assert.equal(missing.device, null);
  assert.match(missing.problem ?? '', /floatingInterface eth9 does not exist on this node \(it has lo, eth0, eth1\)/);
  assert.deepEqual(missing.actions, [{ kind: 'del', device: 'eth0', cidr: '10.0.0.100/24', why: 'no interface for it' }]);
});

test('a leader with no interface in the address\'s subnet holds nothing and says why', () => {
  const plan = decide(input({ address: '172.20.0.10/24' }));
  assert.deepEqual(plan.actions, []);
  assert.equal(plan.device, null);
  assert.match(plan.problem ?? '', /no interface of this node has an IPv4 subnet containing the floating address 172\.20\.0\.10\/24 \(it has eth0 10\.0\.0\.5\/24, eth1 192\.168\.5\.5\/24\).*set floatingInterface/);
  // Loopback never counts, even for an address in 127/8's reach (refused by the setting anyway).
  assert.equal(decide(input({ address: '127.0.0.9/8' })).device, null);
});

test('devices named too long for a label get an unlabelled copy, which counts as ottmesh\'s own', () => {
  const long = 'enp0s20f0u1u2'; // 13 characters: with ':otm' over Linux's 15
  assert.equal(labelFor(long), null);
  assert.equal(labelFor('eth0'), 'eth0:otm');
  const table: InterfaceTable = { [long]: [v4('10.0.0.5')] };
  assert.deepEqual(decide(input({ interfaces: table, devices: [long] })).actions[0], { kind: 'add', device: long, cidr: '10.0.0.100/24', label: null });
  const left: InterfaceTable = { [long]: [v4('10.0.0.5'), v4('10.0.0.100')] };
  assert.deepEqual(decide(input({ leader: false, interfaces: left, devices: [long] })).actions, [{ kind: 'del', device: long, cidr: '10.0.0.100/24', why: 'this node does not lead' }]);
});

test('deterministic: several interfaces in the subnet, the first by name', () => {
  const twice: InterfaceTable = { eth1: [v4('10.0.0.6')], eth0: [v4('10.0.0.5')] };
  assert.equal(decide(input({ interfaces: twice, devices: null })).device, 'eth0');
});
