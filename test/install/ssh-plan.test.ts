// The install's decisions from what the server reports (pure), the exact command line it runs
// (run for real with sh against a stand-in install.sh, to prove the quoting), and the job flow
// with a fake SSH shell: every failure kind with its message, the success path, timeouts, and the
// key wiped once the login is done.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { InstallFailure } from '../../node/install/ssh-errors.ts';
import { runInstall } from '../../node/install/ssh-install.ts';
import type { InstallDeps, InstallSpec } from '../../node/install/ssh-install.ts';
import { decideInstall, factsScript, installCommandLine, installOutcome, installScriptArgs, nodeNameFor, parseFacts, tokenPlaceholder } from '../../node/install/ssh-plan.ts';
import type { InstallPlan } from '../../node/install/ssh-plan.ts';
import type { CommandResult, RemoteShell, RunOptions } from '../../node/install/ssh-session.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

const debianRelease = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n';
function factsOutput(f: { uid?: number; sudo?: 'yes' | 'no'; uname?: string; downloaders?: string[]; osRelease?: string | null; hostname?: string }): string {
  const lines = [`ottmesh-facts: uid=${f.uid ?? 0}`];
  if (f.sudo !== undefined) lines.push(`ottmesh-facts: sudo=${f.sudo}`);
  lines.push(`ottmesh-facts: uname=${f.uname ?? 'Linux x86_64'}`, `ottmesh-facts: hostname=${f.hostname ?? 'edge7'}`);
  for (const d of f.downloaders ?? ['curl']) lines.push(`ottmesh-facts: downloader=${d}`);
  const os = f.osRelease === undefined ? debianRelease : f.osRelease;
  if (os !== null) for (const l of os.trim().split('\n')) lines.push(`ottmesh-os: ${l}`);
  return `Welcome to edge7!\n${lines.join('\n')}\n`;
}

test('the facts script runs in sh and reports this machine', async () => {
  const res = await sh(factsScript);
  assert.equal(res.code, 0, res.stderr);
  const facts = parseFacts(res.stdout);
  assert.ok(facts !== null, res.stdout);
  assert.equal(facts.uid, process.getuid?.());
  assert.equal(facts.kernel, 'Linux');
  assert.ok(facts.hostname.length > 0);
});

