// Password hashing with scrypt, stored as `scrypt$N$r$p$salt$hash` (base64), verified in
// constant time; and generated passwords for the admin account `ottmesh init` creates.
import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';

import { PasswordHashFormatError } from './errors.ts';

/** Cost parameters for new hashes: N = 2^15, r = 8, p = 1 (about 32 MiB and 50-100 ms). */
export const scryptCostN = 32_768;
export const scryptBlockSizeR = 8;
export const scryptParallelP = 1;
export const saltBytes = 16;
export const hashBytes = 32;
/** Bounds on the parameters a stored hash may ask for, so a tampered hash cannot make a login
 *  use gigabytes. */
const costNMax = 1 << 20;
const blockSizeRMax = 32;
const parallelPMax = 16;

/** Unambiguous characters (no 0/O, 1/l/I) so a printed password survives being typed. */
const passwordAlphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const generatedPasswordLength = 24;

/** A well-formed hash that matches no password: checked when the user does not exist, so that
 *  the answer takes as long as for a wrong password (no telling which names exist). */
export const dummyPasswordHash = `scrypt$${scryptCostN}$${scryptBlockSizeR}$${scryptParallelP}$${'A'.repeat(22)}==$${'A'.repeat(43)}=`;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(saltBytes);
  const hash = await derive(password, salt, scryptCostN, scryptBlockSizeR, scryptParallelP, hashBytes);
  return ['scrypt', scryptCostN, scryptBlockSizeR, scryptParallelP, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when `password` matches `encoded`. Throws PasswordHashFormatError when `encoded` is not
 *  a hash this code made (a damaged state, not a wrong password). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new PasswordHashFormatError('a stored password hash is not in the scrypt$N$r$p$salt$hash format');
  const [n, r, p] = parts.slice(1, 4).map((part) => (/^[0-9]{1,8}$/.test(part) ? Number(part) : NaN)) as [number, number, number];
  if (!(n >= 2 && n <= costNMax && (n & (n - 1)) === 0) || !(r >= 1 && r <= blockSizeRMax) || !(p >= 1 && p <= parallelPMax)) {
    throw new PasswordHashFormatError(`a stored password hash has scrypt parameters out of bounds (N=${parts[1]}, r=${parts[2]}, p=${parts[3]})`);
  }
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (salt.length === 0 || expected.length < 16 || expected.length > 64) throw new PasswordHashFormatError('a stored password hash has a bad salt or hash length');
  const actual = await derive(password, salt, n, r, p, expected.length);
  return timingSafeEqual(actual, expected);
}

/** A random password of `length` characters from an unambiguous alphabet (~5.8 bits each). */
export function generatePassword(length: number = generatedPasswordLength): string {
  let password = '';
  for (let i = 0; i < length; i++) password += passwordAlphabet[randomInt(passwordAlphabet.length)];
  return password;
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number, keylen: number): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is exactly N=2^15, r=8, so allow twice that.
  const maxmem = 256 * n * r;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, { N: n, r, p, maxmem }, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}
