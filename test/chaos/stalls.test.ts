// The player model and the stall checker: steady playback has no stall; a gap longer than the
// buffer stalls for the difference; a reconnect continues after what was buffered; stalls are
// put down to the fault that hit the viewer's gateway, another fault, or none.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { attribute, checkStalls, playback } from '../../scripts/chaos/stalls.ts';
import type { Stall, ViewerRecord } from '../../scripts/chaos/stalls.ts';
import type { FaultRecord } from '../../scripts/chaos/types.ts';

const t0 = 1_000_000;
const s = (x: number) => t0 + x * 1000;
const two = () => 2;
const session = (viewer: number, session: number, node: string, at: number): ViewerRecord => ({ type: 'session', viewer, session, node, stream: 'news', atMs: s(at) });
const seg = (viewer: number, session: number, n: number, at: number): ViewerRecord => ({ type: 'segment', viewer, session, n, atMs: s(at) });
const end = (viewer: number, session: number, at: number): ViewerRecord => ({ type: 'end', viewer, session, atMs: s(at), why: 'observer stopped' });
/** A session that starts 3 segments behind the live edge at `at` (n0 newest) and then gets one
 *  segment every 2 s until `until`. */
function steady(viewer: number, sess: number, node: string, at: number, n0: number, until: number): ViewerRecord[] {
  const out: ViewerRecord[] = [session(viewer, sess, node, at), seg(viewer, sess, n0 - 2, at + 0.1), seg(viewer, sess, n0 - 1, at + 0.15), seg(viewer, sess, n0, at + 0.2)];
  for (let n = n0 + 1, x = at + 2.2; x <= until; n++, x += 2) out.push(seg(viewer, sess, n, x));
  return out;
}

test('steady live playback: no stall, playback starts with the first segment', () => {
  const p = playback([...steady(0, 0, 'n1', 0, 100, 60), end(0, 0, 61)], two)!;
  assert.deepEqual(p.stalls, []);
  assert.equal(p.startupMs, 100);
  assert.equal(p.skipped, 0);
});

test('a gap without new segments longer than the buffer stalls for the difference', () => {
  // Buffer after the start: 6 s, one segment in, one out every 2 s, so 5.9 s stays buffered.
  // Then nothing from 8.2 s until 20 s: the buffer runs dry at 14.1 s.
  const records = [...steady(0, 0, 'n1', 0, 100, 8.2), seg(0, 0, 105, 20), seg(0, 0, 106, 22), end(0, 0, 23)];
  const p = playback(records, two)!;
  assert.equal(p.stalls.length, 1);
  assert.equal(Math.round(p.stalls[0]!.startMs - t0), 14_100);
  assert.equal(p.stalls[0]!.endMs, s(20));
  assert.deepEqual(p.stalls[0]!.nodes, ['n1']);
});

test('a reconnect continues after what was buffered: repeated numbers add nothing, a jump is skipped media', () => {
  const records = [
    ...steady(0, 0, 'n1', 0, 100, 10.2), end(0, 0, 11),
    // The new node lists up to 106; the player has up to 105.
    session(0, 1, 'n2', 12), seg(0, 1, 104, 12.1), seg(0, 1, 105, 12.15), seg(0, 1, 106, 12.2), seg(0, 1, 109, 14.2), end(0, 1, 15),
  ];
  const p = playback(records, two)!;
  assert.deepEqual(p.stalls, []);
  assert.equal(p.skipped, 2);
  assert.equal(p.sessions, 2);
});

test('a stall still going on at the end ends there; a viewer that never got a segment never played', () => {
  const p = playback([...steady(0, 0, 'n1', 0, 100, 4.2), end(0, 0, 30)], two)!;
  assert.equal(p.stalls.length, 1);
  assert.equal(p.stalls[0]!.ongoing, true);
  assert.equal(p.stalls[0]!.endMs, s(30));
  assert.equal(playback([session(1, 0, 'n1', 0), end(1, 0, 30)], two)!.startupMs, null);
});

const fault = (id: number, nodes: string[], from: number, to: number | null): FaultRecord => ({ id, kind: 'kill', nodes, role: 'worker', injectedAtMs: s(from), healedAtMs: to === null ? null : s(to), detail: '' });
const stall = (from: number, to: number, nodes: string[]): Stall => ({ viewer: 0, stream: 'news', startMs: s(from), endMs: s(to), nodes, ongoing: false });

