// The node's identity key (an Ed25519 key pair kept in a file only the owner can read) and the
// cluster's pre-shared network key (libp2p pnet), encoded as one short string for config files
// and join tokens.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateKey } from '@libp2p/pnet';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { InvalidNetworkKeyError, KeyFileDamagedError, KeyFilePermissionsError } from './errors.ts';

const keyFileHeader = '# ottmesh node key: libp2p Ed25519 private key, protobuf, base64. Secret: keep mode 0600.';
const keyFileMode = 0o600;
/** Bits of the mode that must be clear: any access for group or others. */
const groupOrOtherBits = 0o077;
/** Bound on what we read as a key file: an Ed25519 key file is about 200 bytes. */
const maxKeyFileBytes = 4096;

/** The peer id string (what the cluster state calls a node id) of `key`. */
export function peerIdOf(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}

/**
 * Read the node key from `file`. Throws KeyFilePermissionsError if group or others may read it,
 * KeyFileDamagedError if it does not hold an Ed25519 key, and the fs error (ENOENT...) otherwise.
 */
export async function loadNodeKey(file: string): Promise<PrivateKey> {
  const info = await stat(file);
  if ((info.mode & groupOrOtherBits) !== 0) throw new KeyFilePermissionsError(file, info.mode);
  if (info.size > maxKeyFileBytes) throw new KeyFileDamagedError(file, `${info.size} bytes, a key file is far smaller`);
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) throw new KeyFileDamagedError(file, `expected one line of base64, found ${lines.length}`);
  const encoded = lines[0]!;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new KeyFileDamagedError(file, 'the key line is not base64');
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(Buffer.from(encoded, 'base64'));
  } catch (err) {
    throw new KeyFileDamagedError(file, err instanceof Error ? err.message : String(err));
  }
  if (key.type !== 'Ed25519') throw new KeyFileDamagedError(file, `a ${key.type} key, expected Ed25519`);
  return key;
}

/**
 * Generate a new Ed25519 key and write it to `file` with mode 0600, durably: written to a
 * temporary file, synced, then renamed, so a crash never leaves half a key behind. Refuses to
 * replace an existing file (that would change the node's identity).
 */
export async function createNodeKey(file: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519');
  const body = `${keyFileHeader}\n${Buffer.from(privateKeyToProtobuf(key)).toString('base64')}\n`;
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', keyFileMode);
  try {
    await handle.chmod(keyFileMode); // a leftover tmp file keeps its old mode otherwise
    await handle.writeFile(body, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (await exists(file)) {
    await unlink(tmp);
    throw new Error(`node key file ${file} already exists: refusing to replace this node's identity`);
  }
  await rename(tmp, file);
  return key;
}

/** Load the key in `file`, or create it if the file does not exist yet. */
export async function loadOrCreateNodeKey(file: string): Promise<{ key: PrivateKey; peerId: string; created: boolean }> {
  const created = !(await exists(file));
  const key = created ? await createNodeKey(file) : await loadNodeKey(file);
  return { key, peerId: peerIdOf(key), created };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

// --- the network key -------------------------------------------------------------------------

/** Raw bytes of a pnet key. */
const networkKeyBytes = 32;
const pnetFileBytes = 95; // '/key/swarm/psk/1.0.0/\n/base16/\n' + 64 hex digits
const pnetHeader = '/key/swarm/psk/1.0.0/\n/base16/\n';

/** A new random pre-shared network key, in the libp2p pnet format `preSharedKey` takes. */
export function generateNetworkKey(): Uint8Array {
  const key = new Uint8Array(pnetFileBytes);
  generateKey(key);
  return key;
}

/** The pnet key as one string: its 32 secret bytes in base64url (43 characters). */
export function encodeNetworkKey(pnetKey: Uint8Array): string {
  const text = new TextDecoder().decode(pnetKey);
  const lines = text.split(/\r?\n/);
  const hex = lines[2] ?? '';
  if (lines[0] !== '/key/swarm/psk/1.0.0/' || lines[1] !== '/base16/' || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new InvalidNetworkKeyError('not a libp2p pnet v1 base16 key');
  }
  return Buffer.from(hex, 'hex').toString('base64url');
}

/** Inverse of {@link encodeNetworkKey}: the pnet-format bytes. Throws InvalidNetworkKeyError. */
export function decodeNetworkKey(encoded: string): Uint8Array {
  const trimmed = encoded.trim();
  if (!/^[A-Za-z0-9_-]{43}$/.test(trimmed)) {
    throw new InvalidNetworkKeyError(`expected 43 base64url characters, got ${trimmed.length} characters`);
  }
  const raw = Buffer.from(trimmed, 'base64url');
  if (raw.byteLength !== networkKeyBytes) throw new InvalidNetworkKeyError(`decodes to ${raw.byteLength} bytes, expected ${networkKeyBytes}`);
  return new TextEncoder().encode(pnetHeader + raw.toString('hex'));
}
