// The SSH client wrapper against the stand-in server (ssh2-server.ts): login with a plain and an
// encrypted key, output as lines with the exit code, a command that outlives its timeout, and a
// session left open after the command's last line (closed after the grace period).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { InstallFailure } from '../../node/install/ssh-errors.ts';
import { openSession, probeHostKey } from '../../node/install/ssh-session.ts';
import type { ServerChannel } from 'ssh2';
import { answer, newKeyPair, Ssh2TestServer } from './ssh2-server.ts';

const plain = newKeyPair();
const encrypted = newKeyPair({ passphrase: 'a long passphrase' });
let server: Ssh2TestServer;
let encryptedServer: Ssh2TestServer;
const open: ServerChannel[] = [];

function onExec(command: string, channel: ServerChannel): void {
  if (command === 'lines') {
    channel.write('one\ntw');
    setTimeout(() => {
      channel.write('o\n');
      channel.stderr.write('err line\n');
      answer(channel, 3, 'three');
    }, 20);
  } else if (command === 'hang') {
    open.push(channel);
  } else if (command === 'done-but-open') {
    channel.write('ottmesh-install: done: node x joined cluster c\n');
    open.push(channel);
  } else {
    answer(channel, 127, '', `${command}: not found\n`);
  }
}

before(async () => {
  server = await Ssh2TestServer.start({ user: 'deploy', authorized: plain.publicKey, onExec });
  encryptedServer = await Ssh2TestServer.start({ user: 'deploy', authorized: encrypted.publicKey, onExec });
});

after(async () => {
  for (const c of open) c.destroy();
  await server.close();
  await encryptedServer.close();
});

const init = { timeoutMs: 5000, fromNode: 'alpha' };

test('the probe and the login see the same host key; output comes as lines, with the exit code', async () => {
  const seen = await probeHostKey({ host: '127.0.0.1', port: server.port }, init);
  assert.deepEqual(seen, { fingerprint: server.hostKeyFingerprint, algorithm: 'ssh-ed25519' });
  const shell = await openSession({ host: '127.0.0.1', port: server.port, user: 'deploy', privateKey: Buffer.from(plain.privateKey), passphrase: null }, seen.fingerprint, init);
  try {
    const lines: string[] = [];
    const result = await shell.run('lines', { what: 'printing lines', timeoutMs: 5000, onLine: (line, stream) => lines.push(`${stream}: ${line}`) });
    assert.deepEqual(lines, ['stdout: one', 'stdout: two', 'stderr: err line', 'stdout: three']);
    assert.deepEqual(result, { code: 3, stdout: 'one\ntwo\nthree\n', stderr: 'err line\n' });
    assert.equal((await shell.run('nothing-here', { what: 'x', timeoutMs: 5000 })).code, 127);
  } finally {
    shell.close();
  }
});

test('an encrypted key logs in with its passphrase', async () => {
  const shell = await openSession({ host: '127.0.0.1', port: encryptedServer.port, user: 'deploy', privateKey: Buffer.from(encrypted.privateKey), passphrase: Buffer.from('a long passphrase') }, encryptedServer.hostKeyFingerprint, init);
  try {
    assert.equal((await shell.run('lines', { what: 'x', timeoutMs: 5000 })).code, 3);
  } finally {
    shell.close();
  }
});

test('a command past its timeout fails saying what it was doing; a session open after the last line is closed after the grace period', async () => {
  const shell = await openSession({ host: '127.0.0.1', port: server.port, user: 'deploy', privateKey: Buffer.from(plain.privateKey), passphrase: null }, server.hostKeyFingerprint, init);
  try {
    await assert.rejects(shell.run('hang', { what: 'checking the server', timeoutMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof InstallFailure);
      assert.equal(err.kind, 'timeout');
      assert.equal(err.message, 'checking the server on 127.0.0.1 did not finish within 0.2 s');
      return true;
    });
    const started = performance.now();
    const result = await shell.run('done-but-open', { what: 'install.sh', timeoutMs: 10_000, lastLine: { matches: (l) => l.startsWith('ottmesh-install: done'), graceMs: 150 } });
    assert.equal(result.cutShort, true);
    assert.equal(result.code, null);
    assert.equal(result.stdout, 'ottmesh-install: done: node x joined cluster c\n');
    assert.ok(performance.now() - started < 5000, 'it did not wait for the timeout');
  } finally {
    shell.close();
  }
});

test('a wrong user or key is auth-failed; another host key is a mismatch; a closed connection is unusable', async () => {
  const login = { host: '127.0.0.1', port: server.port, user: 'root', privateKey: Buffer.from(plain.privateKey), passphrase: null };
  await assert.rejects(openSession(login, server.hostKeyFingerprint, init), (err: unknown) => err instanceof InstallFailure && err.kind === 'auth-failed');
  await assert.rejects(openSession({ ...login, user: 'deploy' }, encryptedServer.hostKeyFingerprint, init), (err: unknown) => err instanceof InstallFailure && err.kind === 'host-key-mismatch');
  const shell = await openSession({ ...login, user: 'deploy' }, server.hostKeyFingerprint, init);
  shell.close();
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(shell.run('lines', { what: 'x', timeoutMs: 1000 }), (err: unknown) => err instanceof InstallFailure && err.kind === 'connection-lost');
});
