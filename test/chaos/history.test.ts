// The write-history checker on hand-made histories: ones that must pass (including the
// indeterminate outcomes a fault produces) and one per kind of violation; then on random small
// histories, against a brute-force search for a linearization (the checker must agree exactly).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkHistory, outcomeOf, registerValue } from '../../scripts/chaos/history.ts';
import type { FinalRead, OpRecord } from '../../scripts/chaos/history.ts';

const t0 = 1_000_000;
let clock = t0;
/** One op taking 10 ms, after the previous one. */
function op(o: Partial<OpRecord> & Pick<OpRecord, 'op' | 'key'>): OpRecord {
  clock += 20;
  return { loop: 0, value: null, node: 'n1', startMs: clock, endMs: clock + 10, outcome: 'ok', status: 200, detail: '', ...o };
}
const final = (node: string, groups: string[], registers: Record<string, number | null>): FinalRead => ({ node, atMs: clock + 1000, groups, registers, error: null });
const everywhere = (groups: string[], registers: Record<string, number | null>) => ['n1', 'n2', 'n3'].map((n) => final(n, groups, registers));

function cleanHistory(): OpRecord[] {
  clock = t0;
  return [
    op({ op: 'write', key: 'r0', value: 0, status: 201 }),
    op({ op: 'create', key: 'g0-0', status: 201 }),
    op({ op: 'write', key: 'r0', value: 1 }),
    op({ op: 'read', key: 'r0', value: 1, node: 'n2' }),
    op({ op: 'write', key: 'r0', value: 2 }),
    op({ op: 'read', key: 'r0', value: 2, node: 'n3' }),
  ];
}

test('outcomes: 2xx acknowledged, 4xx and 503 with Retry-After refused, the rest indeterminate', () => {
  assert.equal(outcomeOf(200, false), 'ok');
  assert.equal(outcomeOf(201, false), 'ok');
  assert.equal(outcomeOf(409, false), 'fail');
  assert.equal(outcomeOf(404, false), 'fail');
  assert.equal(outcomeOf(503, true), 'fail');
  assert.equal(outcomeOf(503, false), 'unknown');
  assert.equal(outcomeOf(500, false), 'unknown');
  assert.equal(outcomeOf(null, false), 'unknown');
});

test('register values are read from the end of the service name', () => {
  assert.equal(registerValue('chaos register chaos-abc-r0 v12'), 12);
  assert.equal(registerValue('chaos register chaos-abc-r0 v0'), 0);
  assert.equal(registerValue('renamed by someone'), null);
});

test('a clean history passes, with its figures', () => {
  const r = checkHistory(cleanHistory(), everywhere(['g0-0'], { r0: 2 }), t0);
  assert.deepEqual(r.violations, []);
  assert.equal(r.ok, true);
  assert.equal(r.figures['writes attempted'], 4);
  assert.equal(r.figures['acknowledged'], 4);
  assert.equal(r.figures['lost'], 0);
  assert.equal(r.figures['stale reads'], 0);
});

test('indeterminate writes may or may not be there; a later indeterminate value may be the final one', () => {
  const ops = cleanHistory();
  ops.push(op({ op: 'create', key: 'g0-1', outcome: 'unknown', status: null, detail: 'no answer in 12000 ms' }));
  ops.push(op({ op: 'create', key: 'g0-2', outcome: 'unknown', status: 503, detail: 'check before retrying' }));
  ops.push(op({ op: 'write', key: 'r0', value: 3, outcome: 'unknown', status: null }));
  // A read during the indeterminate write may see it.
  ops.push(op({ op: 'read', key: 'r0', value: 3 }));
  assert.deepEqual(checkHistory(ops, everywhere(['g0-0', 'g0-2'], { r0: 3 }), t0).violations, []);
  assert.deepEqual(checkHistory(ops.slice(0, -1), everywhere(['g0-0', 'g0-1'], { r0: 2 }), t0).violations, []);
});

test('a read that overlaps an acknowledged write may answer the old value', () => {
  clock = t0;
  const ops = [op({ op: 'write', key: 'r0', value: 0 }), op({ op: 'write', key: 'r0', value: 1 })];
  // The read began before the write of 1 was acknowledged.
  ops.push({ ...op({ op: 'read', key: 'r0', value: 0 }), startMs: ops[1]!.endMs - 5 });
  assert.deepEqual(checkHistory(ops, everywhere([], { r0: 1 }), t0).violations, []);
});

