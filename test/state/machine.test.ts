import { test } from 'node:test';
import assert from 'node:assert/strict';

import type { Entry } from '../../consensus/index.ts';
import {
  ClusterStateMachine, CorruptSnapshotError, emptyState, encodeCommand, proposeCommand, ResultUnavailableError, resultsKeptMax, UnknownCommandError,
} from '../../node/state/index.ts';
import type { ClusterState, Command } from '../../node/state/index.ts';
import { initCommand, joinCommand, t0, tokenRecord } from './fixtures.ts';

const entry = (index: number, command: Command): Entry => ({ term: 1, index, type: 'normal', data: encodeCommand(command) });

test('applies entries, records results by index, and tells listeners only about changes', () => {
  const machine = new ClusterStateMachine();
  const seen: [string | null, number][] = [];
  const off = machine.onChange((state, previous, command) => seen.push([command?.type ?? null, Object.keys(state.nodes).length - Object.keys(previous.nodes).length]));
  machine.apply(entry(2, initCommand()));
  machine.apply(entry(3, { type: 'CreateJoinToken', atMs: t0, token: tokenRecord('t1') }));
  machine.apply(entry(4, joinCommand('p2', 'nope')));
  machine.apply(entry(5, joinCommand('p2', 't1')));
  assert.deepEqual(machine.resultAt(2), { ok: true });
  const refused = machine.resultAt(4);
  assert.ok(refused !== null && !refused.ok);
  assert.match(refused.reason, /unknown join token/);
  assert.equal(machine.resultAt(1), null);
  assert.deepEqual(seen, [['InitCluster', 1], ['CreateJoinToken', 0], ['JoinNode', 1]]);
  off();
  machine.apply(entry(6, { type: 'SetNodeEnabled', atMs: t0, id: 'p2', enabled: false }));
  assert.equal(seen.length, 3, 'unsubscribed');
  assert.equal(machine.current().nodes['p2']?.enabled, false);
});

test('snapshot and restore carry the whole state; empty data resets', () => {
  const a = new ClusterStateMachine();
  a.apply(entry(2, initCommand()));
  const b = new ClusterStateMachine();
  let restored: ClusterState | null = null;
  b.onChange((state, _previous, command) => { assert.equal(command, null); restored = state; });
  b.restore(a.snapshot());
  assert.deepEqual(b.current(), a.current());
  assert.deepEqual(restored, a.current());
  b.restore(new Uint8Array());
  assert.deepEqual(b.current(), emptyState());
  assert.throws(() => b.restore(new TextEncoder().encode('{"v":1,"state":{}}')), CorruptSnapshotError);
});

test('an unknown command type stops the node with an upgrade message', () => {
  const machine = new ClusterStateMachine();
  const data = new TextEncoder().encode('{"type":"SetAssignments","atMs":1,"epoch":3}');
  assert.throws(() => machine.apply({ term: 1, index: 9, type: 'normal', data }), (err: Error) => err instanceof UnknownCommandError && /entry 9.*Upgrade/.test(err.message));
});

test('results are bounded: the oldest is dropped', () => {
  const machine = new ClusterStateMachine();
  const refused = joinCommand('p2', 't1');
  for (let index = 1; index <= resultsKeptMax + 1; index++) machine.apply(entry(index, refused));
  assert.equal(machine.resultAt(1), null);
  assert.equal(machine.resultAt(2)?.ok, false);
  assert.equal(machine.resultAt(resultsKeptMax + 1)?.ok, false);
});

test('proposeCommand returns the recorded result of the placed entry', async () => {
  const machine = new ClusterStateMachine();
  let index = 0;
  const driver = {
    propose(data: Uint8Array) {
      index++;
      machine.apply({ term: 1, index, type: 'normal', data });
      return Promise.resolve({ index, term: 1 });
    },
  };
  assert.deepEqual(await proposeCommand(driver, machine, initCommand()), { ok: true });
  const again = await proposeCommand(driver, machine, initCommand());
  assert.equal(again.ok, false);
  const forgetful = { propose: () => Promise.resolve({ index: 999, term: 1 }) };
  await assert.rejects(proposeCommand(forgetful, machine, initCommand()), ResultUnavailableError);
});
