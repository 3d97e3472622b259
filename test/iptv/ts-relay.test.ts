// The .ts relay hub against a real timeline and cache fed with synthetic segments (each packet
// carries its public number, so the output says exactly which segments went out): start at the
// live edge, every number once and in order, a jump marked and joined, a slow client cut off,
// and the ways a relay ends (line no longer allowed, stall, stream gone, shutdown, client gone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';

import { SegmentCache } from '../../node/hls/segment-cache.ts';
import { StreamTimeline } from '../../node/hls/timeline.ts';
import { TsRelayHub } from '../../node/hls/ts-relay.ts';
import type { RelayEndReason, RelayGateway, TsRelayInit } from '../../node/hls/ts-relay.ts';
import { defaultHls } from '../../node/state/index.ts';
import type { HlsSettings } from '../../node/state/index.ts';

const stream = 'ch';

/** A segment of `packets` TS packets on PID 0x100, each carrying `n` in bytes 4-7. */
function segmentBytes(n: number, packets: number): Uint8Array {
  const bytes = new Uint8Array(188 * packets).fill(0xff);
  for (let i = 0; i < packets; i++) {
    const at = i * 188;
    bytes.set([0x47, 0x01, 0x00, 0x10 | (i & 0x0f)], at);
    new DataView(bytes.buffer).setUint32(at + 4, n);
  }
  return bytes;
}

/** The public numbers in relayed bytes, one per segment (consecutive packets of one number). */
function numbersIn(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 188 <= bytes.length; at += 188) {
    const n = view.getUint32(at + 4);
    if (out.at(-1) !== n) out.push(n);
  }
  return out;
}

class Gateway implements RelayGateway {
  readonly cache = new SegmentCache({ bytesMax: 64 << 20 });
  timelineNow: StreamTimeline<Uint8Array> | null = new StreamTimeline({ segmentS: 1, windowSegments: 5 });
  settings: { hls: HlsSettings; running: boolean } | null = { hls: defaultHls, running: true };
  epoch = 1;
  k = 0;
  readonly source = { stream: () => this.settings, timeline: () => this.timelineNow };

  constructor(base = 100) {
    this.timelineNow!.applyAssignment({ epoch: 1, base, sealed: false, nodeId: 'w' }, 0);
  }

  /** Publishes the next worker segment (`packets` packets). */
  publish(packets = 4): void {
    const k = this.k++;
    const n = this.timelineNow!.wants(this.epoch, k)!;
    for (const { segment, payload } of this.timelineNow!.addWorkerSegment(this.epoch, { k, durationS: 1, discontinuity: false, pdtMs: null }, segmentBytes(n, packets), 0)) {
      this.cache.put(stream, segment.n, { bytes: payload, durationS: 1, epoch: segment.epoch, k: segment.k, workerDiscontinuity: false, pdtMs: segment.pdtMs });
    }
  }
}

interface Viewer {
  allowed: boolean;
  ended: RelayEndReason[];
  chunks: Uint8Array[];
}

function hubWith(gateway: Gateway, init: TsRelayInit = {}, nowMs = () => 0): TsRelayHub {
  return new TsRelayHub({ gateway: () => gateway, nowMs }, { tickIntervalMs: 3_600_000, recheckIntervalMs: 1, ...init });
}