test('fails: an acknowledged create missing after the run', () => {
  const r = checkHistory(cleanHistory(), [final('n1', ['g0-0'], { r0: 2 }), final('n2', [], { r0: 2 })], t0);
  assert.equal(r.ok, false);
  assert.equal(r.figures['lost'], 1);
  assert.match(r.violations.join('\n'), /lost write: group g0-0, created through n1 .* is missing on n2/);
});

test('fails: a register older than its last acknowledged write (the write was lost)', () => {
  const r = checkHistory(cleanHistory(), everywhere(['g0-0'], { r0: 1 }), t0);
  assert.equal(r.ok, false);
  assert.equal(r.figures['lost'], 1);
  assert.match(r.violations[0]!, /lost write: register r0 is v1 on n1 after the run, but v2 took effect after v1: v1 had been written by .*, and v2 was the value by/);
});

test('an older indeterminate write may be the final value: it took effect after the later acknowledged one', () => {
  clock = t0;
  const ops = [
    op({ op: 'write', key: 'r0', value: 0 }),
    op({ op: 'write', key: 'r0', value: 1, outcome: 'unknown', status: null }),
    op({ op: 'write', key: 'r0', value: 2 }),
  ];
  const r = checkHistory(ops, everywhere([], { r0: 1 }), t0);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['late indeterminate writes'], 1);
  assert.equal(checkHistory(ops, everywhere([], { r0: 2 }), t0).figures['late indeterminate writes'], 0);
});

test('fails: the final value is an acknowledged write older than a later acknowledged one', () => {
  clock = t0;
  const ops = [
    op({ op: 'write', key: 'r0', value: 0 }),
    op({ op: 'write', key: 'r0', value: 1 }),
    op({ op: 'write', key: 'r0', value: 2, outcome: 'unknown', status: null }),
    op({ op: 'write', key: 'r0', value: 3 }),
  ];
  for (const stale of [0, 1]) {
    const r = checkHistory(ops, everywhere([], { r0: stale }), t0);
    assert.equal(r.ok, false, `final v${stale}`);
    assert.equal(r.figures['lost'], 1);
    assert.match(r.violations[0]!, new RegExp(`register r0 is v${stale} on n1 after the run, but v\\d took effect after v${stale}`));
  }
  // v2 (indeterminate) and v3 (the last acknowledged) are both possible final values.
  for (const possible of [2, 3]) assert.deepEqual(checkHistory(ops, everywhere([], { r0: possible }), t0).violations, []);
});

test('fails: a stale read (older than a write acknowledged before the read began)', () => {
  const ops = cleanHistory();
  ops.push(op({ op: 'read', key: 'r0', value: 1, node: 'n3' }));
  const r = checkHistory(ops, everywhere(['g0-0'], { r0: 2 }), t0);
  assert.equal(r.ok, false);
  assert.equal(r.figures['stale reads'], 1);
  assert.match(r.violations[0]!, /stale read: register r0 read through n3 .* answered v1, but v2 took effect after v1 and before the read began: v1 had been written by .* \(its write was acknowledged through n1\)/);
});

/** The recorded run (chaos7, register r3, one sequential writer): v41 sent through n3 (paused
 *  with SIGSTOP, it forwarded the write after waking) timed out; v42 was acknowledged through n4;
 *  a read through n4 six seconds later answered v41. */
function lateWriteRun(): OpRecord[] {
  const s = (seconds: number) => t0 + seconds * 1000;
  const w = (value: number, node: string, from: number, to: number, outcome: OpRecord['outcome'] = 'ok'): OpRecord =>
    ({ loop: 3, op: 'write', key: 'r3', value, node, startMs: s(from), endMs: s(to), outcome, status: outcome === 'ok' ? 200 : null, detail: outcome === 'ok' ? '' : 'no answer in 12000 ms' });
  return [
    w(0, 'n1', 1, 1.05),
    w(40, 'n3', 854.8, 866.8, 'unknown'),
    w(41, 'n3', 872.4, 884.4, 'unknown'),
    w(42, 'n4', 884.7, 884.8),
    { loop: 3, op: 'read', key: 'r3', value: 41, node: 'n4', startMs: s(890.8), endMs: s(890.85), outcome: 'ok', status: 200, detail: '' },
  ];
}
const readAt = (value: number, seconds: number): OpRecord =>
  ({ loop: 1, op: 'read', key: 'r3', value, node: 'n2', startMs: t0 + seconds * 1000, endMs: t0 + seconds * 1000 + 20, outcome: 'ok', status: 200, detail: '' });
