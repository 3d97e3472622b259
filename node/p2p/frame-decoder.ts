// Noise splits what it receives into frames with @libp2p/utils' LengthPrefixedDecoder (7.4), which
// learns that a chunk is used up by calling its length decoder on the empty rest and catching the
// RangeError it throws. Every chunk read from a connection so paid for an Error and its stack
// trace: about 2 % of a node's main-thread CPU under a write load (perf, session 8). Here a length
// decoder is not called on an empty buffer: the decoder is told the largest length it accepts
// instead, which it then waits for as it would for any frame not yet complete, and the next chunk
// is decoded as before. Frames, limits and errors are unchanged.
import { LengthPrefixedDecoder } from '@libp2p/utils';

interface DecoderFields {
  readonly buffer: { readonly byteLength: number };
  readonly maxDataLength: number;
  lengthDecoder: (data: { readonly byteLength: number }) => number;
  decode(buf: unknown): Generator<unknown>;
}

const guarded = Symbol('ottmesh.empty-buffer-guard');
const patched = Symbol.for('ottmesh.frame-decoder-empty-buffer');
const proto = LengthPrefixedDecoder.prototype as unknown as DecoderFields & { [patched]?: true };

if (proto[patched] !== true && typeof proto.decode === 'function') {
  const decode = proto.decode;
  proto.decode = function (this: DecoderFields & { [guarded]?: true }, buf: unknown) {
    if (this[guarded] !== true) {
      const decodeLength = this.lengthDecoder;
      this.lengthDecoder = (data) => (data.byteLength === 0 ? this.maxDataLength : decodeLength(data));
      this[guarded] = true;
    }
    return decode.call(this, buf);
  };
  proto[patched] = true;
}