test('attribution: the fault that hit the viewer\'s gateway, another active fault, a recent heal, or none', () => {
  const faults = [fault(1, ['n3'], 10, 20), fault(2, ['n1'], 100, 110)];
  assert.deepEqual(attribute(stall(12, 14, ['n1']), faults, 30_000), { cls: 'worker fault', fault: faults[0] });
  assert.deepEqual(attribute(stall(12, 14, ['n3']), faults, 30_000), { cls: 'gateway fault', fault: faults[0] });
  assert.deepEqual(attribute(stall(40, 42, ['n1']), faults, 30_000), { cls: 'worker fault', fault: faults[0] }, 'within the aftermath');
  assert.deepEqual(attribute(stall(60, 62, ['n1']), faults, 30_000), { cls: 'no fault', fault: null });
  assert.deepEqual(attribute(stall(99, 101, ['n2', 'n1']), faults, 30_000), { cls: 'gateway fault', fault: faults[1] }, 'a stall across a reconnect counts both gateways');
});

const init = { startedAtMs: t0, segmentS: 2, aftermathMs: 30_000, workerP99MsMax: 3_000 };

test('passes: a short stall during a worker fault; figures per class', () => {
  const records = [...steady(0, 0, 'n1', 0, 100, 8.2), seg(0, 0, 105, 16), seg(0, 0, 106, 18), end(0, 0, 19), ...steady(1, 0, 'n2', 0, 100, 20), end(1, 0, 21)];
  const r = checkStalls(records, new Map(), [fault(1, ['n3'], 10, 30)], init);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['worker fault: stalls'], 1);
  assert.equal(r.figures['worker fault: p50/p99/max (ms)'], '1900/1900/1900');
  assert.equal(r.figures['gateway fault: stalls'], 0);
  assert.equal(r.figures['viewers'], 2);
});

test('fails: worker-fault stalls with p99 above 3 s, and a viewer that never played', () => {
  const records = [...steady(0, 0, 'n1', 0, 100, 8.2), seg(0, 0, 105, 23), end(0, 0, 26), session(1, 0, 'n2', 0), end(1, 0, 26)];
  const r = checkStalls(records, new Map(), [fault(1, ['n3'], 10, 30)], init);
  assert.equal(r.ok, false);
  assert.match(r.violations[0]!, /viewer 0 \(\/live\/news via n1\) stalled 8900 ms from \+14\.1 s, during fault 1 \(kill of n3\)/);
  assert.match(r.violations[1]!, /viewer 1 \(\/live\/news\) never received a segment/);
});

test('a long stall on a gateway hit by the fault does not fail the worker target', () => {
  const records = [...steady(0, 0, 'n1', 0, 100, 8.2), seg(0, 0, 105, 25), end(0, 0, 26)];
  const r = checkStalls(records, new Map(), [fault(1, ['n1'], 10, 30)], init);
  assert.equal(r.ok, true);
  assert.equal(r.figures['gateway fault: stalls'], 1);
});

test('segment durations come from the gateways\' records when they have them', () => {
  // With 1 s segments arriving every 2 s the buffer cannot keep up: it stalls every cycle.
  const durations = new Map([98, 99, 100, 101, 102, 103, 104].map((n) => [`news ${n}`, 1]));
  const records = [...steady(0, 0, 'n1', 0, 100, 8.2), seg(0, 0, 105, 13), end(0, 0, 14)];
  assert.equal(checkStalls(records, new Map(), [], init).figures['no fault: stalls'], 0, '2 s segments: 5.9 s buffered at 8.2 s lasts to 14.1 s');
  const r = checkStalls(records, durations, [], init);
  assert.ok(Number(r.figures['no fault: stalls']) >= 3, String(r.figures['no fault: stalls']));
});

test('stalls under 250 ms are counted apart', () => {
  // Buffer dry at 14.1 s, the next segment at 14.3 s: a 200 ms stall.
  const records = [...steady(0, 0, 'n1', 0, 100, 8.2), seg(0, 0, 105, 14.3), end(0, 0, 15)];
  const r = checkStalls(records, new Map(), [], init);
  assert.equal(r.figures['no fault: stalls'], 0);
  assert.equal(r.figures['stalls under 250 ms (not counted)'], 1);
  assert.equal(r.figures['stalls under 250 ms: total (ms)'], 200);
});
