// The cases every Transport (consensus/transport.ts) must pass, run against each implementation
// by transport-compliance.test.ts. Waits are on conditions, bounded; a case that checks that
// something did NOT arrive first waits for a report that proves the attempt was made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, NodeId } from '../../consensus/core/types.ts';
import { message } from '../../consensus/core/types.ts';
import type { Transport, TransportHandler } from '../../consensus/transport.ts';
import { waitFor } from './helpers.ts';

export interface Recorder extends TransportHandler {
  readonly received: Message[];
  readonly unreachablePeers: NodeId[];
  readonly snapshots: Array<[NodeId, boolean]>;
}

export function recorder(): Recorder {
  const r: Recorder = {
    received: [],
    unreachablePeers: [],
    snapshots: [],
    message: (m) => r.received.push(m),
    unreachable: (peer) => r.unreachablePeers.push(peer),
    snapshotStatus: (peer, ok) => r.snapshots.push([peer, ok]),
  };
  return r;
}

export interface Endpoint {
  readonly transport: Transport;
  readonly rec: Recorder;
}

/** A little network of endpoints for one case. */
export interface TransportFixture {
  /** At least three node ids that can be started. */
  readonly ids: readonly NodeId[];
  /** An id nobody will ever start, with no known address. */
  readonly unknownId: NodeId;
  /** Start (or restart, after stop) the endpoint of `id`, already started with a fresh recorder. */
  start(id: NodeId, init?: { maxQueuedMessagesPerPeer?: number }): Promise<Endpoint>;
  /** Release everything the fixture holds. */
  close(): Promise<void>;
}

export type FixtureFactory = () => Promise<TransportFixture>;

function hb(from: NodeId, to: NodeId, commit: number): Message {
  return message({ type: 'MsgHeartbeat', from, to, term: 1, commit });
}

function snap(from: NodeId, to: NodeId): Message {
  const snapshot = { meta: { index: 5, term: 1, conf: { voters: [from, to], learners: [] } }, data: new Uint8Array([1, 2, 3]) };
  return message({ type: 'MsgSnap', from, to, term: 1, snapshot });
}

/** Register the compliance cases as node:test tests named `${name}: ...`. */
export function transportComplianceSuite(name: string, makeFixture: FixtureFactory): void {
  const withFixture = (title: string, body: (f: TransportFixture, ids: readonly NodeId[]) => Promise<void>): void => {
    test(`${name}: ${title}`, async () => {
      const f = await makeFixture();
      try {
        await body(f, f.ids);
      } finally {
        await f.close();
      }
    });
  };

  withFixture('delivers asynchronously, in order per peer', async (f, [a, b]) => {
    const ea = await f.start(a!);
    const eb = await f.start(b!);
    ea.transport.send([hb(a!, b!, 1), hb(a!, b!, 2), hb(a!, b!, 3)]);
    assert.equal(eb.rec.received.length, 0, 'nothing may arrive inside send()');
    await waitFor('three heartbeats', () => eb.rec.received.length === 3);
    assert.deepEqual(eb.rec.received.map((m) => m.commit), [1, 2, 3]);
    assert.deepEqual(eb.rec.received[0], hb(a!, b!, 1), 'a message arrives intact');
    assert.deepEqual(ea.rec.unreachablePeers, []);
  });

  withFixture('batches one send to several peers', async (f, [a, b, c]) => {
    const ea = await f.start(a!);
    const eb = await f.start(b!);
    const ec = await f.start(c!);
    ea.transport.send([hb(a!, b!, 1), hb(a!, c!, 2), hb(a!, b!, 3)]);
    await waitFor('both peers served', () => eb.rec.received.length === 2 && ec.rec.received.length === 1);
    assert.deepEqual(eb.rec.received.map((m) => m.commit), [1, 3]);
    assert.deepEqual(ec.rec.received.map((m) => m.commit), [2]);
  });

  withFixture('keeps order across many sends and a large batch', async (f, [a, b]) => {
    const ea = await f.start(a!);
    const eb = await f.start(b!);
    const total = 2_000;
    for (let i = 1; i <= total; i += 100) ea.transport.send(Array.from({ length: 100 }, (_, k) => hb(a!, b!, i + k)));
    await waitFor(`${total} heartbeats`, () => eb.rec.received.length === total);
    assert.deepEqual(eb.rec.received.map((m) => m.commit), Array.from({ length: total }, (_, k) => k + 1));
  });

  withFixture('a full per-peer queue drops the excess and reports it once', async (f, [a, b]) => {
    const ea = await f.start(a!, { maxQueuedMessagesPerPeer: 2 });
    const eb = await f.start(b!);
    ea.transport.send([hb(a!, b!, 1), hb(a!, b!, 2), hb(a!, b!, 3), hb(a!, b!, 4)]);
    await waitFor('the queued two', () => eb.rec.received.length === 2);
    assert.deepEqual(eb.rec.received.map((m) => m.commit), [1, 2]);
    assert.deepEqual(ea.rec.unreachablePeers, [b]);
  });

  withFixture('messages to an unknown peer are dropped and reported', async (f, [a]) => {
    const ea = await f.start(a!);
    ea.transport.send([hb(a!, f.unknownId, 1)]);
    await waitFor('the unreachable report', () => ea.rec.unreachablePeers.length > 0);
    assert.deepEqual(ea.rec.unreachablePeers, [f.unknownId]);
  });

  withFixture('snapshot delivery and loss are reported to the sender', async (f, [a, b]) => {
    const ea = await f.start(a!);
    const eb = await f.start(b!);
    ea.transport.send([snap(a!, b!)]);
    await waitFor('the snapshot', () => eb.rec.received.length === 1 && ea.rec.snapshots.length === 1);
    assert.deepEqual(eb.rec.received[0]?.snapshot?.data, new Uint8Array([1, 2, 3]));
    ea.transport.send([snap(a!, f.unknownId)]);
    await waitFor('the failure report', () => ea.rec.snapshots.length === 2);
    assert.deepEqual(ea.rec.snapshots, [[b, true], [f.unknownId, false]]);
  });

  withFixture('a stopped endpoint receives nothing and sends nothing', async (f, [a, b]) => {
    const ea = await f.start(a!);
    const eb = await f.start(b!);
    await eb.transport.stop();
    ea.transport.send([hb(a!, b!, 1)]);
    await waitFor('b reported unreachable', () => ea.rec.unreachablePeers.includes(b!));
    assert.equal(eb.rec.received.length, 0);
    await ea.transport.stop();
    ea.transport.send([hb(a!, b!, 2)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(eb.rec.received.length, 0);
    await ea.transport.stop(); // idempotent
  });

  withFixture('a restarted endpoint with the same id receives, the old one does not', async (f, [a, b]) => {
    const ea = await f.start(a!);
    const oldB = await f.start(b!);
    ea.transport.send([hb(a!, b!, 1)]);
    await waitFor('the first heartbeat', () => oldB.rec.received.length === 1);
    await oldB.transport.stop();
    const newB = await f.start(b!);
    // The sender may first notice the old endpoint is gone (one message lost, reported): Raft
    // resends, and so do we until one arrives.
    await waitFor('a heartbeat at the new endpoint', () => {
      if (newB.rec.received.length === 0) ea.transport.send([hb(a!, b!, 2)]);
      return newB.rec.received.length > 0;
    });
    assert.equal(oldB.rec.received.length, 1);
    assert.equal(newB.rec.received[0]?.commit, 2);
  });
}
