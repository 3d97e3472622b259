import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LengthPrefixedDecoder } from '@libp2p/utils';

import '../../node/p2p/frame-decoder.ts';

type LengthDecoder = NonNullable<NonNullable<ConstructorParameters<typeof LengthPrefixedDecoder>[0]>['lengthDecoder']>;

/** Noise's frame length: two bytes, big-endian; a RangeError while fewer have arrived. */
function countingUint16(): { decode: LengthDecoder; throws: () => number } {
  let throws = 0;
  return {
    decode(data) {
      if (data.byteLength < 2) {
        throws++;
        throw new RangeError('not enough bytes for a length');
      }
      const bytes = data.subarray(0, 2);
      return bytes[0]! * 256 + bytes[1]!;
    },
    throws: () => throws,
  };
}

const frame = (text: string) => Buffer.concat([Buffer.from([0, text.length]), Buffer.from(text)]);

test('chunks that end on a frame boundary are decoded without a thrown error, frames unchanged', () => {
  const length = countingUint16();
  const decoder = new LengthPrefixedDecoder({ lengthDecoder: length.decode, encodingLength: () => 2 });
  const out: string[] = [];
  const feed = (chunk: Buffer) => { for (const f of decoder.decode(chunk)) out.push(Buffer.from(f.subarray()).toString()); };
  feed(Buffer.concat([frame('one'), frame('two')]));
  feed(frame('three'));
  const four = frame('four');
  feed(four.subarray(0, 4)); // the length and part of the data
  feed(four.subarray(4));
  assert.deepEqual(out, ['one', 'two', 'three', 'four']);
  assert.equal(length.throws(), 0);
  feed(four.subarray(0, 1)); // half a length: the library's own RangeError path, still works
  feed(four.subarray(1));
  assert.deepEqual(out, ['one', 'two', 'three', 'four', 'four']);
  assert.equal(length.throws(), 1);
});

test('a frame longer than the limit is still refused', () => {
  const length = countingUint16();
  const decoder = new LengthPrefixedDecoder({ lengthDecoder: length.decode, encodingLength: () => 2, maxDataLength: 10 });
  assert.throws(() => [...decoder.decode(frame('eleven bytes'))], /Invalid message length/);
});
