// The leader's per-stream decisions, step by step through a failover, a drain, a hot standby,
// and the wait for gateways before a switch.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { GatewayFigures, StreamFigures } from '../../node/gossip/report.ts';
import { decideStreams } from '../../node/leader/stream-decisions.ts';
import type { StreamsView } from '../../node/leader/stream-decisions.ts';
import { apply, emptyState } from '../../node/state/index.ts';
import type { ClusterState, Command, NodeRecord, Policy, StreamRecord } from '../../node/state/index.ts';

const policy: Policy = { strategy: 'spread', groups: [], cpuCeilPct: 85, memCeilPct: 90, maxStreamsPerNode: 0, stickiness: 0.1, rebalanceMovesPerMin: 6, hotStandby: false };
const node = (id: string): NodeRecord => ({ id, name: id, groups: [], addrs: [], httpUrl: `http://${id}`, enabled: true, joinedAtMs: 0 });
const stream = (id: string, over: Partial<StreamRecord> = {}): StreamRecord => ({
  id, name: id, sources: [{ url: 'http://h/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy',
  serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: 0, ...over,
});

class World {
  state: ClusterState;
  nowMs = 1000;
  down = new Set<string>();
  workers = new Map<string, StreamFigures>(); // `${node}/${stream}`
  gateways = new Map<string, GatewayFigures>(); // node -> figures for stream 's'
  sealSeen: number | null = null;
  standby = false;
  moveTo: string | null = null;
  activeNotRunningMs = 0;
  constructor() {
    const init = apply(emptyState(), {
      type: 'InitCluster', atMs: 0, clusterId: 'c', node: node('a'),
      admin: { name: 'admin', passwordHash: 'x', role: 'admin' }, adminToken: { id: 't', secretHash: '0'.repeat(64), user: 'admin', role: 'admin', createdAtMs: 0 },
    });
    this.state = { ...init.state, nodes: { a: node('a'), b: node('b'), c: node('c') } };
    this.run({ type: 'CreateStream', atMs: 0, stream: stream('s') });
  }
  run(c: Command): void {
    const r = apply(this.state, c);
    assert.deepEqual(r.result, { ok: true }, c.type);
    this.state = r.state;
  }
  view(): StreamsView {
    return {
      state: this.state, nowMs: this.nowMs,
      health: (id) => (this.down.has(id) ? 'down' : 'alive'),
      workerFigures: (id, s) => this.workers.get(`${id}/${s}`),
      gatewayFigures: () => Object.keys(this.state.nodes).filter((id) => !this.down.has(id)).map((id) => ({ nodeId: id, figures: this.gateways.get(id) })),
      activeNotRunningMs: () => this.activeNotRunningMs,
      sealSeenAtMs: () => this.sealSeen,
      policy: () => ({ ...policy, hotStandby: this.standby }),
      moveTarget: () => this.moveTo,
      // Placement stand-in: the first alive, enabled, not excluded node by id.
      choose: (_s, exclude) => Object.keys(this.state.nodes).sort().find((id) => !exclude.has(id) && !this.down.has(id) && this.state.nodes[id]!.enabled && !(this.state.nodeAdmin[id]?.draining ?? false)) ?? null,
    };
  }
  /** One round; applies what it decided and returns the command types. */
  step(): string[] {
    const commands = decideStreams(this.view());
    for (const c of commands) this.run(c);
    return commands.map((c) => c.type);
  }
}

/** The second worker's node (a function, so TypeScript does not narrow across steps). */
function nextNode(w: World): string | null {
  return w.state.assignments['s']?.next?.nodeId ?? null;
}

test('an unplaced stream gets a worker; a healthy one is left alone', () => {
  const w = new World();
  assert.deepEqual(w.step(), ['AssignStream']);
  assert.deepEqual({ node: w.state.assignments['s']?.nodeId, epoch: w.state.assignments['s']?.epoch, base: w.state.assignments['s']?.base }, { node: 'a', epoch: 1, base: 0 });
  assert.deepEqual(w.step(), []);
});

test('failover: start a new worker, seal, switch when it has a segment and every gateway reported', () => {
  const w = new World();
  w.step();
  w.down.add('a');
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), 'b');
  assert.deepEqual(w.step(), ['SealStream']);
  assert.deepEqual(w.step(), [], 'waits for the new worker\'s first segment');
  w.workers.set('b/s', { id: 's', status: 'running', lastSegment: 0 });
  w.sealSeen = w.nowMs;
  w.gateways.set('b', { id: 's', epoch: 1, lastPublished: 41, sealed: true });
  assert.deepEqual(w.step(), [], 'gateway c has not reported the seal yet');
  w.gateways.set('c', { id: 's', epoch: 1, lastPublished: 40, sealed: true });
  assert.deepEqual(w.step(), ['SwitchStream']);
  assert.deepEqual({ node: w.state.assignments['s']?.nodeId, epoch: w.state.assignments['s']?.epoch, base: w.state.assignments['s']?.base }, { node: 'b', epoch: 2, base: 42 });
});

test('a gateway that never reports delays the switch only for sealWaitMs', () => {
  const w = new World();
  w.step();
  w.down.add('a');
  w.step(); w.step();
  w.workers.set('b/s', { id: 's', status: 'running', lastSegment: 3 });
  w.gateways.set('b', { id: 's', epoch: 1, lastPublished: 9, sealed: true });
  w.sealSeen = w.nowMs;
  assert.deepEqual(w.step(), []);
  w.nowMs += 3000;
  assert.deepEqual(w.step(), [], 'a gateway may hold its 3 s lease until then');
  w.nowMs += 1000;
  assert.deepEqual(w.step(), ['SwitchStream']);
  assert.equal(w.state.assignments['s']?.base, 10);
  assert.equal(w.state.assignments['s']?.firstIndex, 3, "the new worker's newest segment is published as the base");
});

