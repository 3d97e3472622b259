import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
// libp2p's list of byte arrays (a dependency of every libp2p module): how yamux frames reach noise.
import { Uint8ArrayList } from 'uint8arraylist';

import { noiseCrypto } from '../../node/p2p/noise-crypto.ts';

const bytes = (x: Uint8Array | { subarray(): Uint8Array }) => Buffer.from(x instanceof Uint8Array ? x : x.subarray());

test('noise frames of every size encrypt to the same bytes as the package and decrypt back', () => {
  const k = randomBytes(32);
  const ad = randomBytes(32);
  for (const size of [0, 1, 200, 511, 512, 513, 1199, 1200, 1300, 8000, 65519]) {
    const nonce = randomBytes(12);
    const plain = randomBytes(size);
    const ours = bytes(noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k));
    assert.deepEqual(ours, bytes(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k)), `size ${size}`);
    assert.deepEqual(bytes(noiseCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, k)), plain, `size ${size}`);
    assert.deepEqual(bytes(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, k)), plain, `size ${size}`);
  }
});

test('frames handed over as lists of arrays (a yamux header and its data) encrypt and decrypt the same', () => {
  const k = randomBytes(32);
  const ad = randomBytes(32);
  for (const size of [12, 400, 511, 512, 600, 1199, 1200, 1300, 8000, 65519]) {
    const nonce = randomBytes(12);
    const plain = randomBytes(size);
    const list = new Uint8ArrayList(plain.subarray(0, 12), plain.subarray(12));
    const ours = bytes(noiseCrypto.chaCha20Poly1305Encrypt(list, nonce, ad, k));
    assert.deepEqual(ours, bytes(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k)), `size ${size}`);
    // Received frames can arrive split at any byte, the tag included.
    for (const cut of [1, Math.floor(ours.byteLength / 2), ours.byteLength - 8]) {
      const sealed = new Uint8ArrayList(ours.subarray(0, cut), ours.subarray(cut));
      assert.deepEqual(bytes(noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k)), plain, `size ${size}, cut at ${cut}`);
    }
  }
});

test('a frame with a changed byte or the wrong key is refused', () => {
  const k = randomBytes(32);
  const nonce = randomBytes(12);
  const sealed = bytes(noiseCrypto.chaCha20Poly1305Encrypt(randomBytes(4000), nonce, new Uint8Array(0), k));
  sealed[100]! ^= 1;
  assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, new Uint8Array(0), k));
  sealed[100]! ^= 1;
  assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, new Uint8Array(0), randomBytes(32)));
});

test('a key array whose bytes change in place gets a new key object', () => {
  const k = randomBytes(32);
  const nonce = randomBytes(12);
  const plain = randomBytes(2000);
  noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, new Uint8Array(0), k); // caches the key
  randomBytes(32).copy(k);
  assert.deepEqual(bytes(noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, new Uint8Array(0), k)), bytes(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, new Uint8Array(0), k)));
});
