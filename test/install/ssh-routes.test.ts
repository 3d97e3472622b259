// The install-over-SSH routes through the real server (buildServer, app.inject) against a stand-in
// SSH server in this process (ssh2-server.ts): admin only; bodies validated with messages that
// say what to do (a password is refused and told how to add a key); the probe's fingerprint; a
// job refused for a different host key, failing for a wrong key, and succeeding end to end (the
// stand-in "install.sh" joins the fake cluster with the token it was given); and no key material
// in any response, job view or log line.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';

import { pino } from 'pino';

import { decodeJoinToken, hashSecret } from '../../node/auth/index.ts';
import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { passwordRefusal } from '../../node/http/routes/installs.ts';
import type { InstallJobView } from '../../node/install/install-jobs.ts';
import { apply, auditEntries } from '../../node/state/index.ts';
import { freePort, waitFor } from '../cluster/processes.ts';
import { node, nowMs } from '../http/fake-api.ts';
import type { FakeApi } from '../http/fake-api.ts';
import { bearer, closeAll, serve, teamApi } from '../http/team.ts';
import { answer, newKeyPair, Ssh2TestServer } from './ssh2-server.ts';
import type { ExecHandler } from './ssh2-server.ts';

const admin = bearer('admin');
const login = newKeyPair();
const passphraseKey = newKeyPair({ passphrase: 'correct horse battery' });
const strangerKey = newKeyPair();

/** What the facts script prints on the stand-in server: root, unless a test says otherwise. */
function factsAnswer(identity = ['ottmesh-facts: uid=0']): string {
  return [
    ...identity, 'ottmesh-facts: uname=Linux x86_64', 'ottmesh-facts: hostname=edge7', 'ottmesh-facts: downloader=curl',
    'ottmesh-os: PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"', 'ottmesh-os: ID=debian', '',
  ].join('\n');
}
let identity = ['ottmesh-facts: uid=0'];

/** What the stand-in server does with the install command; set per test. */
let onInstall: ExecHandler = (_command, channel) => answer(channel, 1, '', 'ottmesh-install: error: no install expected here\n');
let server: Ssh2TestServer;
let passphraseServer: Ssh2TestServer;
const others: Server[] = [];

before(async () => {
  const onExec: ExecHandler = (command, channel) => {
    if (command.includes('ottmesh-facts')) answer(channel, 0, factsAnswer(identity));
    else onInstall(command, channel);
  };
  server = await Ssh2TestServer.start({ user: ['root', 'deploy'], authorized: login.publicKey, onExec });
  passphraseServer = await Ssh2TestServer.start({ user: 'root', authorized: passphraseKey.publicKey, onExec });
});

after(async () => {
  await closeAll();
  await server.close();
  await passphraseServer.close();
  for (const s of others) s.close();
});

function installBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: '127.0.0.1', port: server.port, user: 'root', privateKey: login.privateKey, hostKeyFingerprint: server.hostKeyFingerprint, name: 'edge7', ...overrides };
}

/** Every line of the key and the passphrase: none may appear in anything the API says. */
const secretNeedles = [...login.privateKey.split('\n'), ...passphraseKey.privateKey.split('\n'), 'correct horse battery']
  .map((l) => l.trim()).filter((l) => l.length >= 16 && !l.startsWith('-----'));

function assertNoSecrets(text: string, where: string): void {
  for (const needle of secretNeedles) assert.ok(!text.includes(needle), `${where} holds key material: ${needle.slice(0, 12)}…`);
}

