// The leader's loop around the stream decisions: what it feeds them from gossip and Raft.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { HostFigures } from '../../node/gossip/report.ts';
import { StreamsLoop } from '../../node/leader/streams-loop.ts';
import type { StreamsLoopComponents } from '../../node/leader/streams-loop.ts';
import { apply, emptyState } from '../../node/state/index.ts';
import type { ClusterState, Command, NodeRecord } from '../../node/state/index.ts';

const node = (id: string): NodeRecord => ({ id, name: id, groups: [], addrs: [], httpUrl: `http://${id}`, enabled: true, joinedAtMs: 0 });

function cluster(): ClusterState {
  let state = apply(emptyState(), {
    type: 'InitCluster', atMs: 0, clusterId: 'c', node: node('a'),
    admin: { name: 'admin', passwordHash: 'x', role: 'admin' }, adminToken: { id: 't', secretHash: '0'.repeat(64), user: 'admin', role: 'admin', createdAtMs: 0 },
  }).state;
  state = { ...state, nodes: { a: node('a'), b: node('b'), c: node('c') } };
  for (const c of [
    { type: 'CreateStream', atMs: 0, stream: { id: 's', name: 's', sources: [{ url: 'http://h/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy', serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: 0 } },
    { type: 'AssignStream', atMs: 0, streamId: 's', nodeId: 'b', base: 0 },
  ] as Command[]) state = apply(state, c).state;
  return state;
}

/** A leader's loop over `state()` and `members`, on a clock the test sets (`at(ms)`), that
 *  records what it proposes. */
function leaderLoop(state: () => ClusterState, members: StreamsLoopComponents['members'], msSinceHeardFrom: (id: string) => number = () => 0, logs: string[] = []) {
  let nowMs = 0;
  const proposed: Command[] = [];
  const loop = new StreamsLoop({
    selfId: 'a', isLeader: () => true, state, members, gatewayFigures: () => [], msSinceHeardFrom, monotonicMs: () => nowMs,
    propose: async (command) => {
      proposed.push(command);
      return { ok: true };
    },
    log: (line) => logs.push(line),
  });
  return {
    /** One round at `ms`. */
    at: (ms: number) => {
      nowMs = ms;
      return loop.round();
    },
    sealed: () => proposed.flatMap((c) => (c.type === 'SealStream' ? [c.streamId] : [])),
  };
}

function withStandbyOnC(): ClusterState {
  return apply(cluster(), { type: 'SetNextWorker', atMs: 0, streamId: 's', nodeId: 'c' }).state;
}

test('a worker the leader has not heard from over Raft for 2 s loses its stream, though gossip calls it alive; a new leader waits 2 s of its own first', async () => {
  const state = cluster();
  const leader = leaderLoop(() => state, () => ({ health: 'alive', host: null, streams: [] }), (id) => (id === 'b' ? 60_000 : 0));
  await leader.at(0);
  await leader.at(1_900);
  assert.deepEqual(leader.sealed(), [], 'not before this leader has had 2 s to hear from it');
  await leader.at(2_100);
  assert.deepEqual(leader.sealed(), ['s']);
});

test('an active worker whose ffmpeg reports not running for 1.5 s, with a ready standby, loses the stream to it', async () => {
  const state = withStandbyOnC();
  let activeStatus: 'running' | 'restarting' = 'restarting';
  const leader = leaderLoop(() => state, (id) => ({
    health: 'alive', host: null,
    streams: id === 'b' ? [{ id: 's', status: activeStatus }] : id === 'c' ? [{ id: 's', status: 'running', lastSegment: 9 }] : [],
  }));
  await leader.at(0);
  activeStatus = 'running'; // it came back: the count starts again
  await leader.at(1_000);
  activeStatus = 'restarting';
  await leader.at(2_000);
  await leader.at(3_400);
  assert.deepEqual(leader.sealed(), [], 'not before 1.5 s of its own');
  await leader.at(3_600);
  assert.deepEqual(leader.sealed(), ['s']);
});

test('an active worker that reports streams without this one (it fenced itself and stopped ffmpeg) counts as not running; one with no report yet does not', async () => {
  const state = withStandbyOnC();
  let reported = false;
  const host: HostFigures = { cpuPct: 1, load1: 0, load5: 0, load15: 0, memUsedBytes: 1, memTotalBytes: 2, memPct: 50, netRxBytesPerS: 0, netTxBytesPerS: 0, diskFreeBytes: 1, rssBytes: 1 };
  const leader = leaderLoop(() => state, (id) => (id === 'c'
    ? { health: 'alive', host, streams: [{ id: 's', status: 'running', lastSegment: 9 }] }
    : { health: 'alive', host: id === 'b' && reported ? host : null, streams: [] }));
  await leader.at(0);
  await leader.at(5_000);
  assert.deepEqual(leader.sealed(), [], 'no report from the worker yet: nothing is known');
  reported = true;
  await leader.at(5_000);
  await leader.at(6_600);
  assert.deepEqual(leader.sealed(), ['s']);
});

test('placement with no node for a stream: logged once for its standby, once for its worker, again only after it found one', async () => {
  const base = apply(cluster(), { type: 'UpdatePolicy', atMs: 0, policy: { hotStandby: true } }).state;
  const state = { ...base, nodes: { ...base.nodes, a: { ...node('a'), enabled: false } } }; // the leader runs no stream
  const health = new Map<string, 'alive' | 'down'>([['a', 'alive'], ['b', 'alive'], ['c', 'down']]);
  const logs: string[] = [];
  const host: HostFigures = { cpuPct: 10, cores: 4, load1: 0, load5: 0, load15: 0, memUsedBytes: 1e9, memTotalBytes: 8e9, memPct: 12.5, netRxBytesPerS: 0, netTxBytesPerS: 0, diskFreeBytes: 1e9, rssBytes: 1 };
  const leader = leaderLoop(() => state, (id) => ({ health: health.get(id)!, host, streams: [] }), () => 0, logs);
  const noNode = () => logs.filter((l) => l.includes('no node for'));
  for (const ms of [0, 250, 500]) await leader.at(ms);
  assert.equal(noNode().length, 1, noNode().join('\n'));
  assert.match(noNode()[0]!, /^streams: no node for s's standby: no node can take its standby \(of 3 nodes: .*1 down/);
  health.set('c', 'alive');
  await leader.at(750); // c takes it (proposed; this test's state does not change)
  health.set('c', 'down');
  for (const ms of [1_000, 1_250]) await leader.at(ms);
  assert.equal(noNode().length, 2, 'again after it had found one');
  health.set('b', 'down');
  for (const ms of [1_500, 1_750, 2_000]) await leader.at(ms);
  assert.equal(noNode().length, 3);
  assert.match(noNode()[2]!, /^streams: no node for s: .*no node can take it \(of 3 nodes: /);
});
