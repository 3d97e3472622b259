import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCommandLine, parseDurationS, UsageError } from '../../node/cli.ts';
import { checkNodeOptions, parseConfig, ConfigError } from '../../node/config.ts';
import { renderStatus } from '../../node/commands/status.ts';

test('every command has --help', () => {
  for (const argv of [['--help'], ['init', '--help'], ['start', '-h'], ['join', '--help'], ['token', 'create', '--help'], ['status', '--help']]) {
    const inv = parseCommandLine(argv);
    assert.equal(inv.command, 'help');
    assert.match((inv as { text: string }).text, /usage: ottmesh/);
  }
});

test('init and join take node flags with defaults', () => {
  const init = parseCommandLine(['init', '--data-dir', '/d', '--p2p-port', '0', '--name', 'a']);
  assert.deepEqual(init, { command: 'init', token: null, node: { dataDir: '/d', name: 'a', host: '127.0.0.1', p2pPort: 0, httpPort: 8080 } });
  const join = parseCommandLine(['join', 'TOKEN', '--data-dir', '/e', '--host', '10.1.2.3']);
  assert.equal(join.command === 'join' && join.token, 'TOKEN');
});

test('bad invocations say what to do', () => {
  const cases: [string[], RegExp][] = [
    [['init'], /needs --data-dir/],
    [['join', '--data-dir', '/d'], /needs a TOKEN/],
    [['init', '--data-dir', '/d', '--http-port', 'x'], /not a port/],
    [['frobnicate'], /unknown command/],
    [['token', 'create'], /say which cluster/],
    [['token', 'create', '--data-dir', '/d', '--ttl', '1y'], /not a duration/],
    [['token', 'create', '--data-dir', '/d', '--uses', '0'], /from 1 to 10000/],
    [['status', '--api', 'http://x', '--data-dir', '/d'], /either --data-dir or --api/],
    [['start', '--data-dir', '/d', '--bogus'], /Unknown option/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseCommandLine(argv), (e) => e instanceof UsageError && message.test(e.message), argv.join(' '));
});

test('durations', () => {
  assert.deepEqual(['30', '30s', '30m', '1h', '2d'].map(parseDurationS), [30, 30, 1800, 3600, 172800]);
});

test('token create collects groups', () => {
  const inv = parseCommandLine(['token', 'create', '--api', 'http://h:1', '--api-token', 't', '--group', 'edge', '--group', 'gpu', '--uses', '3']);
  assert.deepEqual(inv, { command: 'token-create', api: { dataDir: null, api: 'http://h:1', apiToken: 't' }, ttlS: 3600, uses: 3, groups: ['edge', 'gpu'] });
});

test('node options and config files are checked with clear messages', () => {
  assert.match(checkNodeOptions({ name: 'bad name', host: 'h', p2pPort: 1, httpPort: 2 })!, /not a valid node name/);
  assert.match(checkNodeOptions({ name: 'a', host: 'h', p2pPort: 5, httpPort: 5 })!, /different ports/);
  assert.equal(checkNodeOptions({ name: 'a', host: '10.0.0.1', p2pPort: 0, httpPort: 0 }), null);
  assert.throws(() => parseConfig('/d/config.json', '{'), (e) => e instanceof ConfigError && /not valid JSON/.test(e.message));
  assert.throws(() => parseConfig('/d/config.json', '{"version":1}'), /missing or has wrong clusterId/);
  assert.throws(() => parseConfig('/d/config.json', '{"version":9}'), /version 9/);
});

test('status renders a table with the leader marked', () => {
  const lines = renderStatus({
    clusterId: 'c1', term: 4, leader: { id: 'p1', name: 'alpha' },
    nodes: [
      { id: 'p1', name: 'alpha', role: 'voter', state: 'alive', enabled: true, groups: [], cpuPct: 12.4, memPct: 40, streams: 0, httpUrl: 'http://a:8080' },
      { id: 'p2', name: 'beta', role: 'learner', state: 'down', enabled: false, groups: ['edge'], cpuPct: null, memPct: null, streams: 0, httpUrl: 'http://b:8080' },
    ],
  });
  assert.match(lines[0]!, /leader alpha/);
  assert.match(lines[2]!, /^alpha \*\s+p1\s+voter\s+alive\s+yes\s+12%/);
  assert.match(lines[3]!, /beta\s+p2\s+learner\s+down\s+no\s+-\s+-\s+0\s+edge/);
});

test('--version prints the package version and the commit', async () => {
  assert.deepEqual(parseCommandLine(['--version']), { command: 'version' });
  const { versionText } = await import('../../node/version.ts');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.match(versionText(), new RegExp(`^ottmesh ${pkg.version.replaceAll('.', '\\.')} \\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\)$`));
});
