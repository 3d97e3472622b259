// The codec: every record round-trips exactly, and bad bytes throw CodecError (never garbage).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CodecError, decodeEntry, decodeHardState, decodeMessage, decodeSnapshot,
  encodeEntry, encodeHardState, encodeMessage, encodeSnapshot,
} from '../../consensus/codec.ts';
import { InvariantError } from '../../consensus/core/errors.ts';
import type { Entry, Message, MessageType, Snapshot } from '../../consensus/core/types.ts';
import { message } from '../../consensus/core/types.ts';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const big = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);

const entries: Entry[] = [
  { term: 0, index: 0, type: 'normal', data: new Uint8Array() },
  { term: 7, index: 42, type: 'conf-change', data: bytes(1, 2, 3) },
  { term: Number.MAX_SAFE_INTEGER, index: Number.MAX_SAFE_INTEGER, type: 'normal', data: big(1 << 20) },
];
const snapshot: Snapshot = {
  meta: { index: 1000, term: 9, conf: { voters: ['a', 'b', 'c'], learners: ['ŝtono-🙂'] } },
  data: big(5000),
};
const allTypes: MessageType[] = [
  'MsgApp', 'MsgAppResp', 'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgPreVote', 'MsgPreVoteResp', 'MsgVote',
  'MsgVoteResp', 'MsgSnap', 'MsgTimeoutNow', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgTransferLeader', 'MsgProp',
];
const full: Message = {
  type: 'MsgApp', from: '12D3KooWfrom', to: '12D3KooWto', term: 5, logTerm: 4, index: 99, entries,
  commit: 97, reject: true, rejectHint: 90, rejectTerm: 3, snapshot, context: 'read-17',
};

describe('codec round trips', () => {
  it('entries, including empty and 1 MiB data and the largest safe index', () => {
    for (const e of entries) assert.deepEqual(decodeEntry(encodeEntry(e)), e);
  });

  it('hard states with and without a vote', () => {
    for (const h of [{ term: 0, vote: null, commit: 0 }, { term: 3, vote: 'nœud-1', commit: 12 }]) {
      assert.deepEqual(decodeHardState(encodeHardState(h)), h);
    }
  });

  it('snapshots, with an empty and a full configuration', () => {
    const empty: Snapshot = { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: new Uint8Array() };
    assert.deepEqual(decodeSnapshot(encodeSnapshot(empty)), empty);
    assert.deepEqual(decodeSnapshot(encodeSnapshot(snapshot)), snapshot);
  });

  it('messages of every type, with every field set and with defaults', () => {
    for (const type of allTypes) {
      const m = { ...full, type };
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
      const bare = message({ type, from: 'x', to: 'y' });
      assert.deepEqual(decodeMessage(encodeMessage(bare)), bare);
    }
  });

  it('is compact: a heartbeat takes a few bytes', () => {
    const hb = message({ type: 'MsgHeartbeat', from: 'a', to: 'b', term: 3, commit: 10 });
    assert.ok(encodeMessage(hb).byteLength <= 16, `heartbeat is ${encodeMessage(hb).byteLength} bytes`);
  });

  it('decodes from a view into a larger buffer and returns copies', () => {
    const enc = encodeEntry(entries[1]!);
    const host = new Uint8Array(enc.byteLength + 10);
    host.set(enc, 5);
    const view = host.subarray(5, 5 + enc.byteLength);
    const got = decodeEntry(view);
    host.fill(0);
    assert.deepEqual(got, entries[1]);
  });

  it('strings of every length class and script, and encodes that do not share bytes', () => {
    const strings = ['', 'a', 'x'.repeat(42), 'x'.repeat(43), 'x'.repeat(127), 'x'.repeat(128), 'é'.repeat(64), '日本'.repeat(30), '😀'.repeat(40), 'y'.repeat(5461), 'z'.repeat(5462), 'w'.repeat(70_000)];
    for (const s of strings) {
      const m = message({ type: 'MsgReadIndex', from: s, to: 'b', context: s });
      assert.deepEqual(decodeMessage(encodeMessage(m)), m, `a string of ${s.length} UTF-16 units`);
    }
    const one = encodeEntry(entries[1]!);
    const copy = one.slice();
    encodeEntry(entries[2]!); // reuses the scratch: must not change what the first encode returned
    assert.deepEqual(one, copy);
    const withRoom = encodeEntry(entries[1]!, 4);
    assert.deepEqual(withRoom.subarray(0, 4), new Uint8Array(4));
    assert.deepEqual(decodeEntry(withRoom.subarray(4)), entries[1]);
  });

  it('a decoded message does not share bytes with its input', () => {
    const m = message({ type: 'MsgApp', from: 'a', to: 'b', entries: [entries[1]!], snapshot });
    const enc = encodeMessage(m);
    const got = decodeMessage(enc);
    enc.fill(0);
    assert.deepEqual(got, m);
  });

  it('refuses to encode what it could not decode', () => {
    assert.throws(() => encodeEntry({ ...entries[0]!, index: -1 }), InvariantError);
    assert.throws(() => encodeEntry({ ...entries[0]!, term: 1.5 }), InvariantError);
    assert.throws(() => encodeMessage({ ...full, type: 'MsgBogus' as MessageType }), InvariantError);
  });
});

