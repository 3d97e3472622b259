// The chaos report (scripts/chaos/report.ts): the run passes only when every check is ok; the
// text names the seed, every fault and every violation; the JSON is one line with the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { faultsByKind, reportJson, reportOk, reportText } from '../../scripts/chaos/report.ts';
import type { ChaosReport } from '../../scripts/chaos/report.ts';

const startedAtMs = 1_700_000_000_000;

function report(overrides: Partial<ChaosReport> = {}): ChaosReport {
  return {
    seed: 42, minutes: 3, mode: 'netns', nodes: 5, voters: 5, channels: 20, viewers: 10, outDir: '/tmp/x',
    startedAtMs, endedAtMs: startedAtMs + 250_000, notCovered: [],
    faults: [
      { record: { id: 1, kind: 'kill', nodes: ['n2'], role: 'leader', injectedAtMs: startedAtMs + 30_000, healedAtMs: startedAtMs + 45_000, detail: 'the leader: kill -9 n2' }, allRunningAfterHealMs: 4_200 },
      { record: { id: 2, kind: 'partition-minority', nodes: ['n4', 'n5'], role: 'any', injectedAtMs: startedAtMs + 70_000, healedAtMs: null, detail: 'cut' }, allRunningAfterHealMs: null },
      { record: { id: 3, kind: 'kill', nodes: ['n1'], role: 'worker', injectedAtMs: startedAtMs + 100_000, healedAtMs: startedAtMs + 110_000, detail: 'w' }, allRunningAfterHealMs: 0 },
    ],
    skipped: [], notes: ['a note'],
    checks: [
      { name: 'writes', ok: true, figures: { lost: 0 }, violations: [] },
      { name: 'recovery', ok: false, figures: { 'max time to recover (ms)': 31_000 }, violations: ['ch03 not running within 30000 ms'] },
    ],
    replay: 'npm run chaos -- --minutes 3 --seed 42',
    ...overrides,
  };
}

test('the run passes only when there are checks and every one is ok', () => {
  assert.equal(reportOk(report()), false);
  assert.equal(reportOk(report({ checks: [{ name: 'writes', ok: true, figures: {}, violations: [] }] })), true);
  assert.equal(reportOk(report({ checks: [] })), false, 'no check ran: not a pass');
});

test('the text names the seed, the replay line, each fault and each violation', () => {
  const text = reportText(report()).join('\n');
  assert.match(text, /seed 42, 3 min, mode netns: 5 nodes \(5 voters\), 20 channels/);
  assert.match(text, /faults: 3 injected \(kill 2, partition-minority 1\)/);
  assert.match(text, /#1 kill \[leader\] n2 at \+30\.0 s for 15\.0 s; all channels running 4\.2 s after heal/);
  assert.match(text, /#2 partition-minority \[any\] n4\+n5 at \+70\.0 s; channels not all running/);
  assert.match(text, /FAIL recovery: max time to recover \(ms\) 31000/);
  assert.match(text, /- ch03 not running within 30000 ms/);
  assert.match(text, /a note/);
  assert.match(text.split('\n').at(-1)!, /^FAIL: seed 42 \(npm run chaos -- --minutes 3 --seed 42\)$/);
  assert.match(reportText(report({ notCovered: ['loss (needs root)'] })).join('\n'), /not covered in this mode: loss \(needs root\)/);
});

test('the JSON is one line with the verdict, the faults by kind and every check', () => {
  const line = reportJson(report());
  assert.ok(!line.includes('\n'));
  const json = JSON.parse(line) as Record<string, unknown>;
  assert.equal(json['ok'], false);
  assert.equal(json['seed'], 42);
  assert.deepEqual(json['faults_by_kind'], { kill: 2, 'partition-minority': 1 });
  const faults = json['faults'] as Record<string, unknown>[];
  assert.deepEqual([faults[0]!['injected_s'], faults[0]!['healed_s'], faults[0]!['all_running_after_heal_ms']], [30, 45, 4200]);
  assert.equal(faults[1]!['healed_s'], null);
  assert.equal((json['checks'] as unknown[]).length, 2);
  assert.deepEqual(faultsByKind([]), {});
});
