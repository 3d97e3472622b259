// The recovery checker: a heal after which every channel runs with new segments at every node
// within the bound passes; one after which a channel stays down fails; heals cut short by the
// next fault or overlapping another are not judged; the final state must be all running.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { AssignmentRecord } from '../../scripts/chaos/fencing.ts';
import type { ListingRecord } from '../../scripts/chaos/gateways.ts';
import { checkRecovery } from '../../scripts/chaos/recovery.ts';
import type { FinalChannelState } from '../../scripts/chaos/recovery.ts';
import type { FaultRecord } from '../../scripts/chaos/types.ts';

const t0 = 1_000_000;
const s = (x: number) => t0 + x * 1000;
const init = { startedAtMs: t0, boundMs: 30_000, nodes: ['n1', 'n2'], streams: ['a', 'b'], recordsEndMs: s(1000) };
const fault = (id: number, from: number, to: number | null, nodes = ['n1']): FaultRecord => ({ id, kind: 'kill', nodes, role: 'worker', injectedAtMs: s(from), healedAtMs: to === null ? null : s(to), detail: '' });
const status = (at: number, a: string, b: string): AssignmentRecord => ({
  atMs: s(at), prevAtMs: null, via: 'n2', streams: { a: { nodeId: 'n2', epoch: 1, standby: null, status: a }, b: { nodeId: 'n2', epoch: 2, standby: null, status: b } },
});
/** Listings at both nodes for both streams: newest number = seconds / 2, from `from` to `to`. */
function listings(from: number, to: number, nodes = ['n1', 'n2'], streams = ['a', 'b']): ListingRecord[] {
  const out: ListingRecord[] = [];
  for (let x = from; x <= to; x += 2) for (const node of nodes) for (const stream of streams) out.push({ type: 'listing', atMs: s(x), node, stream, seq: x / 2 - 5, last: x / 2 });
  return out;
}
const allRunning: FinalChannelState[] = [{ stream: 'a', status: 'running', notAdvancing: [] }, { stream: 'b', status: 'running', notAdvancing: [] }];
const byTime = (l: ListingRecord[]) => [...l].sort((x, y) => x.atMs - y.atMs);

test('passes: every channel running with a new segment at every node 6 s after the heal', () => {
  // n1 is down 10-20 s: no listings from it; 'a' is not running from 12 s to 24 s.
  const l = byTime([...listings(0, 10), ...listings(12, 100, ['n2']), ...listings(26, 100, ['n1'])]);
  const r = checkRecovery([fault(1, 10, 20)], [status(0, 'running', 'running'), status(12, 'starting', 'running'), status(24, 'running', 'running')], l, allRunning, init);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['max time to recover (ms)'], 6_000);
  assert.equal(r.figures['heals judged'], 1);
  assert.equal(r.figures['running at the end'], '2/2');
});

test('fails: a channel that is not listed anew at one node within the bound', () => {
  const l = byTime([...listings(0, 100, ['n2']), ...listings(0, 10, ['n1']), ...listings(0, 100, ['n1'], ['b'])]);
  const r = checkRecovery([fault(1, 10, 20)], [status(0, 'running', 'running')], l, allRunning, init);
  assert.equal(r.ok, false);
  assert.equal(r.figures['channels down after heal'], 1);
  assert.match(r.violations[0]!, /fault 1 \(kill of n1\) healed at \+20\.0 s: a not running with a new segment at every node within 30000 ms/);
});

test('fails: a channel whose committed status stays failed', () => {
  const r = checkRecovery([fault(1, 10, 20)], [status(0, 'running', 'running'), status(15, 'running', 'failed')], listings(0, 100), allRunning, init);
  assert.equal(r.ok, false);
  assert.match(r.violations[0]!, /: b not running/);
});

test('not judged: a heal whose recovery the next fault cuts short, or one while another fault lasts', () => {
  const l = byTime([...listings(0, 10), ...listings(40, 100)]);
  const r = checkRecovery([fault(1, 10, 20), fault(2, 25, 35)], [status(0, 'running', 'running')], l, allRunning, init);
  assert.equal(r.figures['interrupted by the next fault'], 1);
  assert.equal(r.figures['heals judged'], 1, 'fault 2 is judged: back 5 s after its heal');
  assert.deepEqual(r.violations, []);
  const overlapping = checkRecovery([fault(1, 10, 20), fault(2, 15, 30, ['n2'])], [status(0, 'running', 'running')], listings(0, 100), allRunning, init);
  assert.equal(overlapping.figures['overlapping another fault'], 1);
  assert.equal(overlapping.ok, true);
});

test('fails: a channel down at the end, and a fault never healed', () => {
  const final: FinalChannelState[] = [{ stream: 'a', status: 'running', notAdvancing: ['n2'] }, { stream: 'b', status: 'starting', notAdvancing: [] }];
  const r = checkRecovery([fault(1, 10, null)], [status(0, 'running', 'running')], listings(0, 100), final, init);
  assert.equal(r.ok, false);
  assert.equal(r.figures['running at the end'], '0/2');
  const text = r.violations.join('\n');
  assert.match(text, /fault 1 \(kill of n1\) was never healed/);
  assert.match(text, /at the end a is running, no new segment at n2/);
  assert.match(text, /at the end b is starting/);
});

test('not judged from the records: a last heal whose records end before it recovered (the final state judges it)', () => {
  const l = byTime([...listings(0, 10), ...listings(0, 30, ['n2'])]);
  const r = checkRecovery([fault(1, 10, 20)], [status(0, 'running', 'running')], l, allRunning, { ...init, recordsEndMs: s(30) });
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['left to the final state (records ended)'], 1);
  const down = checkRecovery([fault(1, 10, 20)], [status(0, 'running', 'running')], l, allRunning, { ...init, recordsEndMs: s(60) });
  assert.equal(down.ok, false, 'records that go on past the bound judge it');
});
