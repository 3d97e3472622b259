// The level store's on-disk layout, and the checks load() makes before handing a log to Raft.
//
// Keys (utf8; key order = index order because indexes are zero-padded):
//   format                 the layout version (FORMAT_VERSION), one byte
//   hardstate              HardState      (absent until first saved)
//   snapshot               Snapshot       (absent until first saved)
//   entry/<16-digit index> Entry          (contiguous, first = snapshot index + 1)
// Values: 4-byte big-endian CRC32 of the payload, then the payload (consensus/codec.ts).
import { crc32 } from 'node:zlib';
import type { Level } from 'level';
import { CodecError, decodeEntry, decodeHardState, decodeSnapshot } from '../codec.ts';
import type { Entry, HardState, Snapshot } from '../core/types.ts';
import { emptyHardState } from '../core/types.ts';
import { CorruptLogError } from '../log-store.ts';
import type { PersistedState } from '../log-store.ts';

export type Db = Level<string, Uint8Array>;

export const FORMAT_VERSION = 1;
export const KEY_FORMAT = 'format';
export const KEY_HARD_STATE = 'hardstate';
export const KEY_SNAPSHOT = 'snapshot';
export const ENTRY_PREFIX = 'entry/';
export const ENTRY_END = 'entry0'; // '0' follows '/': every entry key sorts before it
const INDEX_DIGITS = 16; // Number.MAX_SAFE_INTEGER has 16 digits
const ENTRY_KEY = /^entry\/(\d{16})$/;

export const entryKey = (index: number): string => ENTRY_PREFIX + String(index).padStart(INDEX_DIGITS, '0');

export function parseEntryKey(dir: string, key: string): number {
  const digits = ENTRY_KEY.exec(key)?.[1];
  if (digits === undefined) throw new CorruptLogError(dir, `key "${key}" is not a valid entry key`);
  return Number(digits);
}

/** A value as stored: CRC32 of the payload, then the payload. */
export function seal(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.byteLength);
  out.set(payload, 4);
  return sealInPlace(out);
}

/** The same, for a payload encoded after 4 bytes of headroom (no copy). */
export function sealInPlace(record: Uint8Array): Uint8Array {
  new DataView(record.buffer, record.byteOffset, 4).setUint32(0, crc32(record.subarray(4)));
  return record;
}

/** Check a stored value's CRC32 and decode its payload; any failure is a CorruptLogError naming the record. */
export function decodeRecord<T>(dir: string, key: string, value: Uint8Array, decode: (b: Uint8Array) => T): T {
  if (value.byteLength < 4) throw new CorruptLogError(dir, `record "${key}" is ${value.byteLength} bytes, too short for its checksum`);
  const stored = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
  const payload = value.subarray(4);
  const actual = crc32(payload);
  if (stored !== actual) throw new CorruptLogError(dir, `record "${key}" fails its checksum (stored ${stored}, computed ${actual})`);
  try {
    return decode(payload);
  } catch (err) {
    if (err instanceof CodecError) throw new CorruptLogError(dir, `record "${key}" does not decode (${err.message})`);
    throw err;
  }
}

function decodeFormat(payload: Uint8Array): number {
  if (payload.byteLength !== 1) throw new CodecError(`format record is ${payload.byteLength} bytes, not 1`);
  return payload[0]!;
}

/** Read the whole log and verify it. Throws CorruptLogError on the first problem found. */
export async function verifyLog(dir: string, db: Db): Promise<PersistedState> {
  const formatRaw = await db.get(KEY_FORMAT);
  if (formatRaw === undefined) throw new CorruptLogError(dir, 'the format record is missing');
  const version = decodeRecord(dir, KEY_FORMAT, formatRaw, decodeFormat);
  if (version !== FORMAT_VERSION) {
    throw new CorruptLogError(dir, `format version ${version} is not one this build reads (it reads ${FORMAT_VERSION}); ` +
      'if a newer ottmesh wrote it, run that version instead');
  }
  const hardRaw = await db.get(KEY_HARD_STATE);
  const hardState = hardRaw === undefined ? null : decodeRecord(dir, KEY_HARD_STATE, hardRaw, decodeHardState);
  const snapRaw = await db.get(KEY_SNAPSHOT);
  const snapshot = snapRaw === undefined ? null : decodeRecord(dir, KEY_SNAPSHOT, snapRaw, decodeSnapshot);
  const entries = await readEntries(dir, db, snapshot);
  if (hardState !== null) checkCommit(dir, hardState, snapshot?.meta.index ?? 0, entries.at(-1)?.index ?? snapshot?.meta.index ?? 0);
  return { hardState: hardState ?? emptyHardState, snapshot, entries };
}

/** Entries in key order: each decodes, sits under its own index, follows the previous one (the
 *  first follows the snapshot), and has a term no lower than the one before. */
async function readEntries(dir: string, db: Db, snapshot: Snapshot | null): Promise<Entry[]> {
  const entries: Entry[] = [];
  let prevIndex = snapshot?.meta.index ?? 0;
  let prevTerm = snapshot?.meta.term ?? 0;
  for await (const [key, value] of db.iterator({ gte: ENTRY_PREFIX, lt: ENTRY_END })) {
    const index = parseEntryKey(dir, key);
    const entry = decodeRecord(dir, key, value, decodeEntry);
    if (entry.index !== index) throw new CorruptLogError(dir, `record "${key}" holds entry ${entry.index}`);
    if (index !== prevIndex + 1) throw new CorruptLogError(dir, entries.length === 0
      ? `the entries start at ${index}, not right after the snapshot at ${prevIndex}`
      : `entries ${prevIndex + 1}..${index - 1} are missing (a gap after entry ${prevIndex})`);
    if (entry.term < prevTerm) throw new CorruptLogError(dir, `terms decrease: entry ${index} has term ${entry.term} after term ${prevTerm}`);
    entries.push(entry);
    prevIndex = index;
    prevTerm = entry.term;
  }
  return entries;
}

function checkCommit(dir: string, hardState: HardState, snapshotIndex: number, lastIndex: number): void {
  if (hardState.commit > lastIndex) {
    throw new CorruptLogError(dir, `the hard state says ${hardState.commit} is committed but the log ends at ${lastIndex} (committed entries are missing)`);
  }
  if (hardState.commit < snapshotIndex) {
    throw new CorruptLogError(dir, `the hard state's commit ${hardState.commit} is below the snapshot index ${snapshotIndex}`);
  }
}
