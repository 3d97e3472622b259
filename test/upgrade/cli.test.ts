// `ottmesh upgrade` on the command line (node/cli.ts) and the plan it prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCommandLine, UsageError } from '../../node/cli.ts';
import { planLines } from '../../node/commands/upgrade.ts';

test('upgrade: the API flags, --executable, --health-timeout, --yes; bad ones say what to do', () => {
  assert.deepEqual(parseCommandLine(['upgrade', '--api', 'http://10.0.0.5:8080', '--api-token', 't', '--executable', './ottmesh', '--yes']), {
    command: 'upgrade', api: { dataDir: null, api: 'http://10.0.0.5:8080', apiToken: 't' }, executable: './ottmesh', healthTimeoutS: null, yes: true,
  });
  const local = parseCommandLine(['upgrade', '--data-dir', '/var/lib/ottmesh', '--health-timeout', '2m']);
  assert.deepEqual(local, { command: 'upgrade', api: { dataDir: '/var/lib/ottmesh', api: null, apiToken: null }, executable: null, healthTimeoutS: 120, yes: false });
  assert.equal((parseCommandLine(['upgrade', '--data-dir', 'd', '--health-timeout', '90']) as { healthTimeoutS: number }).healthTimeoutS, 90);
  assert.equal(parseCommandLine(['upgrade', '--help']).command, 'help');
  assert.match((parseCommandLine(['--help']) as { text: string }).text, /upgrade {8}roll a new executable out/);
  assert.throws(() => parseCommandLine(['upgrade']), UsageError);
  assert.throws(() => parseCommandLine(['upgrade', '--data-dir', 'd', 'ottmesh-new']), /unexpected arguments: ottmesh-new \(the executable goes after --executable\)/);
  assert.throws(() => parseCommandLine(['upgrade', '--data-dir', 'd', '--health-timeout', 'soon']), /--health-timeout soon is not a duration/);
  assert.throws(() => parseCommandLine(['upgrade', '--data-dir', 'd', '--health-timeout', '5']), /out of range: from 10 s to 1 h/);
});

test('the plan as printed: the order, and nodes on the target already', () => {
  const build = (version: string) => ({ version, commit: 'abc' });
  const step = (name: string, upgrade: boolean) => ({
    nodeId: name, name, phase: upgrade ? 'pending' as const : 'done' as const, from: build(upgrade ? '0.1.0' : '0.2.0'), to: build('0.2.0'), executable: null, wasDraining: false, upgrade,
    startedAtMs: null, endedAtMs: null, message: null,
  });
  assert.deepEqual(planLines({ target: { ...build('0.2.0'), sha256: 'ff', bytes: 1 }, coordinatorName: 'n1', steps: [step('n2', true), step('n3', false), step('n1', true)] }), [
    'target 0.2.0 (commit abc), sha256 ff; coordinated by n1',
    'order (one node at a time; the leader hands over leadership before it restarts):',
    '  1. n2: 0.1.0 (commit abc) -> 0.2.0 (commit abc)',
    '  2. n3: runs the target already: skipped',
    '  3. n1: 0.1.0 (commit abc) -> 0.2.0 (commit abc)',
  ]);
});