test('parseFacts reads the lines, ignoring banners; null when no command ran', () => {
  const facts = parseFacts(factsOutput({ uid: 1000, sudo: 'yes', downloaders: ['curl', 'wget'] }))!;
  assert.deepEqual({ ...facts, osRelease: null }, { uid: 1000, sudo: true, kernel: 'Linux', machine: 'x86_64', hostname: 'edge7', downloaders: ['curl', 'wget'], osRelease: null });
  assert.equal(facts.osRelease?.['PRETTY_NAME'], 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(parseFacts('This account is currently not available.\n'), null);
  assert.equal(parseFacts(factsOutput({ osRelease: null }))!.osRelease, null);
});

test('decideInstall: root or sudo, supported systems, a downloader; each refusal says what to do', () => {
  const who = { user: 'deploy', host: 'edge7' };
  const decide = (f: Parameters<typeof factsOutput>[0]) => decideInstall(parseFacts(factsOutput(f))!, who);
  assert.deepEqual(decide({}), { privilege: 'root', downloader: 'curl', system: 'Debian GNU/Linux 12 (bookworm), x86_64' });
  assert.equal((decide({ uid: 1000, sudo: 'yes', downloaders: ['wget'] }) as InstallPlan).privilege, 'sudo');
  assert.equal((decide({ uid: 1000, sudo: 'yes', downloaders: ['wget'] }) as InstallPlan).downloader, 'wget');
  const refusals: [Parameters<typeof factsOutput>[0], string, RegExp][] = [
    [{ uid: 1000, sudo: 'no' }, 'no-root', /deploy is not root on edge7 \(uid 1000\) and has no passwordless sudo: log in as root, or give deploy passwordless sudo/],
    [{ uname: 'FreeBSD amd64' }, 'unsupported-os', /edge7 runs FreeBSD on amd64: ottmesh installs on Debian/],
    [{ uname: 'Linux aarch64' }, 'unsupported-os', /Debian GNU\/Linux 12 \(bookworm\) on aarch64: the ottmesh executable is built for x86_64 only/],
    [{ osRelease: 'PRETTY_NAME="Alpine Linux v3.20"\nID=alpine' }, 'unsupported-os', /Alpine Linux v3\.20, which uses musl libc/],
    [{ osRelease: 'PRETTY_NAME="openSUSE Leap 15.6"\nID="opensuse-leap"\nID_LIKE="suse opensuse"' }, 'unsupported-os', /runs openSUSE Leap 15\.6: ottmesh installs on Debian 10\+/],
    [{ osRelease: null }, 'unsupported-os', /an unknown Linux distribution \(no \/etc\/os-release\)/],
    [{ downloaders: [] }, 'no-downloader', /neither curl nor wget is installed on edge7: install one \(apt-get install curl\)/],
  ];
  for (const [f, kind, says] of refusals) {
    const got = decide(f);
    assert.ok(got instanceof InstallFailure, `${JSON.stringify(f)} is refused`);
    assert.equal(got.kind, kind);
    assert.match(got.message, says);
  }
  const ubuntuLike = decide({ osRelease: 'PRETTY_NAME="Linux Mint 22"\nID=linuxmint\nID_LIKE="ubuntu debian"' });
  assert.ok(!(ubuntuLike instanceof InstallFailure), 'ID_LIKE counts');
});

test('the node name: the one asked for, else the host name when usable', () => {
  assert.equal(nodeNameFor('edge-2', 'whatever'), 'edge-2');
  assert.equal(nodeNameFor(null, 'edge7.example.net'), 'edge7');
  const bad = nodeNameFor(null, '-odd');
  assert.ok(bad instanceof InstallFailure);
  assert.match(bad.message, /host name "-odd" is not a usable node name .*give the new server a name/);
});

test('the command line passes the token and every option to install.sh intact, through sh, and hides the token in what it shows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ottmesh-plan-'));
  dirs.push(dir);
  // A stand-in install.sh that prints each argument on its own line.
  await writeFile(join(dir, 'install.sh'), 'for a in "$@"; do printf "arg:%s\\n" "$a"; done\necho "ottmesh-install: done"\n');
  const args = installScriptArgs({ name: 'edge7', dataDir: '/srv/otm data', binDir: '/opt/bin', serviceUser: 'root', nodeHost: '10.0.0.7', p2pPort: 7600, httpPort: 8081, noService: true });
  const plan: InstallPlan = { privilege: 'root', downloader: 'curl', system: 'test' };
  const token = 'otj1_abc-DEF_ghi';
  const { command, shown } = installCommandLine({ baseUrl: `file://${dir}`, token, plan, args });
  const res = await sh(command);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(res.stdout.trim().split('\n'), [token, ...args].map((a) => `arg:${a}`).concat('ottmesh-install: done'));
  assert.equal(shown, `curl -fsSL file://${dir}/install.sh | sh -s -- ${tokenPlaceholder} --name edge7 --data-dir '/srv/otm data' --bin-dir /opt/bin --user root --host 10.0.0.7 --p2p-port 7600 --http-port 8081 --no-service`);
  assert.ok(!shown.includes(token));

  // A download that fails says so (a plain `curl | sh` would succeed doing nothing).
  const missing = installCommandLine({ baseUrl: `file://${dir}/nowhere`, token, plan, args: ['--name', 'x'] });
  const failed = await sh(missing.command);
  assert.equal(failed.code, 5);
  assert.match(failed.stderr, /^ottmesh-install: error: could not download file:\/\/.*\/nowhere\/install\.sh from this server/m);
  assert.equal(installCommandLine({ baseUrl: 'http://n1:8080', token, plan: { ...plan, privilege: 'sudo', downloader: 'wget' }, args: [] }).shown, `wget -qO- http://n1:8080/install.sh | sudo -n sh -s -- ${tokenPlaceholder}`);
});

test('install.sh outcome: done and exit 0 succeed; exit codes 3 and 4 keep their meaning; the last error line is the message', () => {
  assert.equal(installOutcome(0, ['ottmesh-install: platform: x', 'ottmesh-install: done: node e joined cluster c'], 'h'), null);
  const cases: [number | null, string[], string, RegExp][] = [
    [3, ['ottmesh-install: error: run as root or install sudo: ...'], 'no-root', /^run as root or install sudo/],
    [4, ['ottmesh-install: error: this machine is aarch64: ...'], 'unsupported-os', /^this machine is aarch64/],
    [6, ['ottmesh-install: error: first', 'noise', 'ottmesh-install: error: the join failed (the reason is above)'], 'install-failed', /^the join failed/],
    [1, ['E: Unable to locate package ffmpeg'], 'install-failed', /install\.sh on h failed with exit code 1: see the progress above/],
    [0, ['ottmesh-install: joining'], 'install-failed', /exited without saying it was done/],
    [null, ['ottmesh-install: downloading'], 'connection-lost', /the SSH session to h ended before install\.sh did/],
  ];
  for (const [code, lines, kind, says] of cases) {
    const got = installOutcome(code, lines, 'h');
    assert.equal(got?.kind, kind, `exit ${code}`);
    assert.match(got.message, says);
  }
});

