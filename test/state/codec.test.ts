import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  apply, CorruptCommandError, CorruptSnapshotError, decodeCommand, decodeState, emptyState, encodeCommand, encodeState, InvalidCommandError, isoFromMs,
  UnknownCommandError,
} from '../../node/state/index.ts';
import type { Command } from '../../node/state/index.ts';
import { build, clusterWithToken, hashB, initCommand, joinCommand, nodeRecord, t0, tokenRecord } from './fixtures.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const commands: Command[] = [
  initCommand(),
  { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1', { groups: ['edge', 'eu'] }) },
  joinCommand('p2', 't1'),
  { type: 'UpdateNodeAddrs', atMs: t0, id: 'p2', addrs: ['/ip4/10.0.0.2/tcp/4001'], httpUrl: 'http://10.0.0.2:8080' },
  { type: 'SetNodeEnabled', atMs: t0, id: 'p2', enabled: false },
  { type: 'RemoveNode', atMs: t0, id: 'p2' },
  { type: 'UpdateSettings', atMs: t0, settings: { votersTarget: 5 } },
  { type: 'UpdateSettings', atMs: t0, settings: {} },
];

for (const command of commands) {
  test(`${command.type} round-trips through bytes`, () => {
    assert.deepEqual(decodeCommand(encodeCommand(command)), command);
  });
}

test('encodeCommand refuses a command that would not decode, naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...joinCommand('p2', 't1'), secretHash: 'xyz' }, /JoinNode command: \/secretHash must match pattern/],
    [{ ...joinCommand('p2', 't1'), extra: 1 }, /JoinNode command: \/ has unexpected fields: extra/],
    [{ type: 'UpdateSettings', atMs: t0, settings: { downAfterS: Infinity } }, /\/settings\/downAfterS must be number/],
    [{ type: 'RemoveNode', atMs: 1.5, id: 'p1' }, /\/atMs must be integer/],
    [{ type: 'Nope', atMs: 0 }, /unknown command type "Nope"/],
    [{ type: 'UpdateNodeAddrs', atMs: 0, id: 'p1', addrs: Array(33).fill('a'), httpUrl: '' }, /\/addrs must not have more than 32 items/],
  ];
  for (const [command, message] of cases) assert.throws(() => encodeCommand(command as Command), (err: Error) => err instanceof InvalidCommandError && message.test(err.message));
});

test('decodeCommand: an unknown type says to upgrade, garbage is corrupt', () => {
  assert.throws(() => decodeCommand(bytes('{"type":"SetAssignments","atMs":1}'), 42), (err: Error) =>
    err instanceof UnknownCommandError && err.name === 'UnknownCommandError' && err.commandType === 'SetAssignments' &&
    /committed entry 42 holds a command of type "SetAssignments".*newer version wrote it.*Upgrade this node/.test(err.message));
  const corrupt: [string, RegExp][] = [
    ['{not json', /is not a command \(/],
    ['[1,2]', /not a command object/],
    ['{"atMs":1}', /has no command type/],
    ['{"type":"RemoveNode","atMs":1}', /RemoveNode command: \/ must have required properties id/],
  ];
  for (const [text, message] of corrupt) assert.throws(() => decodeCommand(bytes(text)), (err: Error) => err instanceof CorruptCommandError && message.test(err.message));
  assert.throws(() => decodeCommand(bytes('{"type":"constructor","atMs":1}')), UnknownCommandError);
  assert.throws(() => decodeCommand(bytes('{"type":"__proto__","atMs":1}')), UnknownCommandError);
  assert.throws(() => decodeCommand(new Uint8Array([0xff, 0xfe])), CorruptCommandError);
});

test('the state round-trips through snapshot bytes', () => {
  const state = build(initCommand(), { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1', { usesLeft: 2 }) }, joinCommand('p2', 't1'));
  assert.deepEqual(decodeState(encodeState(state)), state);
  assert.deepEqual(decodeState(encodeState(emptyState())), emptyState());
  const revoked = apply(state, { type: 'RevokeSession', atMs: t0, sessionId: 'abc', user: 'admin', expiresAtMs: t0 + 1 }).state;
  assert.deepEqual(decodeState(encodeState(revoked)), revoked);
  const text = new TextDecoder().decode(encodeState(state));
  assert.equal(text.includes('revokedSessions'), false, 'none revoked: written as older versions wrote it, so they still read it');
});

test('decodeState rejects damaged or newer snapshots with what is wrong', () => {
  const good = JSON.parse(new TextDecoder().decode(encodeState(clusterWithToken()))) as { v: number; state: Record<string, unknown> };
  const cases: [unknown, RegExp][] = [
    [{ ...good, v: 2 }, /format 2, newer than this version reads \(1\): upgrade/],
    [{ state: good.state }, /no format version/],
    [{ ...good, state: { ...good.state, settings: { votersTarget: 3 } } }, /damaged: \/settings must have required properties/],
    [{ ...good, state: { ...good.state, nodes: { p9: nodeRecord('p1') } } }, /damaged: \/nodes\/p9 holds the record of p1/],
    [{ ...good, state: { ...good.state, joinTokens: { t1: { ...tokenRecord('t1'), secretHash: hashB.slice(1) } } } }, /\/joinTokens\/t1\/secretHash must match pattern/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => decodeState(bytes(JSON.stringify(value))), (err: Error) => err instanceof CorruptSnapshotError && message.test(err.message));
  }
  assert.throws(() => decodeState(bytes('')), /not JSON/);
});

test('isoFromMs matches Date#toISOString', () => {
  for (const ms of [0, 1, 951_782_400_000, 951_868_799_999, t0, 4_102_444_800_000 - 1, 1_709_164_800_123, 253_402_300_799_999]) {
    assert.equal(isoFromMs(ms), new Date(ms).toISOString());
  }
  for (let ms = 0; ms < 4_102_444_800_000; ms += 86_399_937 * 7) assert.equal(isoFromMs(ms), new Date(ms).toISOString());
});