test('drain: make-before-break (start the new worker, seal only once it is ready, then switch)', () => {
  const w = new World();
  w.step();
  w.run({ type: 'SetNodeAdmin', atMs: 0, id: 'a', draining: true });
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.deepEqual(w.step(), [], 'the old worker keeps publishing until the new one is ready');
  assert.equal(w.state.assignments['s']?.sealed, false);
  w.workers.set('b/s', { id: 's', status: 'running', lastSegment: 0 });
  assert.deepEqual(w.step(), ['SealStream']);
  for (const id of ['a', 'b', 'c']) w.gateways.set(id, { id: 's', epoch: 1, lastPublished: 5, sealed: true });
  assert.deepEqual(w.step(), ['SwitchStream']);
  assert.equal(w.state.assignments['s']?.nodeId, 'b');
  assert.deepEqual(w.step(), []);
});

test('hot standby: kept on another node, replaced when its node dies, dropped when the policy says so', () => {
  const w = new World();
  w.standby = true;
  w.step();
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), 'b');
  w.down.add('b');
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), 'c', 'replaced in one command');
  w.down.add('a');
  w.down.add('c');
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), null, 'dropped when no node is left for it');
  w.down.clear();
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), 'b');
  w.standby = false;
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), null);
});

test('a partition takes the active worker and its standby together: the new worker starts first, then the seal', () => {
  const w = new World();
  w.standby = true;
  w.step();
  w.step();
  assert.deepEqual([w.state.assignments['s']?.nodeId, nextNode(w)], ['a', 'b']);
  w.down.add('a');
  w.down.add('b');
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), 'c', 'its ffmpeg starts at once');
  assert.deepEqual(w.step(), ['SealStream']);
  assert.deepEqual(w.step(), [], "waits for the new worker's first segment");
  w.workers.set('c/s', { id: 's', status: 'running', lastSegment: 0 });
  w.gateways.set('c', { id: 's', epoch: 1, lastPublished: 20, sealed: true });
  assert.deepEqual(w.step(), ['SwitchStream']);
  assert.deepEqual([w.state.assignments['s']?.nodeId, w.state.assignments['s']?.base], ['c', 21]);
});

test('an active ffmpeg not running for failoverAfterMs with a ready standby: seal and switch to the standby', () => {
  const w = new World();
  w.standby = true;
  w.step();
  w.step();
  assert.equal(nextNode(w), 'b');
  w.activeNotRunningMs = 1_400;
  w.workers.set('b/s', { id: 's', status: 'running', lastSegment: 30 });
  assert.deepEqual(w.step(), [], 'not yet');
  w.activeNotRunningMs = 1_500;
  w.workers.set('b/s', { id: 's', status: 'starting' });
  assert.deepEqual(w.step(), [], 'the standby is not ready either (the source is down for both): stay');
  w.workers.set('b/s', { id: 's', status: 'running', lastSegment: 30 });
  assert.deepEqual(w.step(), ['SealStream']);
  w.activeNotRunningMs = 0; // back meanwhile: a sealed epoch is switched all the same
  for (const id of ['a', 'b', 'c']) w.gateways.set(id, { id: 's', epoch: 1, lastPublished: 12, sealed: true });
  assert.deepEqual(w.step(), ['SwitchStream']);
  assert.deepEqual({ node: w.state.assignments['s']?.nodeId, base: w.state.assignments['s']?.base, firstIndex: w.state.assignments['s']?.firstIndex }, { node: 'b', base: 13, firstIndex: 30 });
  const alone = new World();
  alone.step();
  alone.activeNotRunningMs = 60_000;
  assert.deepEqual(alone.step(), [], 'without a standby nothing moves: the supervisor restarts ffmpeg where it is');
});

test('a lost worker with no node to replace it: its epoch is sealed all the same', () => {
  const w = new World();
  w.step();
  w.down.add('a');
  w.down.add('b');
  w.down.add('c');
  assert.deepEqual(w.step(), ['SealStream']);
  assert.deepEqual(w.step(), []);
  w.down.delete('c');
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), 'c');
});

test('a disabled stream loses its worker', () => {
  const w = new World();
  w.step();
  w.run({ type: 'UpdateStream', atMs: 0, stream: stream('s', { enabled: false }) });
  assert.deepEqual(w.step(), ['UnassignStream']);
  assert.deepEqual(w.state.assignments, {});
});

test('a rebalancing move goes to its target, make-before-break, like a drain', () => {
  const w = new World();
  w.step();
  w.moveTo = 'c';
  assert.deepEqual(w.step(), ['SetNextWorker']);
  assert.equal(nextNode(w), 'c', 'the move target, not what placement would pick (b)');
  assert.deepEqual(w.step(), []);
  w.workers.set('c/s', { id: 's', status: 'running', lastSegment: 1 });
  assert.deepEqual(w.step(), ['SealStream']);
  for (const id of ['a', 'b', 'c']) w.gateways.set(id, { id: 's', epoch: 1, lastPublished: 7, sealed: true });
  assert.deepEqual(w.step(), ['SwitchStream']);
  assert.deepEqual([w.state.assignments['s']?.nodeId, w.state.assignments['s']?.base, w.state.assignments['s']?.firstIndex], ['c', 8, 1]);
});
