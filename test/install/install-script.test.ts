// install.sh (node/install/install-script.ts): rendering, its argument parser and platform
// checks, and real installs as root on this machine into temporary directories (--bin-dir,
// --data-dir, --user root: nothing under /usr/local or /etc, no user created) that join a
// running cluster. ffmpeg is installed here (scripts/setup.sh); without it these tests skip
// rather than let the script install it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { baseUrlHost, installBaseUrl, installCommand, renderInstallScript } from '../../node/install/install-script.ts';
import { freePort, ProcessCluster, waitFor } from '../cluster/processes.ts';
import { ensureExecutable, exeUnavailable } from '../exe/build.ts';

const root = mkdtempSync(join(tmpdir(), 'ottmesh-install-'));
after(() => rmSync(root, { recursive: true, force: true }));

const sha = 'ab'.repeat(32);
const sampleScript = renderInstallScript({ baseUrl: 'http://10.0.0.5:8080', sha256: sha });

interface ScriptRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Something the script started still held its stdout or stderr after it exited: piped
   *  through ssh, the install would never end. */
  readonly pipesHeld: boolean;
}

/** How long after the script's exit its output pipes must be closed. */
const pipesCloseMs = 2_000;

/** Runs `sh -s -- ARGS` with the script on stdin (as `curl ... | sh -s --` does). */
function runScript(script: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; prefix?: readonly string[]; timeoutMs?: number } = {}): Promise<ScriptRun> {
  const argv = [...(options.prefix ?? []), '/bin/sh', '-s', '--', ...args];
  return runCommand(argv, script, options);
}

function runCommand(argv: readonly string[], input: string, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ScriptRun> {
  return new Promise((ok) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 30_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let closed = false;
    child.on('close', (code) => {
      closed = true;
      ok({ code, stdout, stderr, pipesHeld: false });
    });
    child.on('exit', (code) => setTimeout(() => {
      if (closed) return;
      child.stdout.destroy();
      child.stderr.destroy();
      ok({ code, stdout, stderr, pipesHeld: true });
    }, pipesCloseMs));
    child.stdin.end(input);
  });
}

const has = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('rendering', () => {
  test('the base URL comes only from a plain host[:port]', () => {
    const good: [string, string, string][] = [
      ['http', '10.0.0.5:8080', 'http://10.0.0.5:8080'], ['https', 'Node-1.LAN', 'https://node-1.lan'], ['http', '[fe80::1]:80', 'http://[fe80::1]:80'],
      ['http', 'ottmesh_edge:8080', 'http://ottmesh_edge:8080'], ['http', 'example.net.', 'http://example.net.'],
    ];
    for (const [protocol, host, url] of good) assert.equal(installBaseUrl(protocol, host), url, host);
    const bad: [string, string | undefined][] = [
      ['http', undefined], ['http', ''], ['ftp', 'h'], ['http', "h';id;'"], ['http', 'h:65536'], ['http', 'h:'], ['http', '-h'], ['http', 'h..x'],
      ['http', 'a'.repeat(64)], ['http', '[::1'], ['http', 'h$(id)'], ['http', 'h\nx'], ['http', 'h x'],
    ];
    for (const [protocol, host] of bad) assert.equal(installBaseUrl(protocol, host), null, JSON.stringify(host));
    assert.equal(baseUrlHost('http://[fe80::1]:80'), 'fe80::1');
    assert.equal(baseUrlHost('http://10.0.0.5:8080'), '10.0.0.5');
    assert.equal(installCommand('http://10.0.0.5:8080', 'T0K'), 'curl -fsSL http://10.0.0.5:8080/install.sh | sh -s -- T0K');
  });

  test('render refuses what did not come through installBaseUrl, and a malformed sha256', () => {
    assert.throws(() => renderInstallScript({ baseUrl: "http://h';id;'", sha256: sha }), /not a base URL/);
    assert.throws(() => renderInstallScript({ baseUrl: 'http://h', sha256: 'AB'.repeat(32) }), /64 lowercase hex/);
    assert.throws(() => renderInstallScript({ baseUrl: 'http://h', sha256: 'ab' }), /64 lowercase hex/);
  });

  test('the script parses with sh -n (and dash, bash, busybox where installed)', () => {
    const file = join(root, 'parse.sh');
    writeFileSync(file, sampleScript);
    execFileSync('/bin/sh', ['-n', file]);
    for (const shell of ['dash', 'bash']) if (has(shell)) execFileSync(shell, ['-n', file]);
    if (has('busybox')) execFileSync('busybox', ['sh', '-n', file]);
    assert.match(sampleScript, /^set -eu$/m);
    assert.match(sampleScript, /\nmain "\$@"\n$/, 'everything runs from the last line: a cut download runs nothing');
    assert.ok(!sampleScript.includes('\\${'), 'no escaped parameter expansion left');
  });

  test('shellcheck finds nothing', { skip: has('shellcheck') ? false : 'shellcheck is not installed' }, () => {
    const file = join(root, 'check.sh');
    writeFileSync(file, sampleScript);
    for (const shell of ['sh', 'dash', 'bash']) execFileSync('shellcheck', ['-s', shell, file], { encoding: 'utf8' });
  });
});

