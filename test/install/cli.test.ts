// The command-line side of the one-line install: `token create --install`, and the join request
// (DIR/join.json) that install.sh leaves for the node's first `ottmesh start`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CommandError, parseCommandLine } from '../../node/cli.ts';
import { completePendingJoin, hasPendingJoin, parsePendingJoin, pendingJoinFileName } from '../../node/commands/pending-join.ts';

const dir = mkdtempSync(join(tmpdir(), 'ottmesh-pending-join-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('token create --install asks for the install line; without it the invocation is as before', () => {
  const withInstall = parseCommandLine(['token', 'create', '--data-dir', '/d', '--install']);
  assert.equal(withInstall.command === 'token-create' && withInstall.install, true);
  assert.deepEqual(parseCommandLine(['token', 'create', '--data-dir', '/d']), { command: 'token-create', api: { dataDir: '/d', api: null, apiToken: null }, ttlS: 3600, uses: 1, groups: [] });
  const help = parseCommandLine(['token', 'create', '--help']);
  assert.match((help as { text: string }).text, /--install\s+end with 'curl -fsSL http:\/\/NODE\/install\.sh \| sh -s -- TOKEN'/);
  assert.match((parseCommandLine(['start', '--help']) as { text: string }).text, /join request \(join\.json, left there by install\.sh\) is joined with it first, once/);
});

test('a join request becomes the flags `ottmesh join` would get', () => {
  const text = JSON.stringify({ version: 1, token: 'TOKEN', args: ['--host', '10.0.0.6', '--name', 'edge2', '--http-port', '8081'] });
  assert.deepEqual(parsePendingJoin('/d/join.json', text, '/d'), {
    token: 'TOKEN', flags: { dataDir: '/d', name: 'edge2', host: '10.0.0.6', p2pPort: 7600, httpPort: 8081 },
  });
});

test('a malformed join request is refused with what to do', () => {
  const cases: [string, RegExp][] = [
    ['{', /is not valid JSON/],
    [JSON.stringify({ version: 2, token: 'T', args: [] }), /not a join request of this ottmesh version/],
    [JSON.stringify({ version: 1, token: 7, args: [] }), /needs a string "token"/],
    [JSON.stringify({ version: 1, token: 'T', args: [1] }), /an "args" list of strings/],
    [JSON.stringify({ version: 1, token: 'T', args: ['--data-dir', '/elsewhere'] }), /may not name --data-dir/],
    [JSON.stringify({ version: 1, token: 'T', args: ['--http-port', 'x'] }), /asks for a join ottmesh refuses \(--http-port x is not a port/],
    [JSON.stringify({ version: 1, token: 'T', args: ['--bogus'] }), /asks for a join ottmesh refuses \(Unknown option '--bogus'/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parsePendingJoin('/d/join.json', text, '/d'), (e) => e instanceof CommandError && message.test(e.message) && /run the installer again/.test(e.message), text);
  }
});

test('start joins once: the request is removed after a join, and after a failed one', async () => {
  const data = join(dir, 'node');
  const request = () => writeFileSync(join(data, pendingJoinFileName), JSON.stringify({ version: 1, token: 'TOKEN', args: ['--host', '127.0.0.1'] }), { mode: 0o600 });
  rmSync(data, { recursive: true, force: true });
  assert.equal(hasPendingJoin(data), false);
  mkdirSync(data);
  request();
  assert.equal(hasPendingJoin(data), true);
  const lines: string[] = [];
  const joined = await completePendingJoin(data, async (token, flags) => ({ token, host: flags.host }), (l) => lines.push(l));
  assert.deepEqual(joined, { token: 'TOKEN', host: '127.0.0.1' });
  assert.match(lines[0]!, /join\.json: joining the cluster with the token the installer left \(once\)/);
  assert.equal(existsSync(join(data, pendingJoinFileName)), false);

  request();
  await assert.rejects(completePendingJoin(data, () => Promise.reject(new CommandError('the cluster refused this node: used')), () => undefined), /refused/);
  assert.equal(existsSync(join(data, pendingJoinFileName)), false, 'a refused token is not tried again on the next start');

  // A node already there: the request is stale and ignored.
  request();
  writeFileSync(join(data, 'config.json'), '{}');
  assert.equal(hasPendingJoin(data), false);
});