// ---- the job flow, against a fake shell ---------------------------------------------------------

interface FakeServer {
  facts: string;
  install: (command: string, options: RunOptions) => Promise<CommandResult>;
  ran: string[];
  closed: boolean;
}

function fakeServer(facts = factsOutput({})): FakeServer {
  return { facts, ran: [], closed: false, install: async () => ({ code: 0, stdout: '', stderr: '' }) };
}

function fakeDeps(server: FakeServer, members: Map<string, { id: string; alive: boolean }>, connectFails: InstallFailure | null = null): InstallDeps & { tokens: string[][] } {
  const tokens: string[][] = [];
  const shell: RemoteShell = {
    run: async (command, options) => {
      server.ran.push(command);
      if (command.includes('ottmesh-facts')) return { code: 0, stdout: server.facts, stderr: '' };
      return server.install(command, options);
    },
    close: () => (server.closed = true),
  };
  return {
    tokens,
    connect: async () => {
      if (connectFails !== null) throw connectFails;
      return shell;
    },
    createJoinToken: async (groups) => {
      tokens.push([...groups]);
      return 'otj1_SECRET-TOKEN_value';
    },
    nodeNamed: (name) => members.get(name) ?? null,
    sleep: () => new Promise((r) => setImmediate(r)),
  };
}

const spec: InstallSpec = {
  host: 'edge7', port: 22, user: 'root', hostKeyFingerprint: 'SHA256:oievDUmwUzK+xMqXGXbQWJYOqYvaSj3xwNty/TJkweA', name: null, groups: ['edge'],
  baseUrl: 'http://10.0.0.5:8080', script: { dataDir: '/srv/ottmesh' },
};
const timeouts = { checkMs: 1000, installMs: 1000, joinWaitMs: 50, aliveWaitMs: 50, sessionEndGraceMs: 50 };

