import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReport, encodeReport, maxReportBytes, maxStreamItems, seqSeed } from '../../node/gossip/report.ts';
import type { TelemetryReport } from '../../node/gossip/report.ts';
import { makeReport } from './fixtures.ts';

const bytesOf = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe('telemetry report', () => {
  it('round-trips through bytes, stream entries included', () => {
    const report = makeReport('12D3KooWA', seqSeed(1_700_000_000_000) + 7, {
      streams: { count: 2, items: [
        { id: 'news', status: 'running', cpuPct: 3.2, memBytes: 22e6, inKbps: 4000, outKbps: 3900, lastSegment: 1234, restarts: 1, source: 'primary' },
        { id: 'sport' },
      ] },
    });
    const decoded = decodeReport(encodeReport(report));
    assert.deepEqual(decoded, { ok: true, report });
  });

  it('carries what the gateway published per stream and epoch, and refuses a bad entry', () => {
    const report = makeReport('a', 1, { gateway: { items: [{ id: 'news', epoch: 3, lastPublished: 41, sealed: true }, { id: 'sport', epoch: 1 }] } });
    assert.deepEqual(decodeReport(encodeReport(report)), { ok: true, report });
    const bad = decodeReport(bytesOf({ ...makeReport('a', 1), gateway: { items: [{ id: 'news', epoch: -1 }] } }));
    assert.deepEqual(bad, { ok: false, reason: 'gateway.items[0].epoch: expected a finite number >= 0, got -1' });
  });

  it('drops unknown fields instead of passing them on', () => {
    const decoded = decodeReport(bytesOf({ ...makeReport('a', 1), extra: 'x', streams: { count: 1, items: [{ id: 's', junk: 1 }] } }));
    assert.ok(decoded.ok);
    assert.equal('extra' in decoded.report, false);
    assert.deepEqual(decoded.report.streams.items, [{ id: 's' }]);
  });

  const good = makeReport('a', 1);
  const bad: Array<[string, Uint8Array, RegExp]> = [
    ['not UTF-8', new Uint8Array([0xff, 0xfe, 0x7b]), /not JSON/],
    ['not JSON', new TextEncoder().encode('{"v":1,'), /not JSON/],
    ['an array', bytesOf([good]), /report: expected an object/],
    ['null', bytesOf(null), /report: expected an object/],
    ['another version', bytesOf({ ...good, v: 2 }), /unsupported version 2/],
    ['no nodeId', bytesOf({ ...good, nodeId: undefined }), /nodeId/],
    ['an empty nodeId', bytesOf({ ...good, nodeId: '' }), /nodeId/],
    ['a huge nodeId', bytesOf({ ...good, nodeId: 'x'.repeat(300) }), /nodeId/],
    ['a negative seq', bytesOf({ ...good, seq: -1 }), /seq/],
    ['a fractional seq', bytesOf({ ...good, seq: 1.5 }), /seq: expected a safe integer/],
    ['an unsafe seq', bytesOf({ ...good, seq: 2 ** 60 }), /seq: expected a safe integer/],
    ['a string number', bytesOf({ ...good, cpuPct: '5' }), /cpuPct/],
    ['cpu over 100', bytesOf({ ...good, cpuPct: 101 }), /cpuPct: expected 0-100/],
    ['mem % over 100', bytesOf({ ...good, memPct: 100.5 }), /memPct/],
    ['a negative rate', bytesOf({ ...good, netRxBytesPerS: -3 }), /netRxBytesPerS/],
    ['a missing figure', bytesOf({ ...good, rssBytes: undefined }), /rssBytes/],
    ['no streams', bytesOf({ ...good, streams: undefined }), /streams: expected an object/],
    ['items not an array', bytesOf({ ...good, streams: { count: 0, items: {} } }), /streams.items: expected an array/],
    ['too many items', bytesOf({ ...good, streams: { count: 0, items: Array.from({ length: maxStreamItems + 1 }, () => ({ id: 's' })) } }), /entries >/],
    ['an item without id', bytesOf({ ...good, streams: { count: 1, items: [{ status: 'running' }] } }), /streams.items\[0\].id/],
    ['an unknown status', bytesOf({ ...good, streams: { count: 1, items: [{ id: 's', status: 'dancing' }] } }), /status: "dancing" is not one of/],
    ['a fractional segment', bytesOf({ ...good, streams: { count: 1, items: [{ id: 's', lastSegment: 1.5 }] } }), /lastSegment/],
    ['too large', new Uint8Array(maxReportBytes + 1), /too large/],
  ];
  for (const [name, bytes, reason] of bad) {
    it(`rejects ${name} with a reason`, () => {
      const decoded = decodeReport(bytes);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.reason, reason);
    });
  }

  it('refuses to encode a report over the size bound', () => {
    const items = Array.from({ length: maxStreamItems }, (_, i) => ({ id: `stream-${i}-`.padEnd(256, 'x'), source: 'y'.repeat(256) }));
    const report: TelemetryReport = makeReport('a', 1, { streams: { count: items.length, items } });
    assert.throws(() => encodeReport(report), RangeError);
  });

  it('seeds seq from the start time, so a restarted node starts above everything it sent', () => {
    const firstStartMs = 1_700_000_000_000;
    const sentBeforeRestart = seqSeed(firstStartMs) + 86_400 * 365; // a year of reports, one a second
    assert.ok(seqSeed(firstStartMs + 1) > seqSeed(firstStartMs));
    assert.ok(seqSeed(firstStartMs + 86_400 * 365 * 1000 + 1) > sentBeforeRestart);
    assert.ok(Number.isSafeInteger(seqSeed(Date.UTC(2200, 0, 1))));
  });
});
