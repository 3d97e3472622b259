import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import xsalsa20 from 'xsalsa20';

import { xsalsa20MemoryBytes } from '../../node/p2p/xsalsa20-memory.ts';

test('pnet ciphers alternating after the shared memory grew do not grow it again (the node used to die at 64 MB)', () => {
  const key = randomBytes(32);
  const ciphers = Array.from({ length: 8 }, () => xsalsa20(randomBytes(24), key));
  for (const c of ciphers) c.update(randomBytes(1024));
  const big = xsalsa20MemoryBytes() + 256 * 1024;
  ciphers[0]!.update(randomBytes(big)); // grows the memory: every other cipher's view is detached
  const grown = xsalsa20MemoryBytes();
  for (let round = 0; round < 200; round++) for (const c of ciphers) c.update(randomBytes(16 * 1024));
  assert.equal(xsalsa20MemoryBytes(), grown, 'no growth for chunks that fit');
  for (const c of ciphers) c.finalize();
});

test('the stream is still XSalsa20: two ciphers with the same nonce and key undo each other across a growth', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const out = xsalsa20(nonce, key);
  const back = xsalsa20(nonce, key);
  const other = xsalsa20(randomBytes(24), key);
  const chunks = [randomBytes(100), randomBytes(xsalsa20MemoryBytes() + 70_000), randomBytes(5_000)];
  for (const chunk of chunks) {
    other.update(randomBytes(10));
    assert.deepEqual(Buffer.from(back.update(out.update(chunk))), chunk);
  }
  for (const c of [out, back, other]) c.finalize();
});