async function run(deps: InstallDeps, s: InstallSpec = spec) {
  const progress: string[] = [];
  const states: string[] = [];
  const secrets = { privateKey: Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nkeymaterial\n'), passphrase: Buffer.from('pass phrase') };
  let outcome: { nodeId: string } | InstallFailure;
  try {
    outcome = await runInstall(s, secrets, deps, { progress: (l) => progress.push(l), state: (st) => states.push(st) }, timeouts, new AbortController().signal);
  } catch (err) {
    if (!(err instanceof InstallFailure)) throw err;
    outcome = err;
  }
  return { outcome, progress, states, secrets };
}

test('a successful install: checks, a one-use token in the groups, install.sh streamed, waits for the member to be alive; the key is zeroed', async () => {
  const server = fakeServer();
  const members = new Map<string, { id: string; alive: boolean }>();
  server.install = async (command, options) => {
    options.onLine?.('ottmesh-install: downloading http://10.0.0.5:8080/download/ottmesh', 'stdout');
    options.onLine?.('ottmesh-install: token otj1_SECRET-TOKEN_value echoed by mistake', 'stderr');
    options.onLine?.('ottmesh-install: done: node edge7 joined cluster c1', 'stdout');
    members.set('edge7', { id: 'p7', alive: false });
    assert.match(command, /otj1_SECRET-TOKEN_value --name edge7 --data-dir \/srv\/ottmesh/);
    return { code: 0, stdout: '', stderr: '' };
  };
  // Gossip reports the new node alive while the job waits.
  const deps = { ...fakeDeps(server, members), sleep: async () => void members.set('edge7', { id: 'p7', alive: true }) };
  const { outcome, progress, states, secrets } = await run(deps);
  assert.deepEqual(outcome, { nodeId: 'p7' });
  assert.deepEqual(states, ['connecting', 'running']);
  assert.deepEqual(deps.tokens, [['edge']]);
  assert.ok(server.closed, 'the connection is closed at the end');
  assert.ok(secrets.privateKey.every((b) => b === 0) && secrets.passphrase.every((b) => b === 0), 'the key and passphrase are zeroed');
  assert.deepEqual(progress, [
    'connecting to root@edge7',
    'logged in to root@edge7; its host key is SHA256:oievDUmwUzK+xMqXGXbQWJYOqYvaSj3xwNty/TJkweA, as confirmed',
    'the server: Debian GNU/Linux 12 (bookworm), x86_64; logged in as root; downloads with curl',
    'created a join token for one server in groups edge',
    `running: curl -fsSL http://10.0.0.5:8080/install.sh | sh -s -- ${tokenPlaceholder} --name edge7 --data-dir /srv/ottmesh`,
    'ottmesh-install: downloading http://10.0.0.5:8080/download/ottmesh',
    'ottmesh-install: token [redacted] echoed by mistake',
    'ottmesh-install: done: node edge7 joined cluster c1',
    'node edge7 (p7) is a member of the cluster',
    'node edge7 is alive',
  ]);
});

test('each failure stops the job with its kind, before a token is made when the server is unfit', async () => {
  const cases: { name: string; facts?: string; spec?: Partial<InstallSpec>; members?: [string, { id: string; alive: boolean }][]; install?: FakeServer['install']; connect?: InstallFailure; kind: string; says: RegExp; token: boolean }[] = [
    { name: 'login refused', connect: new InstallFailure('auth-failed', 'root@edge7 refused the key'), kind: 'auth-failed', says: /refused the key/, token: false },
    { name: 'a login shell that runs nothing', facts: 'This account is currently not available.\n', kind: 'no-shell', says: /the login shell of root on edge7 runs no commands \(it said "This account is currently not available\."\)/, token: false },
    { name: 'not root, no sudo', facts: factsOutput({ uid: 1000, sudo: 'no' }), kind: 'no-root', says: /not root on edge7 \(uid 1000\) and has no passwordless sudo/, token: false },
    { name: 'unsupported', facts: factsOutput({ uname: 'Linux armv7l' }), kind: 'unsupported-os', says: /armv7l/, token: false },
    { name: 'no curl', facts: factsOutput({ downloaders: [] }), kind: 'no-downloader', says: /neither curl nor wget/, token: false },
    { name: 'name taken', members: [['edge7', { id: 'p1', alive: true }]], kind: 'bad-name', says: /a node named edge7 is already in the cluster/, token: false },
    { name: 'install.sh fails', install: async (_c, o) => {
      o.onLine?.('ottmesh-install: error: could not download http://10.0.0.5:8080/download/ottmesh: check ...', 'stderr');
      return { code: 5, stdout: '', stderr: '' };
    }, kind: 'install-failed', says: /^could not download http:\/\/10\.0\.0\.5:8080\/download\/ottmesh/, token: true },
    { name: 'install.sh as a user without root', install: async () => ({ code: 3, stdout: '', stderr: '' }), kind: 'no-root', says: /exit code 3/, token: true },
    { name: 'install.sh too slow', install: async () => {
      throw new InstallFailure('timeout', 'install.sh on edge7 did not finish within 1 s');
    }, kind: 'timeout', says: /did not finish within 1 s/, token: true },
    { name: 'done, but no member', install: async (_c, o) => {
      o.onLine?.('ottmesh-install: done', 'stdout');
      return { code: 0, stdout: '', stderr: '' };
    }, kind: 'not-joined', says: /no node named edge7 joined within 0\.05 s/, token: true },
  ];
  for (const c of cases) {
    const server = fakeServer(c.facts);
    if (c.install !== undefined) server.install = c.install;
    const deps = fakeDeps(server, new Map(c.members ?? []), c.connect ?? null);
    const { outcome, secrets } = await run(deps, { ...spec, ...c.spec });
    assert.ok(outcome instanceof InstallFailure, `${c.name}: fails`);
    assert.equal(outcome.kind, c.kind, c.name);
    assert.match(outcome.message, c.says, c.name);
    assert.equal(deps.tokens.length > 0, c.token, `${c.name}: a token ${c.token ? 'was' : 'was not'} made`);
    assert.ok(secrets.privateKey.every((b) => b === 0), `${c.name}: the key is zeroed`);
    if (c.connect === undefined) assert.ok(server.closed, `${c.name}: the connection is closed`);
  }
});
