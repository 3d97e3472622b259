// SSH host key fingerprints as OpenSSH prints them (`ssh-keygen -lf key.pub`, the "ECDSA key
// fingerprint is SHA256:..." prompt): "SHA256:" and the base64 of the SHA-256 of the key blob,
// without the trailing '=' padding. The operator compares this with what the server shows.
import { createHash } from 'node:crypto';

/** A fingerprint as an operator may type or paste it: "SHA256:" then 43 base64 characters (one
 *  optional '=' of padding). */
export const fingerprintPattern = '^SHA256:[A-Za-z0-9+/]{43}=?$';

/** The OpenSSH SHA256 fingerprint of a host key blob (SSH wire format: string type, then the
 *  type's fields). */
export function hostKeyFingerprint(blob: Uint8Array): string {
  return formatSha256Fingerprint(createHash('sha256').update(blob).digest());
}

/** "SHA256:" + unpadded base64 of a 32-byte digest. */
export function formatSha256Fingerprint(digest: Uint8Array): string {
  if (digest.length !== 32) throw new Error(`formatSha256Fingerprint: a SHA-256 digest has 32 bytes, got ${digest.length}`);
  return `SHA256:${Buffer.from(digest).toString('base64').replace(/=+$/, '')}`;
}

/** The fingerprint in the form hostKeyFingerprint returns (padding dropped); null when `text`
 *  is not a SHA256 fingerprint. */
export function normalizeFingerprint(text: string): string | null {
  const trimmed = text.trim();
  if (!new RegExp(fingerprintPattern).test(trimmed)) return null;
  return trimmed.replace(/=$/, '');
}

/** The key type a blob starts with ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" ...); null
 *  when the blob is malformed. */
export function hostKeyAlgorithm(blob: Uint8Array): string | null {
  if (blob.length < 4) return null;
  const length = ((blob[0]! << 24) | (blob[1]! << 16) | (blob[2]! << 8) | blob[3]!) >>> 0;
  if (length === 0 || length > 64 || 4 + length > blob.length) return null;
  const type = new TextDecoder().decode(blob.subarray(4, 4 + length));
  return /^[a-z0-9@.-]+$/.test(type) ? type : null;
}
