// What the libp2p raft transport adds to the shared compliance cases: the batch frame codec,
// the frame bound, senders that speak for someone else, and a garbled stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError, encodeMessage } from '../../consensus/codec.ts';
import type { Message } from '../../consensus/core/types.ts';
import { message } from '../../consensus/core/types.ts';
import type { P2pHost } from '../../node/p2p/host.ts';
import { silentLogger } from '../../node/p2p/logger.ts';
import { decodeFrame, encodeFrame, FrameSplitter } from '../../node/p2p/raft-frame.ts';
import { Libp2pRaftTransport, raftProtocol } from '../../node/p2p/raft-transport.ts';
import { startCluster, stopAll, waitFor } from './helpers.ts';
import { recorder } from './transport-compliance.ts';

function hb(from: string, to: string, commit: number): Message {
  return message({ type: 'MsgHeartbeat', from, to, term: 1, commit });
}

/** Strip the frame's own length prefix (what LengthPrefixedDecoder does on the receiving side). */
function body(frame: Uint8Array): Uint8Array {
  let pos = 0;
  while ((frame[pos++]! & 0x80) !== 0);
  return frame.subarray(pos);
}

test('a batch frame round-trips, and damaged frames throw CodecError', () => {
  const entries = [{ term: 2, index: 9, type: 'normal' as const, data: new Uint8Array(300).fill(7) }];
  const batch = [hb('a', 'b', 1), message({ type: 'MsgApp', from: 'a', to: 'b', term: 2, index: 8, logTerm: 2, entries, commit: 8 }), hb('a', 'b', 3)];
  const frame = encodeFrame(batch.map(encodeMessage));
  assert.deepEqual(decodeFrame(body(frame)), batch);
  assert.deepEqual(decodeFrame(body(encodeFrame([]))), []);
  const good = body(frame);
  for (const bad of [good.subarray(0, good.length - 1), Uint8Array.of(...good, 0), Uint8Array.of(0x00, ...good.subarray(1)), Uint8Array.of(0xf1, 0x7f)]) {
    assert.throws(() => decodeFrame(bad), CodecError);
  }
});

test('the frame splitter finds every frame however the stream is cut into chunks', () => {
  const big = { term: 2, index: 9, type: 'normal' as const, data: new Uint8Array(700).fill(3) };
  const frames = [
    encodeFrame([encodeMessage(hb('a', 'b', 1))]),
    encodeFrame([encodeMessage(message({ type: 'MsgApp', from: 'a', to: 'b', term: 2, index: 8, logTerm: 2, entries: [big], commit: 8 }))]),
    encodeFrame([]),
    encodeFrame([encodeMessage(hb('a', 'b', 2)), encodeMessage(hb('a', 'b', 3))]),
  ];
  const stream = Uint8Array.from(frames.flatMap((f) => [...f]));
  const want = frames.map((f) => [...body(f)]);
  for (const cuts of [[], [1], [2, 3], [frames[0]!.length], [5, 200, 201, 900], Array.from({ length: stream.length - 1 }, (_, i) => i + 1)]) {
    const splitter = new FrameSplitter(1 << 20);
    const got: number[][] = [];
    let from = 0;
    for (const to of [...cuts, stream.length]) {
      // Alternate plain chunks and chunk lists, as libp2p hands over both.
      const chunk = stream.subarray(from, to);
      const parts = to % 2 === 0 ? chunk : [chunk.subarray(0, 1), chunk.subarray(1)];
      for (const f of splitter.push(parts)) got.push([...f]);
      from = to;
    }
    assert.deepEqual(got, want, `cut at ${cuts.length} places`);
  }
  assert.throws(() => new FrameSplitter(100).push(encodeFrame([encodeMessage(message({ type: 'MsgApp', from: 'a', to: 'b', term: 2, entries: [big] }))])), CodecError);
  assert.throws(() => new FrameSplitter(1 << 30).push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), CodecError);
});

async function endpoints(hosts: readonly P2pHost[], addrsOf: (id: string) => string[], maxFrameBytes?: number): Promise<Array<{ transport: Libp2pRaftTransport; rec: ReturnType<typeof recorder> }>> {
  return Promise.all(hosts.map(async (host) => {
    const transport = new Libp2pRaftTransport({ host, addrsOf, logger: silentLogger }, maxFrameBytes === undefined ? {} : { maxFrameBytes });
    const rec = recorder();
    await transport.start(rec);
    return { transport, rec };
  }));
}

test('a message larger than the frame bound is dropped and reported; smaller ones still go', async () => {
  const { hosts, membership } = await startCluster(2);
  const [a, b] = hosts as [P2pHost, P2pHost];
  const [ea, eb] = await endpoints(hosts, membership.addrsOf, 4_096);
  try {
    const snapshot = { meta: { index: 5, term: 1, conf: { voters: [a.peerId, b.peerId], learners: [] } }, data: new Uint8Array(10_000) };
    ea!.transport.send([hb(a.peerId, b.peerId, 1), message({ type: 'MsgSnap', from: a.peerId, to: b.peerId, term: 1, snapshot }), hb(a.peerId, b.peerId, 2)]);
    await waitFor('the two heartbeats', () => eb!.rec.received.length === 2);
    assert.deepEqual(eb!.rec.received.map((m) => m.commit), [1, 2]);
    assert.deepEqual(ea!.rec.snapshots, [[b.peerId, false]]);
    assert.deepEqual(ea!.rec.unreachablePeers, [b.peerId]);
  } finally {
    await Promise.all([ea!.transport.stop(), eb!.transport.stop()]);
    await stopAll(hosts);
  }
});

test('a member cannot speak for another node, and a garbled stream is closed', async () => {
  const { hosts, membership } = await startCluster(3);
  const [a, b, c] = hosts as [P2pHost, P2pHost, P2pHost];
  const [ea, eb] = await endpoints([a, b], membership.addrsOf);
  try {
    const stream = await c.libp2p.dialProtocol(a.libp2p.getMultiaddrs(), raftProtocol);
    stream.send(encodeFrame([encodeMessage(hb(b.peerId, a.peerId, 1)), encodeMessage(hb(c.peerId, a.peerId, 2))]));
    await waitFor("c's own heartbeat", () => ea!.rec.received.length === 1);
    assert.deepEqual(ea!.rec.received.map((m) => [m.from, m.commit]), [[c.peerId, 2]]);
    stream.send(Uint8Array.of(3, 0xde, 0xad, 0xbe));
    await waitFor('the garbled stream to be closed', () => stream.status !== 'open');
    // The transport itself is unaffected.
    eb!.transport.send([hb(b.peerId, a.peerId, 3)]);
    await waitFor("b's heartbeat", () => ea!.rec.received.length === 2);
  } finally {
    await Promise.all([ea!.transport.stop(), eb!.transport.stop()]);
    await stopAll(hosts);
  }
});
