import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { MemoryNetwork, MemoryTransport } from '../../consensus/adapters/memory-transport.ts';
import type { Message, NodeId } from '../../consensus/core/types.ts';
import { message } from '../../consensus/core/types.ts';
import { recorder } from '../p2p/transport-compliance.ts';
import type { Recorder } from '../p2p/transport-compliance.ts';


async function startNode(network: MemoryNetwork, id: NodeId, maxQueuedMessagesPerPeer?: number): Promise<{ transport: MemoryTransport; rec: Recorder }> {
  const transport = new MemoryTransport({ network }, maxQueuedMessagesPerPeer === undefined ? { id } : { id, maxQueuedMessagesPerPeer });
  const rec = recorder();
  await transport.start(rec);
  return { transport, rec };
}

function hb(from: NodeId, to: NodeId, commit: number): Message {
  return message({ type: 'MsgHeartbeat', from, to, term: 1, commit });
}

/** Enough macrotask turns for every scheduled flush to run (a flush is one setImmediate). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await nextMacrotask();
}

test('delivers asynchronously, in order per peer', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  const b = await startNode(network, 'b');
  a.transport.send([hb('a', 'b', 1), hb('a', 'b', 2), hb('a', 'b', 3)]);
  assert.equal(b.rec.received.length, 0, 'nothing may arrive inside send()');
  await settle();
  assert.deepEqual(b.rec.received.map((m) => m.commit), [1, 2, 3]);
  assert.deepEqual(a.rec.unreachablePeers, []);
  assert.deepEqual(network.stats(), { delivered: 3, dropped: 0 });
});

test('batches one send to several peers', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  const b = await startNode(network, 'b');
  const c = await startNode(network, 'c');
  a.transport.send([hb('a', 'b', 1), hb('a', 'c', 2), hb('a', 'b', 3)]);
  await settle();
  assert.deepEqual(b.rec.received.map((m) => m.commit), [1, 3]);
  assert.deepEqual(c.rec.received.map((m) => m.commit), [2]);
});

test('a cut link drops and reports the peer unreachable; heal restores it', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  const b = await startNode(network, 'b');
  network.cut('a', 'b');
  a.transport.send([hb('a', 'b', 1)]);
  b.transport.send([hb('b', 'a', 1)]);
  await settle();
  assert.equal(b.rec.received.length, 0);
  assert.equal(a.rec.received.length, 0);
  assert.deepEqual(a.rec.unreachablePeers, ['b']);
  assert.deepEqual(b.rec.unreachablePeers, ['a']);
  network.heal('a', 'b');
  a.transport.send([hb('a', 'b', 2)]);
  await settle();
  assert.deepEqual(b.rec.received.map((m) => m.commit), [2]);
});

test('a one-way cut drops only that direction', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  const b = await startNode(network, 'b');
  network.cut('a', 'b', true);
  a.transport.send([hb('a', 'b', 1)]);
  b.transport.send([hb('b', 'a', 1)]);
  await settle();
  assert.equal(b.rec.received.length, 0);
  assert.equal(a.rec.received.length, 1);
});

test('isolate cuts a node off from everyone until healAll', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  const b = await startNode(network, 'b');
  const c = await startNode(network, 'c');
  network.isolate('a');
  a.transport.send([hb('a', 'b', 1), hb('a', 'c', 1)]);
  b.transport.send([hb('b', 'c', 7), hb('b', 'a', 7)]);
  await settle();
  assert.equal(b.rec.received.length, 0);
  assert.deepEqual(c.rec.received.map((m) => m.from), ['b']);
  assert.equal(a.rec.received.length, 0);
  assert.deepEqual(new Set(a.rec.unreachablePeers), new Set(['b', 'c']));
  network.healAll();
  a.transport.send([hb('a', 'b', 2)]);
  await settle();
  assert.deepEqual(b.rec.received.map((m) => m.commit), [2]);
});

test('a full per-peer queue drops the excess and reports it once', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a', 2);
  const b = await startNode(network, 'b');
  a.transport.send([hb('a', 'b', 1), hb('a', 'b', 2), hb('a', 'b', 3), hb('a', 'b', 4)]);
  await settle();
  assert.deepEqual(b.rec.received.map((m) => m.commit), [1, 2]);
  assert.deepEqual(a.rec.unreachablePeers, ['b']);
});

test('messages to an unknown peer are dropped and reported', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  a.transport.send([hb('a', 'nobody', 1)]);
  await settle();
  assert.deepEqual(a.rec.unreachablePeers, ['nobody']);
});

test('snapshot delivery is reported to the sender', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  await startNode(network, 'b');
  const snapshot = { meta: { index: 5, term: 1, conf: { voters: ['a', 'b'], learners: [] } }, data: new Uint8Array([1]) };
  a.transport.send([message({ type: 'MsgSnap', from: 'a', to: 'b', term: 1, snapshot })]);
  await settle();
  network.cut('a', 'b');
  a.transport.send([message({ type: 'MsgSnap', from: 'a', to: 'b', term: 1, snapshot })]);
  await settle();
  assert.deepEqual(a.rec.snapshots, [['b', true], ['b', false]]);
});

test('after stop nothing is delivered to the stopped node nor sent from it', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  const b = await startNode(network, 'b');
  a.transport.send([hb('a', 'b', 1)]);
  await b.transport.stop();
  await settle();
  assert.equal(b.rec.received.length, 0);
  await a.transport.stop();
  a.transport.send([hb('a', 'b', 2)]);
  await settle();
  assert.equal(b.rec.received.length, 0);
  await a.transport.stop(); // idempotent
});

test('a restarted endpoint with the same id receives, the old one does not', async () => {
  const network = new MemoryNetwork();
  const a = await startNode(network, 'a');
  const oldB = await startNode(network, 'b');
  await oldB.transport.stop();
  const newB = await startNode(network, 'b');
  a.transport.send([hb('a', 'b', 1)]);
  await settle();
  assert.equal(oldB.rec.received.length, 0);
  assert.equal(newB.rec.received.length, 1);
});
