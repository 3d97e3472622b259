// Compact binary encoding of what the log store writes and the transport sends. Pure (no node:*),
// so the transport and the log store share one definition of the bytes.
//
// Layout: every top-level record starts with a one-byte tag naming its kind and layout version
// (a changed layout takes a new tag, never a new meaning for an old one). Integers are unsigned
// LEB128 varints (log indexes and terms stay within Number.MAX_SAFE_INTEGER), strings are a
// varint byte length then UTF-8, byte arrays a varint length then the bytes.
// Decoding checks every length against the bytes left and rejects trailing bytes, so bad input
// throws CodecError instead of yielding a plausible-looking record.
import { assert } from './core/errors.ts';
import type { ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot } from './core/types.ts';

/** Bytes that are not a valid encoding. `message` says which record and what was wrong. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

const TAG_ENTRY = 0xe1;
const TAG_HARD_STATE = 0xe2;
const TAG_SNAPSHOT = 0xe3;
const TAG_MESSAGE = 0xe4;

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'conf-change'];
// The wire code of a message type is its position here: append only, never reorder.
const MESSAGE_TYPES: readonly MessageType[] = [
  'MsgApp', 'MsgAppResp', 'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgPreVote', 'MsgPreVoteResp', 'MsgVote',
  'MsgVoteResp', 'MsgSnap', 'MsgTimeoutNow', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgTransferLeader', 'MsgProp',
  'MsgPropResp',
];
/** Smallest encoded entry (term, index, type, data length): bounds the count a decoder accepts. */
const MIN_ENTRY_BYTES = 4;
const MAX_VARINT_BYTES = 8; // 56 bits: enough for any safe integer

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Scratch space shared by all encodes: they run synchronously one at a time, so one buffer
 *  serves them all and each encode allocates only its exact-size result (many small
 *  ArrayBuffers, each a malloc and a GC sweep, were a large share of a busy node's CPU). */
const scratchStartBytes = 16 * 1024;
/** A scratch grown past this (a large snapshot) is let go after use instead of kept. */
const scratchKeepBytes = 1024 * 1024;
let scratch = new Uint8Array(scratchStartBytes);

class Writer {
  #buf = scratch;
  #len: number;

  /** `headroom` zero bytes come first in the result, for a caller's own header. */
  constructor(headroom = 0) {
    this.#buf.fill(0, 0, headroom);
    this.#len = headroom;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }
  u8(v: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = v;
  }
  uint(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, () => `codec: ${v} is not a non-negative safe integer`);
    this.#reserve(MAX_VARINT_BYTES);
    // Division, not bit shifts: shifts truncate to 32 bits.
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#len++] = v;
  }
  bytes(b: Uint8Array): void {
    this.uint(b.byteLength);
    this.#reserve(b.byteLength);
    this.#buf.set(b, this.#len);
    this.#len += b.byteLength;
  }
  str(s: string): void {
    // Short strings (node ids, contexts) are written in place: room for a 2-byte length, the
    // UTF-8 bytes, then the length is fixed up (moving the bytes back one when it fits in one).
    const most = s.length * 3;
    if (most >= 0x4000) {
      this.bytes(utf8Encoder.encode(s));
      return;
    }
    this.#reserve(2 + most);
    const at = this.#len;
    const { written } = utf8Encoder.encodeInto(s, this.#buf.subarray(at + 2, at + 2 + most));
    if (written < 0x80) {
      this.#buf.copyWithin(at + 1, at + 2, at + 2 + written);
      this.#buf[at] = written;
      this.#len = at + 1 + written;
    } else {
      this.#buf[at] = (written % 0x80) | 0x80;
      this.#buf[at + 1] = Math.floor(written / 0x80);
      this.#len = at + 2 + written;
    }
  }
  /** The encoded bytes (a copy: the scratch is reused by the next encode). */
  done(): Uint8Array {
    const out = this.#buf.slice(0, this.#len);
    // Keep a grown buffer for next time, unless it grew huge.
    scratch = this.#buf.length <= scratchKeepBytes ? this.#buf : new Uint8Array(scratchStartBytes);
    return out;
  }
}

class Reader {
  readonly #buf: Uint8Array;
  readonly #what: string;
  /** bytes() returns views into #buf instead of copies: only for a buffer owned by the result. */
  readonly #views: boolean;
  #pos = 0;

  constructor(buf: Uint8Array, what: string, views = false) {
    this.#buf = buf;
    this.#what = what;
    this.#views = views;
  }
  fail(problem: string): never {
    throw new CodecError(`cannot decode ${this.#what} (${this.#buf.byteLength} bytes): ${problem} at offset ${this.#pos}`);
  }
  left(): number {
    return this.#buf.byteLength - this.#pos;
  }
  u8(): number {
    if (this.left() < 1) this.fail('unexpected end of input');
    return this.#buf[this.#pos++]!;
  }
  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) this.fail('integer larger than 2^53');
        return value;
      }
      scale *= 0x80;
    }
    return this.fail('integer longer than 8 bytes');
  }
  bool(): boolean {
    const b = this.u8();
    if (b > 1) this.fail(`flag byte ${b} is neither 0 nor 1`);
    return b === 1;
  }
  /** A copy (the caller may reuse or mutate the input buffer afterwards), or a view in views mode. */
  bytes(): Uint8Array {
    const view = this.#view();
    return this.#views ? view : new Uint8Array(view);
  }
  #view(): Uint8Array {
    const n = this.uint();
    if (n > this.left()) this.fail(`length ${n} runs past the end`);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  str(): string {
    const raw = this.#view();
    try {
      return utf8Decoder.decode(raw);
    } catch {
      return this.fail('string is not valid UTF-8');
    }
  }
  /** A count of items that each take at least `minBytes`: larger than the input could hold is an error. */
  count(minBytes: number): number {
    const n = this.uint();
    if (n * minBytes > this.left()) this.fail(`count ${n} cannot fit in the ${this.left()} bytes left`);
    return n;
  }
  oneOf<T>(table: readonly T[], kind: string): T {
    const code = this.u8();
    return table[code] ?? this.fail(`unknown ${kind} code ${code}`);
  }
  end(): void {
    if (this.left() !== 0) this.fail(`${this.left()} trailing bytes`);
  }
}

