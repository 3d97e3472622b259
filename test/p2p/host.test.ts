// The libp2p host on loopback: members mesh and gossip; a wrong network key, a taken port and a
// bad listen address fail clearly and within a bound.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { DialFailedError, DialTimeoutError, ListenError, PortInUseError } from '../../node/p2p/errors.ts';
import { generateNetworkKey } from '../../node/p2p/keys.ts';
import { Membership, startCluster, startHost, stopAll, waitFor } from './helpers.ts';

const topic = 'ottmesh-test';

test('three members connect to each other after reconcile, and gossip reaches them all', async () => {
  const { hosts } = await startCluster(3);
  try {
    for (const h of hosts) {
      assert.ok(h.listenAddrs().every((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && a.endsWith(`/p2p/${h.peerId}`)));
    }
    hosts[0]!.reconcile(); // one node dialing everyone it knows is enough for a full mesh
    hosts[1]!.reconcile();
    await waitFor('a full mesh', () => hosts.every((h) => hosts.every((o) => o === h || h.isConnected(o.peerId))));

    const received = hosts.map(() => [] as string[]);
    hosts.forEach((h, i) => {
      h.guardTopic(topic);
      h.pubsub.subscribe(topic);
      h.pubsub.addEventListener('message', (evt) => received[i]!.push(new TextDecoder().decode(evt.detail.data)));
    });
    await waitFor('subscriptions to spread', () => hosts.every((h) => h.pubsub.getSubscribers(topic).length === 2));
    await hosts[0]!.pubsub.publish(topic, new TextEncoder().encode('hello'));
    await waitFor('the report at both others', () => received[1]!.length === 1 && received[2]!.length === 1);
    assert.deepEqual(received, [[], ['hello'], ['hello']]);
  } finally {
    await stopAll(hosts);
  }
});

test('gossip from a non-member is ignored', async () => {
  const { hosts, membership, networkKey } = await startCluster(2);
  // The outsider believes the members are its peers (a removed node would), so it does send.
  const outsiderView = new Membership();
  for (const h of hosts) outsiderView.add(h);
  const outsider = await startHost(outsiderView, networkKey);
  try {
    const [a, b] = hosts as [typeof hosts[0], typeof hosts[0]];
    const atA: string[] = [];
    for (const h of [a, b, outsider]) {
      h.guardTopic(topic);
      h.pubsub.subscribe(topic);
    }
    a.pubsub.addEventListener('message', (evt) => atA.push(new TextDecoder().decode(evt.detail.data)));
    b.reconcile();
    await outsider.dial(membership.addrsOf(a.peerId));
    await waitFor('a to see b subscribed', () => a.pubsub.getSubscribers(topic).some((p) => p.toString() === b.peerId));
    await waitFor('the outsider to see a subscribed', () => outsider.pubsub.getSubscribers(topic).some((p) => p.toString() === a.peerId));
    await outsider.pubsub.publish(topic, new TextEncoder().encode('from outside'));
    await b.pubsub.publish(topic, new TextEncoder().encode('from b'));
    await waitFor("b's report at a", () => atA.includes('from b'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(atA, ['from b']);
  } finally {
    await stopAll([...hosts, outsider]);
  }
});

test('a host with another network key cannot connect, and the dial is bounded', async () => {
  const { hosts, membership } = await startCluster(1);
  const stranger = await startHost(membership, generateNetworkKey(), { dialTimeoutMs: 800 });
  membership.add(stranger); // even as a listed member, the key keeps it out
  try {
    const started = performance.now();
    // A wrong key shows up as a reset or, sometimes, only as silence until the timeout.
    await assert.rejects(stranger.dial(membership.addrsOf(hosts[0]!.peerId)), (err: Error) => err instanceof DialFailedError || err instanceof DialTimeoutError);
    assert.ok(performance.now() - started < 2_000, 'the dial gave up within its bound');
    assert.equal(hosts[0]!.isConnected(stranger.peerId), false);
  } finally {
    await stopAll([...hosts, stranger]);
  }
});

test('a dial to an address that never answers fails with DialTimeoutError', async () => {
  const { hosts, membership, networkKey } = await startCluster(1);
  const dialer = await startHost(membership, networkKey, { dialTimeoutMs: 300 });
  const silent = createServer(() => {}); // accepts, then says nothing
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  try {
    const started = performance.now();
    await assert.rejects(dialer.dial(`/ip4/127.0.0.1/tcp/${port}/p2p/${hosts[0]!.peerId}`), (err: Error) => {
      assert.ok(err instanceof DialTimeoutError, err.message);
      assert.match(err.message, /within 300 ms: .*same network key/);
      return true;
    });
    assert.ok(performance.now() - started < 1_500);
  } finally {
    silent.close();
    await stopAll([...hosts, dialer]);
  }
});

test('a taken p2p port is a PortInUseError naming the port', async () => {
  const { hosts, membership, networkKey } = await startCluster(1);
  try {
    const port = Number(hosts[0]!.listenAddrs()[0]!.split('/')[4]);
    await assert.rejects(startHost(membership, networkKey, { p2pPort: port }), (err: Error) => {
      assert.ok(err instanceof PortInUseError);
      assert.match(err.message, new RegExp(`p2p port ${port} on 127\\.0\\.0\\.1 is already in use: .*--p2p-port`));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  } finally {
    await stopAll(hosts);
  }
});

test('a listen host that is not an IP address is a ListenError', async () => {
  await assert.rejects(startHost(new Membership(), generateNetworkKey(), { host: 'example.org' }), ListenError);
});