/** Every node's final read, a second after the last answer. */
const finalsAfter = (ops: readonly OpRecord[], registers: Record<string, number | null>): FinalRead[] =>
  ['n1', 'n2', 'n3'].map((node) => ({ node, atMs: Math.max(...ops.map((o) => o.endMs)) + 1000, groups: [], registers, error: null }));
const writeAt = (value: number, seconds: number): OpRecord =>
  ({ loop: 3, op: 'write', key: 'r3', value, node: 'n5', startMs: t0 + seconds * 1000, endMs: t0 + seconds * 1000 + 100, outcome: 'ok', status: 200, detail: '' });

test('the recorded run: an indeterminate write read after a newer acknowledged one took effect late', () => {
  const ops = lateWriteRun();
  for (const [finalValue, late] of [[41, 1], [40, 2]] as const) {
    // v41, or v40 (never read during the run), may have been the last to take effect.
    const r = checkHistory(ops, finalsAfter(ops, { r3: finalValue }), t0);
    assert.deepEqual(r.violations, [], `final v${finalValue}`);
    assert.equal(r.figures['stale reads'], 0);
    assert.equal(r.figures['late indeterminate writes'], late);
  }
  // A later write overwrites it, as usual.
  assert.deepEqual(checkHistory([...ops, writeAt(43, 891.2)], finalsAfter([...ops, writeAt(43, 891.2)], { r3: 43 }), t0).violations, []);
});

test('fails: once a late indeterminate value was read, the value it overwrote cannot come back', () => {
  const ops = lateWriteRun();
  const back = checkHistory([...ops, readAt(42, 891)], finalsAfter([...ops, readAt(42, 891)], { r3: 41 }), t0);
  assert.equal(back.figures['stale reads'], 1);
  assert.match(back.violations[0]!, /stale read: register r3 read through n2 at \+891\.0 s answered v42, but v41 took effect after v42 and before the read began: v42 had been written by \+884\.8 s \(its write was acknowledged through n4\), and v41 was the value by \+890\.9 s \(a read through n4 returned it\)/);
  const lost = checkHistory(ops, finalsAfter(ops, { r3: 42 }), t0);
  assert.equal(lost.figures['lost'], 1);
  assert.match(lost.violations[0]!, /lost write: register r3 is v42 on n1 after the run, but v41 took effect after v42/);
  // Overwritten by v43 after it was read, v41 cannot be read again either.
  const overwritten = checkHistory([...ops, writeAt(43, 891.2), readAt(41, 892)], finalsAfter([...ops, writeAt(43, 891.2), readAt(41, 892)], { r3: 43 }), t0);
  assert.equal(overwritten.figures['stale reads'], 1);
  assert.match(overwritten.violations[0]!, /answered v41, but v43 took effect after v41 and before the read began/);
});

test('a retried create: a 409 "exists already" proves v0 was written', () => {
  clock = t0;
  const ops = [
    op({ op: 'write', key: 'r0', value: 0, outcome: 'unknown', status: null }),
    op({ op: 'write', key: 'r0', value: 0, outcome: 'fail', status: 409, detail: 'service r0 exists already' }),
  ];
  assert.deepEqual(checkHistory(ops, everywhere([], { r0: 0 }), t0).violations, []);
  const lost = checkHistory(ops, everywhere([], { r0: null }), t0);
  assert.match(lost.violations[0]!, /lost write: register r0 is missing on n1 after the run, but v0 had been written: it was the value .*a retried create through n1 found it \(409\)/);
  // Without the 409 the create is indeterminate: it may not have taken effect yet.
  assert.deepEqual(checkHistory(ops.slice(0, 1), everywhere([], { r0: null }), t0).violations, []);
});

test('fails: a read that finds no register after its creation was acknowledged', () => {
  const ops = cleanHistory();
  ops.push(op({ op: 'read', key: 'r0', value: null, status: 404 }));
  assert.equal(checkHistory(ops, everywhere(['g0-0'], { r0: 2 }), t0).figures['stale reads'], 1);
});