function open(hub: TsRelayHub, read = true): { viewer: Viewer; body: Readable } {
  const viewer: Viewer = { allowed: true, ended: [], chunks: [] };
  const opened = hub.open(stream, { allowed: () => viewer.allowed, onEnd: (reason) => viewer.ended.push(reason) });
  assert.ok(opened.ok);
  if (read) opened.stream.on('data', (chunk: Uint8Array) => viewer.chunks.push(chunk));
  return { viewer, body: opened.stream };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const received = (viewer: Viewer): number[] => numbersIn(Buffer.concat(viewer.chunks));

test('relay: starts 3 segments behind the edge, then every number once, in order', async () => {
  const gateway = new Gateway();
  for (let i = 0; i < 5; i++) gateway.publish();
  const hub = hubWith(gateway);
  const { viewer } = open(hub);
  await flush();
  assert.deepEqual(received(viewer), [102, 103, 104]);
  hub.tick();
  hub.tick();
  gateway.publish();
  gateway.publish();
  hub.tick();
  await flush();
  assert.deepEqual(received(viewer), [102, 103, 104, 105, 106]);
  assert.equal(hub.stats().segmentsSent, 5);
  assert.equal(hub.stats().gaps, 0);
  hub.stop();
  await flush();
  assert.deepEqual(viewer.ended, ['shutdown']);
});

test('relay: a window that jumped past the relay goes on at its first segment, marked as a gap', async () => {
  const gateway = new Gateway();
  gateway.publish();
  const hub = hubWith(gateway);
  const { viewer } = open(hub);
  await flush();
  // The stream restarts with a new timeline (new numbering): the relay takes its live edge.
  gateway.timelineNow = new StreamTimeline({ segmentS: 1, windowSegments: 5 });
  gateway.timelineNow.applyAssignment({ epoch: 2, base: 500, sealed: false, nodeId: 'w2' }, 0);
  gateway.epoch = 2;
  gateway.k = 0;
  for (let i = 0; i < 4; i++) gateway.publish();
  hub.tick();
  await flush();
  assert.deepEqual(received(viewer), [100, 501, 502, 503]);
  assert.equal(hub.stats().gaps, 1);
  // An evicted segment is skipped (and counted as a gap) rather than stalling the relay.
  gateway.publish();
  gateway.cache.dropStream(stream);
  gateway.publish();
  hub.tick();
  await flush();
  assert.deepEqual(received(viewer).slice(-1), [505]);
  assert.equal(hub.stats().gaps, 2);
  hub.stop();
});

test('relay: a client that does not read is cut off once queueSegmentsMax segments wait', async () => {
  const gateway = new Gateway();
  gateway.publish(400); // 75 KB: more than the body's buffer at once
  const hub = hubWith(gateway, { queueSegmentsMax: 2 });
  const { viewer, body } = open(hub, false);
  let destroyed = false;
  body.on('close', () => { destroyed = true; });
  body.on('error', () => undefined);
  for (let i = 0; i < 2; i++) {
    gateway.publish();
    hub.tick();
  }
  assert.deepEqual(viewer.ended, [], '2 waiting: still within the bound');
  gateway.publish();
  hub.tick();
  await flush();
  assert.deepEqual(viewer.ended, ['slow-client']);
  assert.equal(destroyed, true, 'its connection is destroyed');
  assert.equal(hub.stats().open, 0);
});

test('relay: ends when the viewer may no longer watch, when the stream stalls or goes, and when the client leaves', async () => {
  let nowMs = 0;
  const gateway = new Gateway();
  gateway.publish();
  const hub = hubWith(gateway, { stallTimeoutMs: 10_000, stoppedGraceMs: 2_000 }, () => nowMs);

  const a = open(hub);
  let ended = false;
  a.body.on('end', () => { ended = true; });
  a.viewer.allowed = false;
  nowMs += 1;
  hub.tick();
  await flush();
  assert.deepEqual(a.viewer.ended, ['not-allowed']);
  assert.equal(ended, true, 'the response ends cleanly');

  const b = open(hub);
  nowMs += 9_999;
  hub.tick();
  assert.deepEqual(b.viewer.ended, []);
  nowMs += 1;
  hub.tick();
  assert.deepEqual(b.viewer.ended, ['stalled']);

  const c = open(hub);
  gateway.settings = { hls: defaultHls, running: false };
  hub.tick();
  nowMs += 2_000;
  hub.tick();
  assert.deepEqual(c.viewer.ended, ['stream-gone'], 'no worker for the grace time');

  gateway.settings = { hls: defaultHls, running: true };
  const d = open(hub);
  gateway.settings = null;
  hub.tick();
  assert.deepEqual(d.viewer.ended, ['stream-gone'], 'deleted: at once');
  assert.deepEqual(hub.open(stream, { allowed: () => true, onEnd: () => undefined }), { ok: false, reason: 'no-stream' });

  gateway.settings = { hls: defaultHls, running: true };
  const e = open(hub);
  e.body.destroy();
  await flush();
  assert.deepEqual(e.viewer.ended, ['client-closed']);
  assert.equal(hub.stats().open, 0);
  assert.deepEqual(hub.stats().ended, { 'not-allowed': 1, 'stalled': 1, 'stream-gone': 2, 'slow-client': 0, 'client-closed': 1, 'shutdown': 0 });
});

test('relay: relaysMax bounds the relays open at once', () => {
  const gateway = new Gateway();
  const hub = hubWith(gateway, { relaysMax: 1 });
  open(hub);
  assert.deepEqual(hub.open(stream, { allowed: () => true, onEnd: () => undefined }), { ok: false, reason: 'too-many-relays' });
  hub.stop();
  assert.throws(() => new TsRelayHub({ gateway: () => null }, { queueSegmentsMax: 0 }), RangeError);
});
