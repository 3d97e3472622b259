// The gateway checker: numbering that only grows passes, across a restart too; a gateway that
// goes back, or a number that names other bytes somewhere, fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkGateways } from '../../scripts/chaos/gateways.ts';
import type { GatewayRecord, SegmentRecord } from '../../scripts/chaos/gateways.ts';
import { parseListing } from '../cluster/players.ts';

const t0 = 1_000_000;
const listing = (s: number, node: string, seq: number, last: number): GatewayRecord => ({ type: 'listing', atMs: t0 + s * 1000, node, stream: 's1', seq, last });
const segment = (node: string, n: number, digest: string): SegmentRecord => ({ atMs: t0 + n * 1000, node, stream: 's1', n, digest, durationS: 2 });
const total = (node: string): GatewayRecord => ({ type: 'total', node, stream: 's1', listings: 10, listedButMissing: 0 });

test('passes: numbers that only grow at every node, through a gateway restart, with the same bytes everywhere', () => {
  const records = [listing(0, 'n1', 10, 15), listing(0, 'n2', 10, 15), listing(2, 'n1', 11, 16), listing(20, 'n1', 20, 25), listing(4, 'n2', 12, 17), total('n1'), total('n2')];
  const r = checkGateways(records, [segment('n1', 15, 'a'), segment('n2', 15, 'a'), segment('n1', 16, 'b')], t0);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['listings seen'], 20);
  assert.equal(r.figures['public numbers fetched'], 2);
});

test('fails: a restarted gateway that lists older numbers than before it died', () => {
  const records = [listing(0, 'n3', 271, 276), listing(16, 'n3', 268, 268), listing(17, 'n3', 280, 285), listing(0, 'n1', 271, 276), listing(16, 'n1', 280, 285)];
  const r = checkGateways(records, [], t0);
  assert.equal(r.ok, false);
  assert.equal(r.figures['reversals'], 1, 'going back is one reversal; climbing again is not another');
  assert.equal(r.violations[0], 'n3 /live/s1: went back at +16.0 s: media sequence 271 -> 268, newest 276 -> 268');
});

test('fails: the newest number going back while the media sequence stays', () => {
  assert.equal(checkGateways([listing(0, 'n1', 10, 15), listing(1, 'n1', 10, 14)], [], t0).figures['reversals'], 1);
});

test('fails: a public number that names different bytes at two nodes', () => {
  const r = checkGateways([], [segment('n1', 15, 'a'), segment('n2', 15, 'a'), segment('n3', 15, 'c'), segment('n4', 15, 'c')], t0);
  assert.equal(r.ok, false);
  assert.equal(r.figures['changed segments'], 1, 'one public number');
  assert.equal(r.violations.length, 2, 'one line per node that saw other bytes');
  assert.match(r.violations[0]!, /\/live\/s1\/15\.ts: different bytes at n3 .* than at n1/);
});

test('a number whose one version came only from nodes under a fault is counted apart, not failed', () => {
  const fault = { id: 1, kind: 'partition-one-way' as const, nodes: ['n1'], role: 'leader' as const, injectedAtMs: t0, healedAtMs: t0 + 20_000, detail: '' };
  const cutOff = [segment('n1', 15, 'a'), segment('n2', 15, 'c'), segment('n3', 15, 'c')];
  const r = checkGateways([], cutOff, t0, [fault]);
  assert.equal(r.ok, true);
  assert.deepEqual([r.figures['changed segments'], r.figures['changed by a cut-off gateway']], [0, 1]);
  const r2 = checkGateways([], cutOff, t0, [{ ...fault, nodes: ['n4'] }]);
  assert.equal(r2.ok, false, 'the node that served the other version was not under a fault');
});

test('parseListing gives each segment its EXTINF duration', () => {
  const l = parseListing('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2.000,\n7.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1.480,\n8.ts\n9.ts\n', 0);
  assert.deepEqual(l.segments.map((s) => [s.n, s.durationS, s.discontinuity]), [[7, 2, false], [8, 1.48, true], [9, NaN, false]]);
});
