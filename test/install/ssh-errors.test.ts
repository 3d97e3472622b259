// The pure parts of the SSH install: how connection errors are classified and worded, host key
// fingerprints in OpenSSH's format (vectors made with `ssh-keygen -lf`), redaction, and output
// split into lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyConnectError, redact } from '../../node/install/ssh-errors.ts';
import type { ConnectContext, ConnectErrorInfo } from '../../node/install/ssh-errors.ts';
import { formatSha256Fingerprint, hostKeyAlgorithm, hostKeyFingerprint, normalizeFingerprint } from '../../node/install/ssh-host-key.ts';
import { lineCharsMax, LineSplitter } from '../../node/install/ssh-lines.ts';

/** Public keys and what `ssh-keygen -lf` printed for them. */
const vectors = [
  { pub: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICNCke3x0/PX3+oFYfDmrI/vOyUSVUz6/HFoVFfvWURk root@vm', fingerprint: 'SHA256:oievDUmwUzK+xMqXGXbQWJYOqYvaSj3xwNty/TJkweA' },
  {
    pub: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDLyGBhxKgiYCOqqeabGDCzYPWoBXPQIiB5Tt6iuIycCOD8QzTK1eNyRHRJLki0VpUWtcw35omZSg1KdA08NmDaTz7n8IgOY6E1WpmVa4la5QqZt1VFxU/nEMRiYUH9iO3SwWa/4aKO9vkVlaSisOL2eRreY04BMa8q7f3kfpdUWw== root@vm',
    fingerprint: 'SHA256:DBbtNgS4u87XHO2N1Zs78bYUMZyieWVEfB93CUGVawM',
  },
  {
    pub: 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFnaTXVgKaapevn631yX+SRHHZyMaoYLDFcvtUTUCMaFP2fEolVAdIiVX7DNGSmgMpTQq7ZgKXA7yUpD2XAWMDs= root@vm',
    fingerprint: 'SHA256:5I+taLcLZnuP8Dcm2p8dzWo4j3p2+5hS8lQVOaWZ9ys',
  },
];

test('host key fingerprints match ssh-keygen -lf, and the key type is read from the blob', () => {
  for (const { pub, fingerprint } of vectors) {
    const [type, base64] = pub.split(' ');
    const blob = Buffer.from(base64!, 'base64');
    assert.equal(hostKeyFingerprint(blob), fingerprint, type);
    assert.equal(hostKeyAlgorithm(blob), type);
  }
  assert.equal(hostKeyAlgorithm(new Uint8Array([0, 0, 0, 200, 1])), null, 'a length past the end');
  assert.equal(hostKeyAlgorithm(new Uint8Array([0, 0])), null);
  assert.throws(() => formatSha256Fingerprint(new Uint8Array(20)), /32 bytes/);
});

test('a fingerprint as typed: padding and spaces tolerated, anything else refused', () => {
  const fp = vectors[0]!.fingerprint;
  assert.equal(normalizeFingerprint(fp), fp);
  assert.equal(normalizeFingerprint(` ${fp}= `), fp);
  assert.equal(normalizeFingerprint(fp.replace('SHA256:', 'MD5:')), null);
  assert.equal(normalizeFingerprint(fp.slice(0, -1)), null, 'one character short');
  assert.equal(normalizeFingerprint('SHA256:' + '!'.repeat(43)), null);
});

const ctx = (stage: ConnectContext['stage']): ConnectContext => ({ host: '10.0.0.9', port: 2222, user: 'root', stage, fromNode: 'alpha', timeoutMs: 10_000 });

test('connection errors: kind by code, level and stage; each message names host:port and what to check', () => {
  const cases: { err: ConnectErrorInfo; stage: ConnectContext['stage']; kind: string; says: RegExp }[] = [
    { err: { message: 'connect ECONNREFUSED', code: 'ECONNREFUSED', level: 'client-socket' }, stage: 'tcp', kind: 'unreachable', says: /nothing listens on 10\.0\.0\.9:2222 .*sshd runs/ },
    { err: { message: 'connect EHOSTUNREACH', code: 'EHOSTUNREACH', level: 'client-socket' }, stage: 'tcp', kind: 'unreachable', says: /10\.0\.0\.9 is unreachable from alpha \(EHOSTUNREACH\): check the address/ },
    { err: { message: 'connect ENETUNREACH', code: 'ENETUNREACH' }, stage: 'tcp', kind: 'unreachable', says: /unreachable from alpha/ },
    { err: { message: 'Timed out while waiting for handshake', level: 'client-timeout' }, stage: 'tcp', kind: 'unreachable', says: /no answer from 10\.0\.0\.9:2222 within 10 s: .*firewall/ },
    { err: { message: 'getaddrinfo ENOTFOUND x', code: 'ENOTFOUND' }, stage: 'tcp', kind: 'unreachable', says: /cannot resolve the name 10\.0\.0\.9/ },
    { err: { message: 'Connection lost before handshake', level: 'protocol' }, stage: 'ssh', kind: 'not-ssh', says: /10\.0\.0\.9:2222 answers but did not speak SSH .*not an SSH server; check the port/ },
    { err: { message: 'Timed out while waiting for handshake', level: 'client-timeout' }, stage: 'ssh', kind: 'not-ssh', says: /did not start an SSH handshake within 10 s/ },
    { err: { message: 'All configured authentication methods failed', level: 'client-authentication' }, stage: 'auth', kind: 'auth-failed', says: /root@10\.0\.0\.9 refused the key: add its public key to ~root\/\.ssh\/authorized_keys .*PermitRootLogin/ },
    { err: { message: 'Timed out while waiting for handshake', level: 'client-timeout' }, stage: 'auth', kind: 'timeout', says: /did not finish the SSH key exchange and login within 10 s/ },
    { err: { message: 'read ECONNRESET', code: 'ECONNRESET', level: 'client-socket' }, stage: 'auth', kind: 'connection-lost', says: /failed: read ECONNRESET/ },
  ];
  for (const c of cases) {
    const failure = classifyConnectError(c.err, ctx(c.stage));
    assert.equal(failure.kind, c.kind, `${c.err.message} at ${c.stage}`);
    assert.match(failure.message, c.says, `${c.err.message} at ${c.stage}`);
    assert.equal(failure.name, 'InstallFailure');
  }
});

test('redact hides secrets, and each long line of a multi-line key', () => {
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';
  const out = redact('bad key b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ and pass hunter22secret', [key, 'hunter22secret']);
  assert.equal(out, 'bad key [redacted] and pass [redacted]');
  assert.equal(redact('short ab', ['ab']), 'short ab', 'secrets too short to be keys are not hunted in ordinary words');
});

test('output split into lines as it arrives: chunks cut anywhere, \\r\\n, UTF-8 split, long lines bounded', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l));
  const text = Buffer.from('ottmesh-install: one\r\nzwei: größe\n\npartial');
  for (let i = 0; i < text.length; i += 3) splitter.push(text.subarray(i, i + 3));
  assert.deepEqual(lines, ['ottmesh-install: one', 'zwei: größe', '']);
  splitter.end();
  assert.deepEqual(lines.at(-1), 'partial');

  const long: string[] = [];
  const bounded = new LineSplitter((l) => long.push(l));
  bounded.push(Buffer.from('x'.repeat(lineCharsMax * 2 + 5)));
  assert.equal(long.length, 2, 'the complete pieces are passed on before any newline');
  bounded.push(Buffer.from('\n'));
  assert.deepEqual(long.map((l) => l.length), [lineCharsMax, lineCharsMax, 5]);
});
