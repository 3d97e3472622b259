// Noise's ChaCha20-Poly1305 with the session key prepared once. The noise package hands Node's
// createCipheriv the raw key bytes for every frame of 1,200 bytes or more, and Node then builds
// (and throws away) a secret key object each time, error stack capture included: 12 us per
// 1,300-byte frame on this machine, against 4 us with a KeyObject made once per key (and the
// WebAssembly cipher it uses below 1,200 bytes takes 6 us at 1,100). Raft batches and
// forwarded proposals are mostly such frames. Same algorithm, same bytes on the wire.
// Frames come as one array or, from yamux (header and data) and from a connection that split
// them, as a list of arrays: both take the prepared key (until session 8 a list went back to the
// package, whose Node path then paid for two internal errors per frame).
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';

const algorithm = 'chacha20-poly1305';
const tagBytes = 16;
/** Below this the package's WebAssembly cipher is faster than a Node cipher object (measured:
 *  300 bytes 2.4 vs 3.1 us, 1,100 bytes 5.9 vs 3.9 us). */
const nodeCipherFromBytes = 512;

interface PreparedKey {
  /** The bytes the key object was made from: noise keeps one array per cipher state, but if
   *  its bytes ever changed in place the key object must be made again. */
  readonly bytes: Buffer;
  readonly key: KeyObject;
}

const prepared = new WeakMap<Uint8Array, PreparedKey>();

function keyObject(k: Uint8Array): KeyObject {
  const known = prepared.get(k);
  if (known !== undefined && known.bytes.equals(k)) return known.key;
  const bytes = Buffer.from(k);
  const key = createSecretKey(bytes);
  prepared.set(k, { bytes, key });
  return key;
}

/** A frame as noise hands it over: a yamux frame comes as a Uint8ArrayList (header, data). */
type Frame = Parameters<ICryptoInterface['chaCha20Poly1305Encrypt']>[0];

function chunksOf(data: Frame): Iterable<Uint8Array> {
  return data instanceof Uint8Array ? [data] : data;
}

export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
    if (plaintext.byteLength < nodeCipherFromBytes) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k);
    const cipher = createCipheriv(algorithm, keyObject(k), nonce, { authTagLength: tagBytes });
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength });
    const parts: Buffer[] = [];
    for (const chunk of chunksOf(plaintext)) parts.push(cipher.update(chunk));
    parts.push(cipher.final(), cipher.getAuthTag());
    return Buffer.concat(parts, plaintext.byteLength + tagBytes);
  },
  chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < nodeCipherFromBytes + tagBytes) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst);
    const textBytes = ciphertext.byteLength - tagBytes;
    const text = ciphertext instanceof Uint8Array ? ciphertext.subarray(0, textBytes) : ciphertext.sublist(0, textBytes);
    const decipher = createDecipheriv(algorithm, keyObject(k), nonce, { authTagLength: tagBytes });
    decipher.setAAD(ad, { plaintextLength: textBytes });
    decipher.setAuthTag(ciphertext.subarray(textBytes));
    const parts: Buffer[] = [];
    for (const chunk of chunksOf(text)) parts.push(decipher.update(chunk));
    const rest = decipher.final(); // throws when the tag does not match
    if (rest.byteLength > 0) parts.push(rest);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, textBytes);
  },
};
