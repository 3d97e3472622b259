// node/auth: token strings, secret hashes, passwords.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  decodeJoinToken, encodeJoinToken, generatePassword, hashPassword, hashSecret, InvalidJoinTokenError, MalformedApiTokenError, newApiToken, newJoinSecret,
  parseApiToken, PasswordHashFormatError, secretMatches, verifyPassword,
} from '../../node/auth/index.ts';
import type { JoinTokenPayload } from '../../node/auth/index.ts';

test('API tokens: otm_<id>_<secret>, parsed back, secret checked against the stored hash', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const created = newApiToken();
    assert.match(created.token, /^otm_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const { id, secret } = parseApiToken(`${created.token}\n`);
    assert.equal(id, created.id);
    assert.equal(secretMatches(secret, created.secretHash), true);
    assert.equal(secretMatches(`${secret.slice(0, -1)}x`, created.secretHash), secret.endsWith('x'));
    seen.add(created.token);
  }
  assert.equal(seen.size, 200);
  for (const garbage of ['', 'otm_', 'Bearer otm_x', `otm_${'g'.repeat(16)}_${'a'.repeat(43)}`, `otm_${'a'.repeat(16)}_${'a'.repeat(42)}`]) {
    assert.throws(() => parseApiToken(garbage), (err: Error) => err instanceof MalformedApiTokenError && /expected otm_<id>_<secret>/.test(err.message));
  }
});

test('hashSecret is sha256 hex', () => {
  assert.equal(hashSecret('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('join tokens round-trip and carry what a new node needs', () => {
  const { tokenId, secret, secretHash } = newJoinSecret();
  assert.equal(hashSecret(secret), secretHash);
  const payload: JoinTokenPayload = { v: 1, clusterId: 'c-1', networkKey: 'ab'.repeat(32), addrs: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW'], tokenId, secret };
  const token = encodeJoinToken(payload);
  assert.match(token, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeJoinToken(`  ${token}\n`), payload);
});

test('garbage join tokens get a clear error', () => {
  const good: JoinTokenPayload = { v: 1, clusterId: 'c', networkKey: 'k', addrs: ['/ip4/127.0.0.1/tcp/1'], tokenId: '0123456789abcdef', secret: 'a'.repeat(43) };
  const token = encodeJoinToken(good);
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const cases: [string, RegExp][] = [
    ['', /it is empty/],
    ['not a token!', /characters a join token never has/],
    [token.slice(0, 20), /does not decode; was it cut short\?\): copy the whole last line printed by 'ottmesh token create'$/],
    ['x'.repeat(20_000), /longer than/],
    [encode({ ...good, addrs: [] }), /addrs must not have fewer than 1 items/],
    [encode({ ...good, extra: 1 }), /unexpected|additional/],
    [encode({ ...good, v: 2 }), /format 2, newer than this ottmesh reads: upgrade/],
    [encode([1]), /not a valid join token/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => decodeJoinToken(text), (err: Error) => err instanceof InvalidJoinTokenError && message.test(err.message), text.slice(0, 40));
  }
  assert.throws(() => encodeJoinToken({ ...good, addrs: [] }), InvalidJoinTokenError);
});

test('scrypt: the format, verify right and wrong, refuse damaged hashes', async () => {
  const encoded = await hashPassword('correct horse');
  assert.match(encoded, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.equal(await verifyPassword('correct horse', encoded), true);
  assert.equal(await verifyPassword('correct horsf', encoded), false);
  assert.notEqual(await hashPassword('correct horse'), encoded, 'salted');
  const [, , , , salt, hash] = encoded.split('$');
  for (const damaged of ['plain', `scrypt$33$8$1$${salt}$${hash}`, `scrypt$${1 << 24}$8$1$${salt}$${hash}`, `scrypt$1024$8$1$$${hash}`, `bcrypt$1024$8$1$${salt}$${hash}`]) {
    await assert.rejects(verifyPassword('x', damaged), PasswordHashFormatError, damaged);
  }
});

test('generated passwords: 24 unambiguous characters, different each time', () => {
  const a = generatePassword();
  assert.match(a, /^[a-km-zA-HJ-NP-Z2-9]{24}$/);
  assert.notEqual(generatePassword(), a);
});