async function finished(app: HttpServer, id: string, timeoutMs = 20_000): Promise<InstallJobView> {
  return waitFor(`install job ${id} to end`, async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/installs/${id}`, headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    assertNoSecrets(res.body, `GET /api/v1/installs/${id}`);
    const job = res.json<InstallJobView>();
    return job.state === 'succeeded' || job.state === 'failed' ? job : null;
  }, timeoutMs, 100);
}

async function startJob(app: HttpServer, body: Record<string, unknown>): Promise<InstallJobView> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/installs', headers: admin, payload: body });
  assert.equal(res.statusCode, 202, res.body);
  assertNoSecrets(res.body, 'POST /api/v1/installs');
  return res.json<InstallJobView>();
}

test('admin only: operator and read-only are refused every install route', async () => {
  const app = serve(teamApi());
  for (const role of ['operator', 'read-only'] as const) {
    for (const [method, url] of [['POST', '/api/v1/installs/probe'], ['POST', '/api/v1/installs'], ['GET', '/api/v1/installs'], ['GET', '/api/v1/installs/x']] as const) {
      const res = await app.inject({ method, url, headers: bearer(role), ...(method === 'POST' ? { payload: installBody() } : {}) });
      assert.equal(res.statusCode, 403, `${method} ${url} as ${role}`);
      assert.match(res.json<{ message: string }>().message, /needs the admin role/);
    }
  }
});

test('the probe shows the server\'s host key fingerprint, or says why it cannot', async () => {
  const app = serve(teamApi());
  const probe = (body: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/v1/installs/probe', headers: admin, payload: body });
  const ok = await probe({ host: '127.0.0.1', port: server.port });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json(), { host: '127.0.0.1', port: server.port, hostKeyFingerprint: server.hostKeyFingerprint, algorithm: 'ssh-ed25519' });
  assert.match(server.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);

  const closedPort = await freePort();
  const refused = await probe({ host: '127.0.0.1', port: closedPort });
  assert.equal(refused.statusCode, 502);
  assert.match(refused.json<{ message: string }>().message, new RegExp(`^nothing listens on 127\\.0\\.0\\.1:${closedPort} \\(connection refused\\): check that sshd runs`));

  // Something that answers, but not SSH (an HTTP server's refusal, then it hangs up).
  const http = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'));
  others.push(http);
  const httpPort = await new Promise<number>((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as { port: number }).port)));
  const notSsh = await probe({ host: '127.0.0.1', port: httpPort });
  assert.equal(notSsh.statusCode, 502);
  assert.match(notSsh.json<{ message: string }>().message, new RegExp(`^127\\.0\\.0\\.1:${httpPort} answers but .*it is not an SSH server; check the port`));

  const bad = await probe({ host: 'a b', port: 22 });
  assert.equal(bad.statusCode, 400);
  assert.equal((await probe({ host: 'x', port: 70000 })).statusCode, 400);
});

test('install bodies are checked first, with messages that say what to do; no key material is echoed', async () => {
  const api = teamApi();
  const app = serve(api);
  const post = (body: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/v1/installs', headers: admin, payload: body });
  const cases: [Record<string, unknown>, number, RegExp][] = [
    [installBody({ password: 'hunter2hunter2', privateKey: undefined }), 400, /^passwords are not accepted .*ssh-keygen -t ed25519 -f ~\/\.ssh\/ottmesh.*ssh-copy-id -i ~\/\.ssh\/ottmesh\.pub root@127\.0\.0\.1/],
    [installBody({ privateKey: undefined }), 400, /body must have required property 'privateKey'/],
    [installBody({ hostKeyFingerprint: 'MD5:aa:bb' }), 400, /^body\/hostKeyFingerprint must match pattern/],
    [installBody({ privateKey: login.publicKey }), 400, /^privateKey holds a public key \(the \.pub file\): paste the private key/],
    [installBody({ privateKey: 'not a key at all' }), 400, /^privateKey is not a private key ssh can read: paste the whole file/],
    [installBody({ privateKey: passphraseKey.privateKey }), 400, /^privateKey is encrypted: give its passphrase$/],
    [installBody({ privateKey: passphraseKey.privateKey, passphrase: 'wrong passphrase' }), 400, /^the passphrase does not decrypt privateKey: check it$/],
    [installBody({ user: 'root; rm -rf /' }), 400, /^body\/user must match pattern/],
    [installBody({ dataDir: 'relative/dir' }), 400, /^body\/dataDir must match pattern/],
    [installBody({ nodeUrl: 'http://10.0.0.5:8080/some/path' }), 400, /^nodeUrl must be this node's base URL as the server reaches it, e.g\. http:\/\/10\.0\.0\.5:8080/],
    [installBody({ shell: 'bash' }), 400, /^body has an unknown field "shell"/],
    [installBody({ name: 'alpha' }), 409, /^a node named alpha is already in the cluster: give the new server another name$/],
  ];
  for (const [body, status, says] of cases) {
    const res = await post(body);
    assert.equal(res.statusCode, status, `${JSON.stringify(Object.keys(body))}: ${res.body}`);
    assert.match(res.json<{ message: string }>().message, says);
    assertNoSecrets(res.body, `the ${status} answer`);
  }
  assert.equal(passwordRefusal('deploy', 'edge7').includes('deploy@edge7'), true);
  assert.equal(api.proposed.length, 0, 'nothing reached the cluster');
  const list = await app.inject({ method: 'GET', url: '/api/v1/installs', headers: admin });
  assert.deepEqual(list.json(), { jobs: [] });
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/installs/nope', headers: admin })).statusCode, 404);
});

test('a job refuses a server whose host key is not the confirmed one, and reports a refused key', async () => {
  const api = teamApi();
  const app = serve(api);
  const otherFingerprint = 'SHA256:oievDUmwUzK+xMqXGXbQWJYOqYvaSj3xwNty/TJkweA';
  const mismatch = await finished(app, (await startJob(app, installBody({ hostKeyFingerprint: otherFingerprint }))).id);
  assert.equal(mismatch.state, 'failed');
  assert.equal(mismatch.error?.kind, 'host-key-mismatch');
  assert.match(mismatch.error!.message, new RegExp(`presented the host key ${server.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}, not ${otherFingerprint.replace(/[+/]/g, '\\$&')} which you confirmed: someone may be intercepting the connection \\(a man in the middle\\), or the server was reinstalled`));

  const wrongKey = await finished(app, (await startJob(app, installBody({ privateKey: strangerKey.privateKey }))).id);
  assert.equal(wrongKey.error?.kind, 'auth-failed');
  assert.match(wrongKey.error!.message, /^root@127\.0\.0\.1 refused the key: add its public key to ~root\/\.ssh\/authorized_keys/);
  assert.equal(api.proposed.length, 0, 'no join token was made for either');
  assert.equal(server.commands.length, 0, 'nothing ran on the server');
});

test('a user that is not root and has no passwordless sudo: no-root, and no token is made', async () => {
  const api = teamApi();
  const app = serve(api);
  identity = ['ottmesh-facts: uid=1000', 'ottmesh-facts: sudo=no'];
  try {
    const job = await finished(app, (await startJob(app, installBody({ user: 'deploy' }))).id);
    assert.equal(job.error?.kind, 'no-root');
    assert.equal(job.error?.message, 'deploy is not root on 127.0.0.1 (uid 1000) and has no passwordless sudo: log in as root, or give deploy passwordless sudo (a line "deploy ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/ottmesh)');
    assert.equal(api.proposed.length, 0);
  } finally {
    identity = ['ottmesh-facts: uid=0'];
  }
});

test('a job end to end: checks, a one-use join token as the admin, install.sh streamed, the new node joins; nothing secret in views or logs', async () => {
  const api = teamApi();
  const logLines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) {
    logLines.push(chunk.toString());
    done();
  } });
  const app = buildServer({ api, logger: pino({ level: 'trace' }, sink) }, { logRequests: true });
  let release = () => undefined as void;
  onInstall = (command, channel) => joinAs(api, command, channel, new Promise<void>((resolve) => (release = resolve)));
  const body = installBody({ privateKey: passphraseKey.privateKey, passphrase: 'correct horse battery', port: passphraseServer.port, hostKeyFingerprint: passphraseServer.hostKeyFingerprint, groups: ['edge'], dataDir: '/srv/ottmesh', nodeUrl: 'http://10.0.0.5:8080' });
  try {
    const started = await startJob(app, body);
    assert.equal(started.user, 'root');
    assert.equal(started.nodeUrl, 'http://10.0.0.5:8080');
    // One job per server at a time.
    await waitFor('install.sh to start', () => (passphraseServer.commands.some((c) => c.includes('install.sh')) ? true : null), 10_000);
    const again = await app.inject({ method: 'POST', url: '/api/v1/installs', headers: admin, payload: body });
    assert.equal(again.statusCode, 409);
    assert.match(again.json<{ message: string }>().message, new RegExp(`^an install on 127\\.0\\.0\\.1:${passphraseServer.port} is under way \\(job ${started.id}\\)`));
    // Progress arrives while install.sh runs.
    const midway = await waitFor('the first line of install.sh in the progress', async () => {
      const job = (await app.inject({ method: 'GET', url: `/api/v1/installs/${started.id}`, headers: admin })).json<InstallJobView>();
      return job.progress.some((p) => p.line === 'ottmesh-install: downloading http://10.0.0.5:8080/download/ottmesh') ? job : null;
    }, 10_000);
    assert.equal(midway.state, 'running');
    release();
    const job = await finished(app, started.id);
    assert.equal(job.state, 'succeeded', JSON.stringify(job.progress, null, 1));
    assert.equal(job.nodeId, 'p7');
    assert.equal(job.error, null);
    const lines = job.progress.map((p) => p.line);
    assert.deepEqual(lines.slice(0, 4), [
      `connecting to root@127.0.0.1:${passphraseServer.port}`,
      `logged in to root@127.0.0.1:${passphraseServer.port}; its host key is ${passphraseServer.hostKeyFingerprint}, as confirmed`,
      'the server: Debian GNU/Linux 12 (bookworm), x86_64; logged in as root; downloads with curl',
      'created a join token for one server in groups edge',
    ]);
    assert.match(lines[4]!, /^running: curl -fsSL http:\/\/10\.0\.0\.5:8080\/install\.sh \| sh -s -- <join token> --name edge7 --data-dir \/srv\/ottmesh$/);
    assert.deepEqual(lines.slice(-3), ['node edge7 (p7) is a member of the cluster', 'node edge7 is alive', 'install succeeded']);
    assert.ok(job.progress.every((p) => !Number.isNaN(Date.parse(p.at))), 'every line has its time');

    // The token: one use, the groups asked for, created as the admin (so the audit log says who).
    const created = api.proposed.filter((c) => c.type === 'CreateJoinToken');
    assert.equal(created.length, 1);
    const command = created[0]!;
    assert.ok(command.type === 'CreateJoinToken');
    assert.equal(command.token.usesLeft, 1);
    assert.deepEqual(command.token.groups, ['edge']);
    assert.equal(command.actor?.user, 'admin');
    assert.ok(auditEntries(api.current).some((e) => e.action === 'CreateJoinToken' && e.user === 'admin'), 'the audit log records the token');

    const list = await app.inject({ method: 'GET', url: '/api/v1/installs', headers: admin });
    const listed = list.json<{ jobs: InstallJobView[] }>().jobs;
    assert.equal(listed[0]!.id, started.id);
    assert.deepEqual(listed[0]!.progress, [], 'the list leaves the lines out');
    assertNoSecrets(list.body, 'GET /api/v1/installs');
    const logged = logLines.join('');
    assert.match(logged, /"url":"\/api\/v1\/installs"/, 'requests were logged');
    assertNoSecrets(logged, 'the request log');
    const token = /-s -- (\S+) --name/.exec(passphraseServer.commands.find((c) => c.includes('install.sh'))!)![1]!;
    assert.ok(!JSON.stringify(job).includes(token), 'the join token is not in the job view');
  } finally {
    release();
    await app.close();
  }
});

/** The stand-in install.sh: a few progress lines, then (once `go` resolves) the node joins the
 *  fake cluster with the token it was given, as `ottmesh join` would, and it says done. */
function joinAs(api: FakeApi, command: string, channel: Parameters<ExecHandler>[1], go: Promise<void>): void {
  const match = /-s -- ([A-Za-z0-9_=-]+) --name ([A-Za-z0-9._-]+)/.exec(command);
  if (match === null) return answer(channel, 2, '', `ottmesh-install: error: unexpected command ${command}\n`);
  channel.write('ottmesh-install: downloading http://10.0.0.5:8080/download/ottmesh\n');
  void go.then(() => {
    const { tokenId, secret } = decodeJoinToken(match[1]!);
    const joined = apply(api.current, { type: 'JoinNode', atMs: nowMs, tokenId, secretHash: hashSecret(secret), node: node('p7', match[2]!) });
    if (!joined.result.ok) return answer(channel, 6, '', `ottmesh-install: error: ${joined.result.reason}\n`);
    api.current = joined.state;
    api.members.set('p7', { state: 'alive', cpuPct: 1, memPct: 1, streams: 0 });
    return answer(channel, 0, `ottmesh-install: done: node ${match[2]} joined cluster ${api.current.clusterId}\n`);
  });
}