describe('arguments and platform (before anything is changed)', () => {
  test('bad arguments: exit 2 with a message that says what to do', async () => {
    const cases: [string[], RegExp][] = [
      [[], /a join token is needed: run 'ottmesh token create --install'/],
      [['TOKEN', '--frobnicate'], /unknown option --frobnicate/],
      [['TOKEN', '--data-dir'], /--data-dir needs a value/],
      [['TOKEN', 'OTHER'], /unexpected argument OTHER: give one TOKEN/],
      [["T'OK"], /the token must be the one 'ottmesh token create' printed/],
      [['TOKEN', '--data-dir', 'relative/dir'], /--data-dir relative\/dir must be an absolute path/],
      [['TOKEN', '--bin-dir', '/opt/my bin'], /--bin-dir \/opt\/my bin may hold only letters/],
      [['TOKEN', '--data-dir', '/'], /--data-dir \/ is not a data directory/],
      [['TOKEN', '--user', 'Bad$User'], /--user Bad\$User is not a valid user name/],
      [['TOKEN', '--http-port', '99999'], /--http-port 99999 is not a port/],
      [['TOKEN', '--p2p-port=x1'], /--p2p-port x1 is not a port/],
      [['TOKEN', '--host', 'a;b'], /--host a;b is not a host name or address/],
      [['TOKEN', '--name', '-x'], /--name -x must start with a letter or a digit/],
      [['TOKEN', '--name', 'a"b'], /--name a"b may hold only letters, digits/],
    ];
    for (const [args, message] of cases) {
      const run = await runScript(sampleScript, args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /^ottmesh-install: error: /, args.join(' '));
      assert.match(run.stderr, message, args.join(' '));
      assert.match(run.stderr, /\(run with --help for the usage\)\n$/);
      assert.equal(run.stdout, '', `${args.join(' ')}: nothing done`);
    }
  });

  test('--help prints the usage with this node\'s URL', async () => {
    const run = await runScript(sampleScript, ['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^usage: curl -fsSL http:\/\/10\.0\.0\.5:8080\/install\.sh \| sh -s -- TOKEN \[options\]/);
    for (const flag of ['--data-dir', '--bin-dir', '--user', '--name', '--host', '--p2p-port', '--http-port', '--no-service']) assert.ok(run.stdout.includes(`  ${flag}`), flag);
  });

  test('another architecture or OS: exit 4 saying what is supported', async () => {
    const stubs = join(root, 'stubs-arch');
    mkdirSync(stubs);
    writeFileSync(join(stubs, 'uname'), '#!/bin/sh\ncase "$1" in -m) echo aarch64 ;; *) echo Linux ;; esac\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${stubs}:${process.env['PATH']}` };
    const armRun = await runScript(sampleScript, ['TOKEN'], { env });
    assert.equal(armRun.code, 4, armRun.stderr);
    assert.match(armRun.stderr, /^ottmesh-install: error: this machine is aarch64: the ottmesh executable is built for x86_64 \(amd64\) only\n$/);

    const releases: [string, RegExp][] = [
      ['ID=alpine\nPRETTY_NAME="Alpine Linux v3.20"\n', /Alpine Linux v3\.20 uses musl libc, and the ottmesh executable needs glibc: install on Debian 10\+, Ubuntu/],
      ['ID=gentoo\nPRETTY_NAME="Gentoo Linux"\n', /Gentoo Linux is not supported: ottmesh installs on Debian 10\+/],
      ['ID=postmarketos\nID_LIKE="alpine"\nPRETTY_NAME="postmarketOS"\n', /postmarketOS uses musl libc/],
    ];
    for (const [text, message] of releases) {
      const file = join(root, `os-release-${releases.findIndex((r) => r[0] === text)}`);
      writeFileSync(file, text);
      const run = await runScript(sampleScript, ['TOKEN'], { env: { ...process.env, OTTMESH_INSTALL_OS_RELEASE: file } });
      assert.equal(run.code, 4, run.stderr);
      assert.match(run.stderr, message);
    }
  });

  const asNobody = process.getuid?.() === 0 && has('setpriv');
  test('not root and no sudo: exit 3, "run as root or install sudo"', { skip: asNobody ? false : 'needs root and setpriv to run the script as nobody' }, async () => {
    // Only the tools the script uses before it looks for sudo: no sudo, whatever the machine has.
    const tools = mkdtempSync(join(tmpdir(), 'ottmesh-install-tools-'));
    after(() => rmSync(tools, { recursive: true, force: true }));
    chmodSync(tools, 0o755); // nobody must reach the tools (root's temporary directories are 0700)
    for (const tool of ['uname', 'sed', 'head', 'tr', 'getconf', 'awk', 'curl', 'id', 'cat']) {
      symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(tools, tool));
    }
    const run = await runScript(sampleScript, ['TOKEN'], { prefix: [execFileSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).trim(), '--reuid=65534', '--regid=65534', '--clear-groups'], env: { PATH: tools, HOME: '/' } });
    assert.equal(run.code, 3, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /^ottmesh-install: error: run as root or install sudo/);
  });
});

// Real installs: this machine is Debian on x86_64 and the tests run as root. The executable is
// the real one (dist/ottmesh, built by test/exe/build.ts when stale), served by a real node of a
// 1-node cluster (run from the sources, it serves the checkout's dist/ottmesh), and the command
// run is the line `ottmesh token create --install` printed.
const unavailable = process.getuid?.() !== 0 || !has('ffmpeg') || !has('curl') ? 'needs root, ffmpeg (never installed by a test) and curl' : exeUnavailable();
describe('installing as root into temporary directories', { skip: unavailable ?? false }, () => {
  let cluster: ProcessCluster;
  let admin: string;
  let alphaUrl: string;
  let executable: string;
  const started: number[] = [];

  before(async () => {
    executable = await ensureExecutable();
    cluster = await ProcessCluster.create('ottmesh-install-cluster-');
    await cluster.init('alpha');
    await cluster.waitPrinted('alpha', /dashboard and API/, 60_000);
    admin = await cluster.adminToken('alpha');
    alphaUrl = cluster.nodes.get('alpha')!.httpUrl;
  });

  after(async () => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await cluster?.stop();
  });

  /** install.sh as alpha serves it. */
  async function servedScript(): Promise<string> {
    const res = await fetch(`${alphaUrl}/install.sh`);
    assert.equal(res.status, 200);
    return res.text();
  }

  /** `ottmesh token create --install` on alpha: its last line, the command to run. */
  async function installLine(): Promise<{ line: string; token: string }> {
    const res = await cluster.run(['token', 'create', '--data-dir', cluster.nodes.get('alpha')!.dataDir, '--install'], { timeoutMs: 30_000 });
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    const line = lines.at(-1)!;
    const token = /^token: (\S+)$/m.exec(res.stdout)?.[1];
    assert.ok(token !== undefined, `the token is printed on its own line:\n${res.stdout}`);
    assert.equal(line, `curl -fsSL ${cluster.nodes.get('alpha')!.httpUrl}/install.sh | sh -s -- ${token}`);
    assert.match(res.stdout, /note: the command names 127\.0\.0\.1, which only this machine reaches/);
    return { line, token };
  }

  function dirs(name: string): { bin: string; data: string } {
    return { bin: join(root, name, 'bin'), data: join(root, name, 'data') };
  }

  test('a checksum mismatch is refused and nothing is installed', async () => {
    const { token } = await installLine();
    const script = await servedScript();
    const tampered = script.replace(/^OTTMESH_SHA256='[0-9a-f]{64}'$/m, `OTTMESH_SHA256='${'0'.repeat(64)}'`);
    assert.notEqual(tampered, script);
    const { bin, data } = dirs('mismatch');
    const run = await runScript(tampered, [token, '--bin-dir', bin, '--data-dir', data, '--user', 'root', '--no-service']);
    assert.equal(run.code, 5, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /^ottmesh-install: error: the download's sha256 is [0-9a-f]{64}, not 0{64}: .*nothing was installed/m);
    assert.deepEqual(readdirSync(bin), [], 'no executable and no temporary file left');
    assert.ok(!existsSync(data), 'no data directory');
  });

  /** Records the pid of a node the script started detached, for after() to stop. */
  function trackDetached(data: string): void {
    const pidFile = join(data, 'ottmesh.pid');
    if (existsSync(pidFile)) started.push(Number(readFileSync(pidFile, 'utf8')));
  }

  const logOf = (data: string) => (existsSync(join(data, 'ottmesh.log')) ? `\n--- ottmesh.log ---\n${readFileSync(join(data, 'ottmesh.log'), 'utf8')}` : '');

  let beta: { token: string; clusterId: string } | null = null;

  test('installs and joins the running cluster on the first start; runs again over the installation', async () => {
    const { line, token } = await installLine();
    const { bin, data } = dirs('beta');
    const [p2pPort, httpPort] = [await freePort(), await freePort()];
    const flags = ['--bin-dir', bin, '--data-dir', data, '--user', 'root', '--name', 'beta', '--host', '127.0.0.1', '--p2p-port', String(p2pPort), '--http-port', String(httpPort)];
    // The line as printed, with the flags that keep it out of /usr/local and /var/lib. With
    // --no-service nothing runs yet and the cluster is not contacted: the join waits in join.json.
    const first = await runCommand(['/bin/sh', '-c', `${line} ${flags.join(' ')} --no-service`], '', { timeoutMs: 180_000 });
    const firstOut = `${first.stdout}${first.stderr}`;
    assert.equal(first.code, 0, firstOut);
    assert.equal(first.stdout.trim().split('\n').at(-1), 'ottmesh-install: done: installed; the node joins the cluster on its first start (the token must still be valid then)', firstOut);
    assert.match(first.stdout, /ottmesh-install: platform: Debian/);
    assert.match(first.stdout, /ottmesh-install: ffmpeg: \//);
    assert.match(first.stdout, new RegExp(`ottmesh-install: installed ${bin}/ottmesh: ottmesh \\d+\\.\\d+\\.\\d+\\S* \\(commit `));
    const served = createHash('sha256').update(readFileSync(executable)).digest('hex');
    assert.equal(createHash('sha256').update(readFileSync(join(bin, 'ottmesh'))).digest('hex'), served, 'the installed file is the executable alpha serves');
    assert.equal(statSync(join(bin, 'ottmesh')).mode & 0o777, 0o755);
    assert.equal(statSync(data).mode & 0o777, 0o700);
    assert.equal(statSync(join(data, 'join.json')).mode & 0o777, 0o600, 'the join request holds the token: 0600');
    assert.deepEqual(JSON.parse(readFileSync(join(data, 'join.json'), 'utf8')),
      { version: 1, token, args: ['--host', '127.0.0.1', '--name', 'beta', '--p2p-port', String(p2pPort), '--http-port', String(httpPort)] });
    assert.ok(!existsSync(join(data, 'config.json')), 'not joined yet');
    assert.ok(!(await cluster.clusterView('alpha', admin))!.nodes.some((n) => n.name === 'beta'), 'the cluster does not know beta yet');

    // Without --no-service: no systemd as PID 1 here, so the node starts detached (pid file and
    // log in the data directory), joins with the request, and answers its health check.
    const second = await runScript(await servedScript(), [token, ...flags], { timeoutMs: 180_000 });
    trackDetached(data);
    assert.equal(second.pipesHeld, false, 'the detached node holds none of the script\'s output pipes');
    assert.equal(second.code, 0, `${second.stdout}${second.stderr}${logOf(data)}`);
    const clusterId = JSON.parse(readFileSync(join(data, 'config.json'), 'utf8')).clusterId as string;
    assert.match(second.stdout, /is already the executable http:\/\/127\.0\.0\.1:\d+ serves/);
    assert.match(second.stdout, /no service was installed; the node runs detached as root \(pid \d+, log .*ottmesh\.log\)/);
    assert.match(second.stdout, new RegExp(`joined cluster ${clusterId} as beta`));
    assert.equal(second.stdout.trim().split('\n').at(-1), `ottmesh-install: done: node beta joined cluster ${clusterId}`);
    assert.ok(!existsSync(join(data, 'join.json')), 'the request is used once');
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/api/v1/health`)).status, 200);
    await waitFor('beta alive in alpha\'s view', async () => {
      const v = await cluster.clusterView('alpha', admin);
      return v?.nodes.find((n) => n.name === 'beta')?.state === 'alive' ? true : null;
    }, 30_000);

    // Over the installation: already joined (the token is not used again): restart the node.
    const third = await runScript(await servedScript(), [token, ...flags], { timeoutMs: 180_000 });
    trackDetached(data);
    assert.equal(third.code, 0, `${third.stdout}${third.stderr}${logOf(data)}`);
    assert.match(third.stdout, new RegExp(`already holds node beta of cluster ${clusterId}: not joining again`));
    assert.match(third.stdout, /stopping the node started earlier \(pid \d+\)/);
    assert.equal(third.stdout.trim().split('\n').at(-1), `ottmesh-install: done: node beta joined cluster ${clusterId}`);
    beta = { token, clusterId };
  });

  test('a used token: exit 6 with the node\'s reason; what the join made is removed', async () => {
    assert.ok(beta !== null, 'runs after the install above, whose token it reuses');
    const { bin, data } = dirs('twice');
    const run = await runScript(await servedScript(), [beta.token, '--bin-dir', bin, '--data-dir', data, '--user', 'root', '--name', 'twice', '--host', '127.0.0.1', '--p2p-port', '0', '--http-port', '0'], { timeoutMs: 180_000 });
    trackDetached(data);
    assert.equal(run.code, 6, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /^ottmesh: the cluster refused this node: /m, 'the node\'s log says why');
    assert.match(run.stderr, /^ottmesh-install: error: the join failed \(the node's log above says why\): if the token expired or was used up, make a new one with 'ottmesh token create --install'/m);
    for (const name of ['config.json', 'node.key', 'raft', 'join.json', 'ottmesh.pid']) assert.ok(!existsSync(join(data, name)), `${name} is not left behind`);
    assert.ok(existsSync(join(data, 'ottmesh.log')), 'the log stays');
  });

  test('a data directory holding something else is refused before joining', async () => {
    const { token } = await installLine();
    const { bin, data } = dirs('occupied');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'precious.txt'), 'keep me');
    const run = await runScript(await servedScript(), [token, '--bin-dir', bin, '--data-dir', data, '--user', 'root', '--no-service']);
    assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /holds files but no ottmesh node \(no config\.json\): if an earlier install was cut short, remove it/);
    assert.equal(readFileSync(join(data, 'precious.txt'), 'utf8'), 'keep me');
  });

  test('--user of an existing user (nobody): it owns the data directory and runs the node; a closed parent is refused first', async () => {
    const { token } = await installLine();
    const script = await servedScript();
    const closed = dirs('closed'); // under root's 0700 temporary directory
    const flags = (d: { bin: string; data: string }) => ['--bin-dir', d.bin, '--data-dir', d.data, '--user', 'nobody', '--name', 'delta', '--host', '127.0.0.1', '--p2p-port', '0', '--http-port', '0'];
    const refused = await runScript(script, [token, ...flags(closed)], { timeoutMs: 120_000 });
    assert.equal(refused.code, 1, `${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, /the user nobody cannot run .*\/ottmesh or write .*\/data \(is a parent directory closed to it\?\)/);
    assert.doesNotMatch(refused.stdout, /join\.json/, 'refused before anything joins: the token is still unused');
    const open = mkdtempSync(join(tmpdir(), 'ottmesh-install-open-'));
    after(() => rmSync(open, { recursive: true, force: true }));
    chmodSync(open, 0o755);
    const reachable = { bin: join(open, 'bin'), data: join(open, 'data') };
    const run = await runScript(script, [token, ...flags(reachable)], { timeoutMs: 180_000 });
    const pidFile = join(reachable.data, 'ottmesh.pid');
    if (existsSync(pidFile)) started.push(Number(readFileSync(pidFile, 'utf8')));
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    assert.equal(run.pipesHeld, false, 'the detached node holds none of the script\'s output pipes');
    assert.match(run.stdout, /system user nobody exists/);
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
    for (const name of ['', 'config.json', 'node.key', 'ottmesh.log']) assert.equal(statSync(join(reachable.data, name)).uid, nobody, `${name || 'the data directory'} belongs to nobody`);
    const pid = readFileSync(pidFile, 'utf8').trim();
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${nobody}\\s`, 'm'), 'the node runs as nobody');
    // From its own copy, in a directory it owns: a rolling upgrade may replace it.
    assert.equal(readlinkSync(`/proc/${pid}/exe`), join(reachable.data, 'bin', 'ottmesh'));
    assert.equal(statSync(join(reachable.data, 'bin')).uid, nobody);
    assert.equal(statSync(join(reachable.bin, 'ottmesh')).uid, 0, 'the command in --bin-dir stays root\'s');
    assert.match(run.stdout, /the node runs .*\/data\/bin\/ottmesh, a copy its user nobody may replace in a rolling upgrade/);
  });

  test('with systemd: writes the unit, enables and restarts the service, waits for health', async () => {
    // systemd is not PID 1 here: OTTMESH_INSTALL_SYSTEMD_UNIT_DIR makes the script take the
    // systemd path, and a stand-in systemctl records its calls and starts ExecStart on restart.
    const { token } = await installLine();
    const { bin, data } = dirs('gamma');
    const units = join(root, 'gamma', 'units');
    const stubs = join(root, 'gamma', 'stubs');
    mkdirSync(stubs, { recursive: true });
    const calls = join(root, 'gamma', 'systemctl-calls');
    const pidFile = join(root, 'gamma', 'service.pid');
    writeFileSync(join(stubs, 'systemctl'), [
      '#!/bin/sh',
      `echo "$*" >> ${calls}`,
      'if [ "$1" = restart ]; then',
      `  cmd=$(sed -n 's/^ExecStart=//p' ${units}/ottmesh.service)`,
      `  setsid sh -c "echo \\$\\$ > ${pidFile}; exec $cmd" >> ${root}/gamma/service.log 2>&1 < /dev/null &`,
      'fi',
      '',
    ].join('\n'), { mode: 0o755 });
    const httpPort = await freePort();
    const env = { ...process.env, PATH: `${stubs}:${process.env['PATH']}`, OTTMESH_INSTALL_SYSTEMD_UNIT_DIR: units };
    const run = await runScript(await servedScript(),
      [token, '--bin-dir', bin, '--data-dir', data, '--user', 'root', '--name', 'gamma', '--host', '127.0.0.1', '--http-port', String(httpPort), '--p2p-port', '0'], { env, timeoutMs: 180_000 });
    if (existsSync(pidFile)) started.push(Number(readFileSync(pidFile, 'utf8')));
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    const unit = readFileSync(join(units, 'ottmesh.service'), 'utf8');
    for (const line of ['User=root', 'Group=root', `ExecStart=${bin}/ottmesh start --data-dir ${data}`, 'Restart=always', 'RestartSec=1', 'LimitNOFILE=65536',
      'After=network-online.target', 'Wants=network-online.target', 'WantedBy=multi-user.target']) {
      assert.ok(unit.split('\n').includes(line), `the unit has ${line}:\n${unit}`);
    }
    assert.ok(!unit.includes('AmbientCapabilities'), 'no capabilities for ports above 1023');
    assert.deepEqual(readFileSync(calls, 'utf8').trim().split('\n'), ['daemon-reload', 'enable ottmesh.service', 'restart ottmesh.service']);
    assert.match(run.stdout, /service ottmesh enabled and \(re\)started/);
    assert.match(run.stdout.trim().split('\n').at(-1)!, /^ottmesh-install: done: node gamma joined cluster /);
    await waitFor('gamma alive in alpha\'s view', async () => {
      const v = await cluster.clusterView('alpha', admin);
      return v?.nodes.find((n) => n.name === 'gamma')?.state === 'alive' ? true : null;
    }, 30_000);
  });
});

describe('ffmpeg is installed through the package manager there is, when missing', () => {
  // Only ensure_ffmpeg() of the real script runs, with a PATH holding nothing but stand-ins for
  // the package managers (which record their calls and put an `ffmpeg` on that PATH): this
  // machine has ffmpeg and tests never install packages.
  const family: Record<string, string> = { 'apt-get': 'debian', dnf: 'redhat', pacman: 'arch' };
  const run = (managers: string[], failing = false) => {
    const dir = mkdtempSync(join(tmpdir(), 'ottmesh-ffmpeg-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      symlinkSync('/bin/chmod', join(bin, 'chmod'));
      for (const pm of managers) {
        const installs = failing ? 'exit 100' : `printf '#!/bin/sh\\n' > "${bin}/ffmpeg"; chmod 755 "${bin}/ffmpeg"`;
        writeFileSync(join(bin, pm), `#!/bin/sh\necho "${pm} $*" >> "${dir}/calls"\ncase "$*" in *install*|-S*) ${installs};; esac\n`, { mode: 0o755 });
      }
      const script = sampleScript.replace(/\nmain "\$@"\n?$/, '\n');
      assert.notEqual(script, sampleScript, 'the script ends with its main call');
      writeFileSync(join(dir, 'install.sh'), script);
      // OS_FAMILY as check_platform() would set it from /etc/os-release.
      const result = spawnSyncSh(`. "${dir}/install.sh"; OS_FAMILY=${family[managers[0]!]!}; ensure_ffmpeg`, { PATH: bin });
      const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [];
      return { ...result, calls };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('apt-get: update, then install ffmpeg', () => {
    const r = run(['apt-get']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, ['apt-get update -q', 'apt-get install -y -q --no-install-recommends ffmpeg']);
    assert.match(r.stdout, /ottmesh-install: installing ffmpeg with apt-get/);
    assert.match(r.stdout, /ottmesh-install: ffmpeg: \/.*\/bin\/ffmpeg/);
  });

  test('dnf and pacman', () => {
    assert.deepEqual(run(['dnf']).calls, ['dnf install -y ffmpeg']);
    assert.deepEqual(run(['pacman']).calls, ['pacman -S --needed --noconfirm ffmpeg']);
  });

  test('a package manager that fails: a clear error and a non-zero exit', () => {
    const r = run(['apt-get'], true);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ottmesh-install: error: apt-get could not install ffmpeg/);
  });
});

function spawnSyncSh(command: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('/bin/sh', ['-c', command], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}
