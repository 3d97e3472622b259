// The channel side's fencing: a node that loses its leader for longer than the fence time stops
// its streams (desired set empty) and runs them again once a leader is back; and which streams a
// node runs from its applied state (active or second worker, each with its own epoch).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { Channels, desiredStreams } from '../../node/channels.ts';
import { apply, emptyState } from '../../node/state/index.ts';
import type { ClusterState, Command, StreamRecord } from '../../node/state/index.ts';

const stream = (id: string, over: Partial<StreamRecord> = {}): StreamRecord => ({
  id, name: id, sources: [{ url: 'http://127.0.0.1:9/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy',
  serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: 0, ...over,
});

function stateWith(...commands: Command[]): ClusterState {
  let state = apply(emptyState(), {
    type: 'InitCluster', atMs: 0, clusterId: 'c', node: { id: 'me', name: 'me', groups: [], addrs: [], httpUrl: 'http://me', enabled: true, joinedAtMs: 0 },
    admin: { name: 'admin', passwordHash: 'x', role: 'admin' }, adminToken: { id: 't', secretHash: '0'.repeat(64), user: 'admin', role: 'admin', createdAtMs: 0 },
  }).state;
  state = { ...state, nodes: { ...state.nodes, other: { ...state.nodes['me']!, id: 'other', name: 'other' } } };
  for (const c of commands) {
    const r = apply(state, c);
    assert.deepEqual(r.result, { ok: true }, c.type);
    state = r.state;
  }
  return state;
}

test('a node runs the streams it is the worker or the second worker of, each in its own epoch', () => {
  const state = stateWith(
    { type: 'CreateStream', atMs: 0, stream: stream('a') },
    { type: 'CreateStream', atMs: 0, stream: stream('b') },
    { type: 'CreateStream', atMs: 0, stream: stream('c', { enabled: false }) },
    { type: 'AssignStream', atMs: 0, streamId: 'a', nodeId: 'me', base: 0 },
    { type: 'AssignStream', atMs: 0, streamId: 'b', nodeId: 'other', base: 0 },
    { type: 'SetNextWorker', atMs: 0, streamId: 'b', nodeId: 'me' },
  );
  const desired = desiredStreams(state, 'me');
  assert.deepEqual([...desired.keys()].sort(), ['a', 'b']);
  assert.equal(desired.get('a')?.epoch, 1);
  assert.equal(desired.get('b')?.epoch, 3, "the second worker's own epoch");
  assert.equal(desired.get('a')?.segmentS, 2);
  assert.deepEqual([...desiredStreams(state, 'other').keys()], ['b']);
  const removed = { ...state, nodes: { me: state.nodes['me']! } };
  assert.deepEqual([...desiredStreams(removed, 'other').keys()], [], 'a node that applied its own removal runs nothing');
});

test('a node is fenced until a read barrier succeeds, and again when barriers stop succeeding', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ottmesh-channels-'));
  let answering = true;
  let reads = 0;
  const lines: string[] = [];
  const channels = new Channels({
    selfId: 'me', dataDir, networkKey: new Uint8Array(32),
    driver: {
      status: () => ({ role: 'follower', leaderId: 'other' }) as never,
      msSinceHeardFrom: () => 0,
      read: async () => {
        reads++;
        if (!answering) throw new Error('no leader');
        return reads;
      },
    },
    state: () => stateWith(), onStateChange: () => () => undefined,
    members: () => ({ health: 'alive', host: null, streams: [] }), gatewayFigures: () => [],
    propose: async () => ({ ok: true }), reportNow: () => undefined, log: (line) => lines.push(line),
  }, { fenceAfterMs: 300 });
  // Polled with a generous deadline: timers run late on a loaded machine.
  const until = async (fenced: boolean, what: string) => {
    const deadline = Date.now() + 5_000;
    while (channels.fenced !== fenced) {
      assert.ok(Date.now() < deadline, `${what} (${reads} reads; ${lines.join('; ')})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    assert.equal(channels.fenced, true, 'fenced before it has caught up');
    await channels.start();
    await until(false, 'free once a barrier came back');
    answering = false;
    await until(true, 'fenced once barriers fail');
    assert.ok(lines.some((l) => /no leader for 300 ms: stopping this node's streams/.test(l)), lines.join('\n'));
    answering = true;
    await until(false, 'free again once a barrier succeeds');
  } finally {
    await channels.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