test('fails: a value nobody wrote (in a read, in the final state) and a group nobody created', () => {
  const ops = cleanHistory();
  ops.push(op({ op: 'read', key: 'r0', value: 7 }));
  const r = checkHistory(ops, everywhere(['g0-0', 'g9-9'], { r0: 9 }), t0);
  assert.equal(r.ok, false);
  const text = r.violations.join('\n');
  assert.match(text, /answered v7, a value no client had sent by then/);
  assert.match(text, /register r0 is v9 on n1 after the run, a value no client wrote/);
  assert.match(text, /group g9-9 exists on n1, but no client created it/);
});

test('fails: a value read before its write was sent (from the future)', () => {
  const ops = cleanHistory();
  const read = op({ op: 'read', key: 'r0', value: 3 });
  ops.push(read, op({ op: 'write', key: 'r0', value: 3 }));
  const r = checkHistory(ops, everywhere(['g0-0'], { r0: 3 }), t0);
  assert.equal(r.figures['never written'], 1);
});

test('fails: a write the API refused (503 with Retry-After) that was applied anyway', () => {
  const ops = cleanHistory();
  ops.push(op({ op: 'create', key: 'g0-1', outcome: 'fail', status: 503, detail: 'the cluster cannot do this right now' }));
  ops.push(op({ op: 'write', key: 'r0', value: 3, outcome: 'fail', status: 503 }));
  const r = checkHistory(ops, everywhere(['g0-0', 'g0-1'], { r0: 3 }), t0);
  assert.equal(r.ok, false);
  assert.equal(r.figures['refused but applied'], 2);
});

test('fails: nodes that disagree after the run, and a node that answers no read', () => {
  const finals = [final('n1', ['g0-0'], { r0: 2 }), final('n2', ['g0-0', 'g0-1'], { r0: 2 }), { node: 'n3', atMs: clock, groups: null, registers: null, error: 'groups: 503' }];
  // g0-1's create was refused: it may be on no node.
  const ops = [...cleanHistory(), op({ op: 'create', key: 'g0-1', outcome: 'fail', status: 409 })];
  const r = checkHistory(ops, finals, t0);
  assert.equal(r.ok, false);
  assert.equal(r.figures['nodes disagreeing'], 1);
  assert.equal(r.figures['nodes read after'], '2/3');
  assert.match(r.violations.join('\n'), /n3 answered no consistent read after the run \(groups: 503\)/);
  assert.match(r.violations.join('\n'), /n2 and n1 disagree after the run: groups only on n2: g0-1/);
});

test('final reads may differ by indeterminate writes that took effect between them', () => {
  const ops = [...cleanHistory(), op({ op: 'create', key: 'g0-1', outcome: 'unknown', status: null }), op({ op: 'write', key: 'r0', value: 3, outcome: 'unknown', status: null })];
  const finals = [final('n1', ['g0-0'], { r0: 2 }), final('n2', ['g0-0', 'g0-1'], { r0: 3 }), final('n3', ['g0-0', 'g0-1'], { r0: 3 })];
  const r = checkHistory(ops, finals, t0);
  assert.deepEqual(r.violations, []);
  assert.equal(r.figures['nodes disagreeing'], 0);
  assert.equal(r.figures['nodes differing on indeterminate writes'], 2);
  // A register value that is impossible is not explained: the nodes disagree (and a write was lost).
  const lost = checkHistory(ops, [final('n1', ['g0-0'], { r0: 2 }), final('n2', ['g0-0'], { r0: 1 })], t0);
  assert.match(lost.violations.join('\n'), /n2 and n1 disagree after the run: register r0: v2 vs v1/);
  assert.equal(lost.figures['lost'], 1);
});

// Random small histories of one register (one sequential writer, readers, final reads), each
// judged by the checker and by a search over every order of its operations.

/** mulberry32: a small seeded generator (the failing seed is in the assertion's message). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A register run by a simulated linearizable store: each acknowledged write takes effect inside
 *  its interval, an indeterminate one at a random time after it was sent (even after later
 *  writes, or after the final reads) or never; each read answers the value at a random instant of
 *  its interval. Then a quarter of the answers are nudged to a neighbouring value, which may or
 *  may not make the history impossible. */
