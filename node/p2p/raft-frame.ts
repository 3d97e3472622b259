// The bytes of the raft stream. A stream is a sequence of length-prefixed frames; each frame is
// a batch of Raft messages, each encoded by consensus/codec.ts:
//
//   stream := (varint frameLength, frame)*
//   frame  := tag 0xf1, varint count, (varint messageLength, message)*
//
// Varints are unsigned LEB128, the same as libp2p's length prefixes, so the receiver splits
// frames with libp2p's LengthPrefixedDecoder. Decoding checks every length, so bad bytes throw
// CodecError instead of yielding a plausible message.
import { CodecError, decodeMessage, encodeMessage } from '../../consensus/codec.ts';
import type { Message } from '../../consensus/core/types.ts';

const TAG_BATCH = 0xf1;
/** Largest varint we write or read: lengths stay below 2^35, far above any frame bound. */
const MAX_VARINT_BYTES = 5;

export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[pos++] = v;
  return pos;
}

/** What one encoded message adds to a frame body: its length prefix and its bytes. */
export function messageSlotBytes(encodedBytes: number): number {
  return varintLength(encodedBytes) + encodedBytes;
}

/** Bytes of a whole frame, length prefix included, holding `count` messages whose slots
 *  ({@link messageSlotBytes}) add up to `slotsBytes`. */
export function frameBytes(count: number, slotsBytes: number): number {
  const body = 1 + varintLength(count) + slotsBytes;
  return varintLength(body) + body;
}

/** One frame, length prefix included, ready for `stream.send`. */
export function encodeFrame(encoded: readonly Uint8Array[]): Uint8Array {
  let slots = 0;
  for (const m of encoded) slots += messageSlotBytes(m.byteLength);
  const body = 1 + varintLength(encoded.length) + slots;
  const out = new Uint8Array(frameBytes(encoded.length, slots));
  let pos = writeVarint(out, 0, body);
  out[pos++] = TAG_BATCH;
  pos = writeVarint(out, pos, encoded.length);
  for (const m of encoded) {
    pos = writeVarint(out, pos, m.byteLength);
    out.set(m, pos);
    pos += m.byteLength;
  }
  return out;
}

/** Splits the raft stream's bytes back into frame bodies (without their length prefixes). Frames
 *  within one chunk are views into it; only a frame split across chunks is copied. (libp2p's
 *  LengthPrefixedDecoder reads each prefix byte through Uint8ArrayList.get, a scan of its chunks,
 *  which showed up in busy nodes' profiles.) Throws CodecError for a frame over `maxFrameBytes`. */
export class FrameSplitter {
  readonly #maxFrameBytes: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  push(data: Uint8Array | Iterable<Uint8Array>): Uint8Array[] {
    if (data instanceof Uint8Array) this.#add(data);
    else for (const chunk of data) this.#add(chunk);
    const frames: Uint8Array[] = [];
    for (;;) {
      const prefix = this.#prefix();
      if (prefix === null || this.#buffered < prefix.bytes + prefix.length) return frames;
      this.#take(prefix.bytes);
      frames.push(this.#take(prefix.length));
    }
  }

  #add(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
  }

  /** The length prefix at the head: its value and size, or null while incomplete. */
  #prefix(): { length: number; bytes: number } | null {
    let value = 0;
    let scale = 1;
    let i = 0;
    for (const chunk of this.#chunks) {
      for (const b of chunk) {
        value += (b & 0x7f) * scale;
        i++;
        if ((b & 0x80) === 0) {
          if (value > this.#maxFrameBytes) throw new CodecError(`raft frame of ${value} bytes exceeds the bound of ${this.#maxFrameBytes}`);
          return { length: value, bytes: i };
        }
        if (i >= MAX_VARINT_BYTES) throw new CodecError('raft frame length prefix longer than 5 bytes');
        scale *= 0x80;
      }
    }
    return null;
  }

  /** The next `n` buffered bytes (n <= buffered): a view when they lie in one chunk. */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    const head = this.#chunks[0]!;
    if (head.byteLength > n) {
      this.#chunks[0] = head.subarray(n);
      return head.subarray(0, n);
    }
    if (head.byteLength === n) {
      this.#chunks.shift();
      return head;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.byteLength, n - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      if (part === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}

/** Encode one message for a frame (codec.ts). */
export const encodeFrameMessage = encodeMessage;

/** The messages of one frame body (without its length prefix). Throws CodecError. */
export function decodeFrame(frame: Uint8Array): Message[] {
  let pos = 0;
  const fail = (problem: string): never => {
    throw new CodecError(`cannot decode raft frame (${frame.byteLength} bytes): ${problem} at offset ${pos}`);
  };
  const readVarint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= frame.byteLength) fail('unexpected end of input');
      const b = frame[pos++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 0x80;
    }
    return fail('length longer than 5 bytes');
  };
  if (frame[pos++] !== TAG_BATCH) fail('not a batch frame');
  const count = readVarint();
  // Each message takes at least two bytes (its length and a tag): a larger count is a lie.
  if (count * 2 > frame.byteLength - pos) fail(`count ${count} cannot fit`);
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) {
    const n = readVarint();
    if (n > frame.byteLength - pos) fail(`message length ${n} runs past the end`);
    messages.push(decodeMessage(frame.subarray(pos, pos + n)));
    pos += n;
  }
  if (pos !== frame.byteLength) fail(`${frame.byteLength - pos} trailing bytes`);
  return messages;
}