describe('codec rejects bad bytes', () => {
  const decoders: [string, (b: Uint8Array) => unknown, Uint8Array][] = [
    ['entry', decodeEntry, encodeEntry(entries[1]!)],
    ['hard state', decodeHardState, encodeHardState({ term: 3, vote: 'n1', commit: 2 })],
    ['snapshot', decodeSnapshot, encodeSnapshot({ ...snapshot, data: bytes(1, 2) })],
    ['message', decodeMessage, encodeMessage({ ...full, entries: [entries[1]!], snapshot: null })],
  ];

  it('every truncation of every record', () => {
    for (const [what, decode, good] of decoders) {
      for (let n = 0; n < good.byteLength; n++) {
        assert.throws(() => decode(good.subarray(0, n)), CodecError, `${what} cut to ${n} bytes`);
      }
    }
  });

  it('trailing bytes, and a record of another kind', () => {
    for (const [what, decode, good] of decoders) {
      const longer = new Uint8Array([...good, 0]);
      assert.throws(() => decode(longer), /1 trailing bytes/, what);
    }
    assert.throws(() => decodeEntry(encodeHardState({ term: 1, vote: null, commit: 0 })), /not the entry tag/);
  });

  it('names the problem: unknown codes, bad flags, bad UTF-8, oversized lengths and counts', () => {
    const m = encodeMessage(message({ type: 'MsgVote', from: 'a', to: 'b' }));
    assert.throws(() => decodeMessage(Uint8Array.of(m[0]!, 200, ...m.subarray(2))), /unknown message type code 200/);
    assert.throws(() => decodeEntry(bytes(0xe1, 1, 1, 9, 0)), /unknown entry type code 9/);
    assert.throws(() => decodeHardState(bytes(0xe2, 1, 2, 0)), /flag byte 2/);
    assert.throws(() => decodeHardState(bytes(0xe2, 1, 1, 2, 0xff, 0xfe, 0)), /not valid UTF-8/);
    assert.throws(() => decodeEntry(bytes(0xe1, 1, 1, 0, 100, 1, 2)), /length 100 runs past the end/);
    assert.throws(() => decodeSnapshot(bytes(0xe3, 1, 1, 0xff, 0xff, 0x03, 0, 0)), /count 65535 cannot fit/);
    assert.throws(() => decodeEntry(bytes(0xe1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), /longer than 8 bytes/);
    assert.throws(() => decodeEntry(bytes(0xe1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0, 0)), /larger than 2\^53/);
  });

  it('random corruption either decodes or throws CodecError, never anything else (seeded)', () => {
    let seed = 0x2545f491;
    const next = (): number => {
      seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    for (let round = 0; round < 2000; round++) {
      const [what, decode, good] = decoders[round % decoders.length]!;
      const bad = good.slice();
      for (let k = 0; k < 3; k++) bad[Math.floor(next() * bad.length)] = Math.floor(next() * 256);
      try {
        decode(bad);
      } catch (err) {
        assert.ok(err instanceof CodecError, `${what} round ${round} (seed-derived) threw ${String(err)}`);
      }
    }
  });
});
