// The floating address loop against a fake machine (the real one: floating-address.test.ts),
// and the adapter's reading of `ip`'s failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { isPermissionError, permissionHint, run } from '../../node/vip/address.ts';
import type { AddressSystem, CommandOutcome } from '../../node/vip/address.ts';
import type { InterfaceAddress } from '../../node/vip/decide.ts';
import { FloatingAddressLoop } from '../../node/vip/floating-address.ts';
import type { FloatingAddressSettings } from '../../node/vip/floating-address.ts';

const v4 = (address: string): InterfaceAddress => ({ address, netmask: '255.255.255.0', family: 'IPv4', internal: false });

/** A machine with eth0 on 10.0.0.0/24, recording what was run. */
class FakeMachine implements AddressSystem {
  table: Record<string, InterfaceAddress[]> = { eth0: [v4('10.0.0.5')] };
  readonly ran: string[] = [];
  /** When set, `ip addr add` fails with this. */
  addFailure: CommandOutcome | null = null;
  /** Announcements under way: each ends when aborted. */
  readonly announcing = new Set<string>();

  interfaces() {
    return structuredClone(this.table);
  }

  devices() {
    return Object.keys(this.table).filter((k) => !k.includes(':'));
  }

  async add(device: string, cidr: string, label: string | null): Promise<CommandOutcome> {
    this.ran.push(`add ${cidr} ${device} ${label}`);
    if (this.addFailure !== null) return this.addFailure;
    (this.table[label ?? device] ??= []).push(v4(cidr.split('/')[0]!));
    return { ok: true };
  }

  async del(device: string, cidr: string): Promise<CommandOutcome> {
    this.ran.push(`del ${cidr} ${device}`);
    const address = cidr.split('/')[0];
    for (const [key, list] of Object.entries(this.table)) {
      if (!key.startsWith(device)) continue;
      this.table[key] = list.filter((a) => a.address !== address);
      if (this.table[key].length === 0 && key.includes(':')) delete this.table[key];
    }
    return { ok: true };
  }

  announce(device: string, address: string, count: number, signal: AbortSignal): Promise<CommandOutcome> {
    const what = `announce ${address} ${device} x${count}`;
    this.ran.push(what);
    this.announcing.add(what);
    return new Promise((resolve) => signal.addEventListener('abort', () => {
      this.announcing.delete(what);
      resolve({ ok: false, permission: false, message: 'stopped' });
    }));
  }

  holds(address: string): boolean {
    return Object.values(this.table).some((list) => list.some((a) => a.address === address));
  }
}

function loopOn(machine: FakeMachine, state: { leader: boolean; settings: FloatingAddressSettings }, log: string[]): FloatingAddressLoop {
  return new FloatingAddressLoop({ isLeader: () => state.leader, settings: () => state.settings, system: machine, log: (line) => log.push(line) }, { checkEveryMs: 60_000 });
}

test('start removes a copy left by a crash; leading adds and announces; losing leadership stops the announcement and removes it', async () => {
  const machine = new FakeMachine();
  machine.table['eth0:otm'] = [v4('10.0.0.100')];
  const state = { leader: false, settings: { floatingAddress: '10.0.0.100/24', floatingInterface: null } };
  const log: string[] = [];
  const loop = loopOn(machine, state, log);
  loop.start();
  await loop.settled();
  assert.deepEqual(machine.ran, ['del 10.0.0.100/24 eth0']);
  assert.ok(!machine.holds('10.0.0.100'));
  assert.match(log.join('\n'), /floating address 10\.0\.0\.100\/24 removed from eth0 \(this node does not lead\)/);

  state.leader = true;
  loop.wake();
  await loop.settled();
  assert.deepEqual(machine.ran.slice(1), ['add 10.0.0.100/24 eth0 eth0:otm', 'announce 10.0.0.100 eth0 x3']);
  assert.deepEqual(loop.status(), { address: '10.0.0.100/24', held: true, interface: 'eth0', problem: null });

  // Woken again while the announcement runs: nothing more to do.
  loop.wake();
  await loop.settled();
  assert.equal(machine.ran.length, 3);

  state.leader = false;
  loop.wake();
  await loop.settled();
  assert.equal(machine.announcing.size, 0, 'the announcement was stopped before the address went');
  assert.deepEqual(machine.ran.slice(3), ['del 10.0.0.100/24 eth0']);
  assert.deepEqual(loop.status(), { address: '10.0.0.100/24', held: false, interface: null, problem: null });
  await loop.stop();
});

test('stop releases the address the leader holds', async () => {
  const machine = new FakeMachine();
  const state = { leader: true, settings: { floatingAddress: '10.0.0.100/24', floatingInterface: null } };
  const log: string[] = [];
  const loop = loopOn(machine, state, log);
  loop.start();
  await loop.settled();
  assert.ok(machine.holds('10.0.0.100'));
  await loop.stop();
  assert.ok(!machine.holds('10.0.0.100'));
  assert.equal(machine.announcing.size, 0);
  assert.match(log.at(-1) ?? '', /removed from eth0 \(this node is stopping\)/);
  loop.wake(); // after stop: ignored
  await loop.settled();
  assert.ok(!machine.holds('10.0.0.100'));
});