function codeOf<T>(table: readonly T[], value: T): number {
  const code = table.indexOf(value);
  assert(code >= 0, () => `codec: ${String(value)} has no wire code`);
  return code;
}

function writeEntry(w: Writer, e: Entry): void {
  w.uint(e.term);
  w.uint(e.index);
  w.u8(codeOf(ENTRY_TYPES, e.type));
  w.bytes(e.data);
}
function readEntry(r: Reader): Entry {
  const term = r.uint();
  const index = r.uint();
  const type = r.oneOf(ENTRY_TYPES, 'entry type');
  return { term, index, type, data: r.bytes() };
}

function writeHardState(w: Writer, h: HardState): void {
  w.uint(h.term);
  w.u8(h.vote === null ? 0 : 1);
  if (h.vote !== null) w.str(h.vote);
  w.uint(h.commit);
}
function readHardState(r: Reader): HardState {
  const term = r.uint();
  const vote = r.bool() ? r.str() : null;
  return { term, vote, commit: r.uint() };
}

function writeIds(w: Writer, ids: readonly string[]): void {
  w.uint(ids.length);
  for (const id of ids) w.str(id);
}
function readIds(r: Reader): string[] {
  const n = r.count(1);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(r.str());
  return ids;
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.uint(s.meta.index);
  w.uint(s.meta.term);
  writeIds(w, s.meta.conf.voters);
  writeIds(w, s.meta.conf.learners);
  w.bytes(s.data);
}
function readSnapshot(r: Reader): Snapshot {
  const index = r.uint();
  const term = r.uint();
  const conf: ConfState = { voters: readIds(r), learners: readIds(r) };
  return { meta: { index, term, conf }, data: r.bytes() };
}

function writeMessage(w: Writer, m: Message): void {
  w.u8(codeOf(MESSAGE_TYPES, m.type));
  w.str(m.from);
  w.str(m.to);
  for (const n of [m.term, m.logTerm, m.index, m.commit, m.rejectHint, m.rejectTerm]) w.uint(n);
  w.u8(m.reject ? 1 : 0);
  w.uint(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  w.u8(m.snapshot === null ? 0 : 1);
  if (m.snapshot !== null) writeSnapshot(w, m.snapshot);
  w.str(m.context);
}
function readMessage(r: Reader): Message {
  const type = r.oneOf(MESSAGE_TYPES, 'message type');
  const from = r.str();
  const to = r.str();
  const [term, logTerm, index, commit, rejectHint, rejectTerm] = [r.uint(), r.uint(), r.uint(), r.uint(), r.uint(), r.uint()];
  const reject = r.bool();
  const n = r.count(MIN_ENTRY_BYTES);
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) entries.push(readEntry(r));
  const snapshot = r.bool() ? readSnapshot(r) : null;
  const context = r.str();
  return { type, from, to, term, logTerm, index, entries, commit, reject, rejectHint, rejectTerm, snapshot, context };
}

function encode<T>(tag: number, write: (w: Writer, v: T) => void, value: T, headroom = 0): Uint8Array {
  const w = new Writer(headroom);
  w.u8(tag);
  write(w, value);
  return w.done();
}
function decode<T>(tag: number, what: string, read: (r: Reader) => T, bytes: Uint8Array, views = false): T {
  const r = new Reader(bytes, what, views);
  const got = r.u8();
  if (got !== tag) r.fail(`tag 0x${got.toString(16)} is not the ${what} tag 0x${tag.toString(16)}`);
  const value = read(r);
  r.end();
  return value;
}

/** `headroom` zero bytes precede the encoding, for the caller's header (the log store's checksum). */
export const encodeEntry = (e: Entry, headroom = 0): Uint8Array => encode(TAG_ENTRY, writeEntry, e, headroom);
export const decodeEntry = (b: Uint8Array): Entry => decode(TAG_ENTRY, 'entry', readEntry, b);
export const encodeHardState = (h: HardState): Uint8Array => encode(TAG_HARD_STATE, writeHardState, h);
export const decodeHardState = (b: Uint8Array): HardState => decode(TAG_HARD_STATE, 'hard state', readHardState, b);
export const encodeSnapshot = (s: Snapshot): Uint8Array => encode(TAG_SNAPSHOT, writeSnapshot, s);
export const decodeSnapshot = (b: Uint8Array): Snapshot => decode(TAG_SNAPSHOT, 'snapshot', readSnapshot, b);
export const encodeMessage = (m: Message): Uint8Array => encode(TAG_MESSAGE, writeMessage, m);
/** The message's byte fields (entry data, snapshot) are views into one private copy of `b`: one
 *  allocation per message instead of one per entry. */
export const decodeMessage = (b: Uint8Array): Message => decode(TAG_MESSAGE, 'message', readMessage, b.slice(), true);