function randomHistory(next: () => number): { ops: OpRecord[]; finals: FinalRead[] } {
  const ops: OpRecord[] = [];
  const effects: { value: number; atMs: number }[] = [];
  const values = 1 + Math.floor(next() * 5);
  let t = t0;
  for (let value = 0; value < values; value++) {
    const startMs = t + 1 + next() * 10;
    t = startMs + 1 + next() * 10;
    const x = next();
    const outcome = x < 0.5 ? 'ok' : x < 0.85 ? 'unknown' : 'fail';
    if (outcome === 'ok') effects.push({ value, atMs: startMs + next() * (t - startMs) });
    if (outcome === 'unknown' && next() < 0.7) effects.push({ value, atMs: startMs + next() * 80 });
    ops.push({ loop: 0, op: 'write', key: 'r0', value, node: 'n1', startMs, endMs: t, outcome, status: outcome === 'ok' ? 200 : outcome === 'fail' ? 503 : null, detail: '' });
  }
  const valueAt = (ms: number) => effects.filter((e) => e.atMs < ms).sort((a, b) => b.atMs - a.atMs)[0]?.value ?? null;
  const nudged = (v: number | null) => {
    if (next() >= 0.25) return v;
    if (next() < 0.5) return v === null ? 0 : v === 0 ? null : v - 1;
    return v === null ? 0 : Math.min(values - 1, v + 1);
  };
  for (let i = Math.floor(next() * 6); i > 0; i--) {
    const startMs = t0 + next() * (t - t0 + 40);
    const endMs = startMs + 0.5 + next() * 15;
    ops.push({ loop: 1, op: 'read', key: 'r0', value: nudged(valueAt(startMs + next() * (endMs - startMs))), node: 'n2', startMs, endMs, outcome: 'ok', status: 200, detail: '' });
  }
  const lastMs = Math.max(...ops.map((o) => o.endMs));
  const finals = ['n1', 'n2'].slice(0, 1 + Math.floor(next() * 2)).map((node) => {
    const atMs = lastMs + 1 + next() * 60;
    return { node, atMs, groups: [], registers: { r0: nudged(valueAt(lastMs + 0.5 + next() * (atMs - lastMs - 0.5))) }, error: null };
  });
  return { ops, finals };
}

/** Whether some order of the operations respects real time (one ending before another begins
 *  comes first) and register semantics. Acknowledged writes and reads must all be placed;
 *  indeterminate writes may be left out (they take effect after everything, or never). Final
 *  reads begin just after the last recorded answer, as the checker assumes. */
function linearizable(ops: readonly OpRecord[], finals: readonly FinalRead[]): boolean {
  const lastMs = Math.max(...ops.map((o) => o.endMs));
  const all = [
    ...ops.filter((o) => o.outcome !== 'fail').map((o) => ({ write: o.op === 'write', value: o.value, startMs: o.startMs, endMs: o.outcome === 'unknown' ? Infinity : o.endMs, required: o.outcome === 'ok' })),
    ...finals.map((f) => ({ write: false, value: f.registers!['r0'] ?? null, startMs: lastMs + 0.5, endMs: f.atMs, required: true })),
  ];
  const required = all.reduce((mask, o, i) => (o.required ? mask | (1 << i) : mask), 0);
  const failed = new Set<string>();
  const search = (done: number, current: number | null): boolean => {
    if ((done & required) === required) return true;
    if (failed.has(`${done} ${current}`)) return false;
    for (const [i, o] of all.entries()) {
      if (done & (1 << i)) continue;
      if (all.some((p, j) => j !== i && !(done & (1 << j)) && p.endMs < o.startMs)) continue;
      if (!o.write && o.value !== current) continue;
      if (search(done | (1 << i), o.write ? o.value : current)) return true;
    }
    failed.add(`${done} ${current}`);
    return false;
  };
  return search(0, null);
}

test('the checker agrees with a brute-force linearizability search on random histories', () => {
  const seedBase = 20_261_124;
  let legal = 0;
  for (let i = 0; i < 4000; i++) {
    const seed = seedBase + i;
    const { ops, finals } = randomHistory(seeded(seed));
    const expected = linearizable(ops, finals);
    const r = checkHistory(ops, finals, t0);
    assert.equal(r.ok, expected, `seed ${seed}: ${JSON.stringify({ ops, finals })}\n${r.violations.join('\n')}`);
    if (expected) legal++;
  }
  // Both kinds are well represented.
  assert.ok(legal > 1000 && legal < 3000, `${legal} of 4000 legal`);
});