test('losing leadership stops the announcement even when the copy is already gone', async () => {
  const machine = new FakeMachine();
  const state = { leader: true, settings: { floatingAddress: '10.0.0.100/24', floatingInterface: null } };
  const loop = loopOn(machine, state, []);
  loop.start();
  await loop.settled();
  assert.equal(machine.announcing.size, 1);
  delete machine.table['eth0:otm']; // removed by hand
  state.leader = false;
  loop.wake();
  await loop.settled();
  assert.equal(machine.announcing.size, 0);
  assert.ok(!machine.ran.some((r) => r.startsWith('del')), 'nothing left to remove');
  await loop.stop();
});

test('no permission: said once, with what to do; the status keeps saying it; retries do not repeat it', async () => {
  const machine = new FakeMachine();
  machine.addFailure = { ok: false, permission: true, message: 'ip addr add 10.0.0.100/24 dev eth0 label eth0:otm: RTNETLINK answers: Operation not permitted' };
  const state = { leader: true, settings: { floatingAddress: '10.0.0.100/24', floatingInterface: null } };
  const log: string[] = [];
  const loop = loopOn(machine, state, log);
  loop.start();
  await loop.settled();
  for (let i = 0; i < 3; i++) {
    loop.wake();
    await loop.settled();
  }
  assert.equal(machine.ran.filter((r) => r.startsWith('add')).length, 4, 'retried at each run');
  assert.ok(!machine.ran.some((r) => r.startsWith('announce')), 'nothing announced that is not held');
  const said = log.filter((l) => l.includes(permissionHint));
  assert.equal(said.length, 1, log.join('\n'));
  assert.match(said[0]!, /the floating address needs root or CAP_NET_ADMIN; add AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW to the unit \(ip addr add .*Operation not permitted\)/);
  assert.equal(loop.status().held, false);
  assert.ok(loop.status().problem?.startsWith(permissionHint));
  await loop.stop();
});

test('a leader with no interface for the address warns once per change', async () => {
  const machine = new FakeMachine();
  const state = { leader: true, settings: { floatingAddress: '172.20.0.10/24', floatingInterface: null } as FloatingAddressSettings };
  const log: string[] = [];
  const loop = loopOn(machine, state, log);
  loop.start();
  await loop.settled();
  loop.wake();
  await loop.settled();
  assert.deepEqual(log.filter((l) => l.startsWith('warning')).length, 1, log.join('\n'));
  assert.match(log[0]!, /warning: no interface of this node has an IPv4 subnet containing the floating address 172\.20\.0\.10\/24/);
  assert.match(loop.status().problem ?? '', /no interface/);
  state.settings = { floatingAddress: '172.20.0.10/24', floatingInterface: 'eth7' };
  loop.wake();
  await loop.settled();
  assert.match(log.at(-1) ?? '', /warning: floatingInterface eth7 does not exist on this node/);
  state.settings = { floatingAddress: '10.0.0.100/24', floatingInterface: null };
  loop.wake();
  await loop.settled();
  assert.ok(log.includes('floating address: the problem is gone'), log.join('\n'));
  assert.deepEqual(loop.status(), { address: '10.0.0.100/24', held: true, interface: 'eth0', problem: null });
  await loop.stop();
});

test('run() reports failures as outcomes: a missing program, a refused capability', async () => {
  const missing = await run('ottmesh-no-such-program', [], 1000);
  assert.deepEqual(missing, { ok: false, permission: false, message: 'ottmesh-no-such-program is not installed: install iputils-arping for the floating address' });
  const failing = await run('sh', ['-c', 'echo "RTNETLINK answers: Operation not permitted" >&2; exit 2'], 1000);
  assert.deepEqual(failing, { ok: false, permission: true, message: 'sh -c echo "RTNETLINK answers: Operation not permitted" >&2; exit 2: RTNETLINK answers: Operation not permitted' });
  const slow = await run('sleep', ['5'], 200);
  assert.deepEqual(slow, { ok: false, permission: false, message: 'sleep 5: no answer within 200 ms' });
  assert.ok(isPermissionError('arping: socket: Operation not permitted'));
  assert.ok(!isPermissionError('Error: ipv4: Address already assigned.'));
});

test('without CAP_NET_ADMIN, ip addr add is refused and read as a permission problem', { skip: process.getuid?.() === 0 ? false : 'needs root, to run ip as an unprivileged user' }, async () => {
  // Run as nobody: refused before anything changes (loopback, an address nobody uses).
  const outcome = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'ip', 'addr', 'add', '10.255.254.253/32', 'dev', 'lo'], 5000);
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.permission, true, JSON.stringify(outcome));
});
