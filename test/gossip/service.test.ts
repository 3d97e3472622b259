import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { everyFixedRate } from '../../node/gossip/clock.ts';
import type { Transition } from '../../node/gossip/membership.ts';
import { encodeReport } from '../../node/gossip/report.ts';
import type { HostFigures, StreamFigures } from '../../node/gossip/report.ts';
import type { Sampler } from '../../node/gossip/sampler.ts';
import { TelemetryGossip, defaultTelemetryTopic } from '../../node/gossip/service.ts';
import { FakeClock, FakePubSubNetwork, makeReport } from './fixtures.ts';

const figures: HostFigures = {
  cpuPct: 10, load1: 1, load5: 1, load15: 1, memUsedBytes: 100, memTotalBytes: 400, memPct: 25,
  netRxBytesPerS: 5, netTxBytesPerS: 6, diskFreeBytes: 1000, rssBytes: 50,
};
const fixedSampler: Sampler = { sample: async () => figures };

interface Cluster {
  clock: FakeClock;
  network: FakePubSubNetwork;
  nodes: Map<string, TelemetryGossip>;
  transitions: Array<Transition & { seenBy: string }>;
  warnings: string[];
}

function cluster(ids: readonly string[], opts: { sampler?: Sampler; members?: readonly string[] } = {}): Cluster {
  const clock = new FakeClock();
  const network = new FakePubSubNetwork();
  const c: Cluster = { clock, network, nodes: new Map(), transitions: [], warnings: [] };
  for (const id of ids) addNode(c, id, opts);
  return c;
}

function addNode(c: Cluster, id: string, opts: { sampler?: Sampler; members?: readonly string[] } = {}): TelemetryGossip {
  const members = new Set(opts.members ?? ['a', 'b', 'c']);
  const node = new TelemetryGossip(
    { pubsub: c.network.endpoint(id), sampler: opts.sampler ?? fixedSampler, clock: c.clock, isMember: (p) => members.has(p), logger: { warn: (m) => c.warnings.push(`${id}: ${m}`) } },
    { nodeId: id },
  );
  node.setMembers(members);
  node.onTransition((t) => c.transitions.push({ ...t, seenBy: id }));
  c.nodes.set(id, node);
  return node;
}

async function startAll(c: Cluster): Promise<void> {
  for (const node of c.nodes.values()) await node.start();
}

async function stopAll(c: Cluster): Promise<void> {
  for (const node of c.nodes.values()) await node.stop();
}

describe('TelemetryGossip over an in-memory pubsub with a fake clock', () => {
  it('every node holds every report, its own included, with increasing seq', async () => {
    const c = cluster(['a', 'b', 'c']);
    await startAll(c);
    await c.clock.advance(3000);
    for (const node of c.nodes.values()) {
      for (const id of ['a', 'b', 'c']) {
        assert.equal(node.membership.state(id), 'alive');
        const report = node.membership.lastReport(id);
        assert.equal(report?.nodeId, id);
        assert.equal(report?.seq, c.clock.wallBaseMs * 1000 + 3, 'a report at start, then one a second');
        assert.equal(report?.cpuPct, 10);
      }
      assert.equal(node.stats().published, 4);
      assert.equal(node.stats().accepted, 12);
    }
    assert.deepEqual(c.transitions, []);
    await stopAll(c);
  });

  it('a silent node is suspect, then down within 3 s on every other node; a restart brings it back', async () => {
    const c = cluster(['a', 'b', 'c']);
    await startAll(c);
    await c.clock.advance(2000); // c's last report went out at 2000
    c.network.cut('c');
    await c.clock.advance(4000);
    const seen = c.transitions.filter((t) => t.seenBy !== 'c').map((t) => [t.seenBy, t.id, t.to, t.atMs]);
    assert.deepEqual(seen, [['a', 'c', 'suspect', 3500], ['b', 'c', 'suspect', 3500], ['a', 'c', 'down', 4500], ['b', 'c', 'down', 4500]]);
    // c (cut off) sees a and b down in turn: it cannot tell who is cut.
    assert.equal(c.nodes.get('c')?.membership.state('a'), 'down');

    await c.nodes.get('c')?.stop();
    c.network.heal('c');
    c.transitions.length = 0;
    const restarted = addNode(c, 'c'); // a new process: its seq is seeded from a later wall clock
    await restarted.start();
    await c.clock.advance(10);
    assert.deepEqual(c.transitions.filter((t) => t.seenBy !== 'c').map((t) => [t.seenBy, t.id, t.to]), [['a', 'c', 'alive'], ['b', 'c', 'alive']]);
    await stopAll(c);
  });

  it('drops what it must, with a reason, and never crashes', async () => {
    const c = cluster(['a', 'b', 'c'], { members: ['a', 'b'] });
    const a = c.nodes.get('a')!;
    await a.start();
    const signed = (from: string, data: Uint8Array, topic = defaultTelemetryTopic) => ({ type: 'signed' as const, topic, data, from: { toString: () => from } });
    const good = (id: string, seq: number) => encodeReport(makeReport(id, seq));
    c.network.inject('a', { type: 'unsigned', topic: defaultTelemetryTopic, data: good('b', 1) });
    c.network.inject('a', signed('c', good('c', 1))); // not a member
    c.network.inject('a', signed('b', good('x', 1))); // claims another node
    c.network.inject('a', signed('b', new Uint8Array([1, 2, 3])));
    c.network.inject('a', signed('b', good('b', 5)));
    c.network.inject('a', signed('b', good('b', 5))); // duplicate
    c.network.inject('a', signed('a', good('a', 99))); // our own
    c.network.inject('a', signed('b', good('b', 6), 'some/other/topic'));
    await c.clock.advance(10);
    const stats = a.stats();
    assert.deepEqual(stats.dropped, { 'unsigned': 1, 'not-member': 1, 'sender-mismatch': 1, 'invalid': 1, 'stale': 1, 'self': 1 });
    assert.equal(stats.received, 7, 'the other topic is not counted');
    assert.equal(a.membership.lastReport('b')?.seq, 5);
    assert.equal(stats.lastDrop?.reason, 'self');
    await a.stop();
  });

  it('reportNow() during a report in flight sends one more right after it, with the news', async () => {
    let release = (): void => undefined;
    let gated = true;
    const sampler: Sampler = { sample: () => (gated ? new Promise<HostFigures>((resolve) => { release = () => resolve(figures); }) : Promise.resolve(figures)) };
    let status: NonNullable<StreamFigures['status']> = 'starting';
    const clock = new FakeClock();
    const network = new FakePubSubNetwork();
    const a = new TelemetryGossip(
      { pubsub: network.endpoint('a'), sampler, clock, isMember: () => true, streams: () => [{ id: 's', status }] },
      { nodeId: 'a' },
    );
    a.setMembers(['a']);
    await a.start(); // its first report waits for the sampler
    status = 'running';
    a.reportNow();
    a.reportNow();
    gated = false;
    release();
    await clock.advance(10);
    assert.equal(a.stats().published, 2, 'the first report and one follow-up, not one per call');
    assert.equal(a.membership.lastReport('a')?.streams.items[0]?.status, 'running');
    a.reportNow();
    await clock.advance(10);
    assert.equal(a.stats().published, 3, 'none in flight: at once');
    await a.stop();
  });

  it('keeps proving liveness when the sampler hangs or fails', async () => {
    let calls = 0;
    // Answers once, then hangs for good (a statfs stuck on a dead network disk).
    const hanging: Sampler = { sample: () => (++calls === 1 ? Promise.resolve(figures) : new Promise<HostFigures>(() => {})) };
    const c = cluster(['a'], { sampler: hanging, members: ['a', 'b'] });
    addNode(c, 'b', { members: ['a', 'b'] });
    await startAll(c);
    await c.clock.advance(5000);
    const a = c.nodes.get('a')!;
    assert.equal(a.stats().published, 6);
    assert.equal(a.stats().sampleFallbacks, 5);
    assert.equal(calls, 2, 'one sample in flight at a time');
    assert.equal(c.nodes.get('b')?.membership.lastReport('a')?.cpuPct, 10, 'the previous figures');
    assert.deepEqual(c.transitions, []);
    assert.deepEqual(c.warnings, ['a: telemetry: sampling the host took over 500 ms; sending the previous figures']);
    await stopAll(c);

    const failing: Sampler = { sample: async () => { throw new Error('EIO'); } };
    const d = cluster(['a'], { sampler: failing, members: ['a'] });
    await startAll(d);
    await d.clock.advance(3000);
    assert.equal(d.nodes.get('a')?.stats().published, 4);
    assert.equal(d.nodes.get('a')?.membership.lastReport('a')?.cpuPct, 0, 'zeros before any sample succeeded');
    assert.equal(d.warnings.length, 1, `one warning per failure streak: ${d.warnings.join(' | ')}`);
    await stopAll(d);
  });

  it('counts failed publishes, warns once, and keeps its own view alive', async () => {
    const c = cluster(['a'], { members: ['a'] });
    const pubsub = c.network.endpoint('a');
    pubsub.failPublish = true;
    const a = new TelemetryGossip({ pubsub, sampler: fixedSampler, clock: c.clock, isMember: () => true, logger: { warn: (m) => c.warnings.push(m) } }, { nodeId: 'a' });
    a.setMembers(['a']);
    await a.start();
    await c.clock.advance(3000);
    assert.equal(a.stats().publishFailed, 4);
    assert.equal(c.warnings.length, 1);
    assert.equal(a.membership.state('a'), 'alive');
    pubsub.failPublish = false;
    await c.clock.advance(1000);
    assert.match(c.warnings[1] ?? '', /works again/);
    await a.stop();
  });

  it('a 4 s stall of the whole process marks nobody down', async () => {
    const c = cluster(['a', 'b', 'c']);
    await startAll(c);
    await c.clock.advance(2100);
    await c.clock.stall(4000);
    await c.clock.advance(5000);
    assert.deepEqual(c.transitions.filter((t) => t.to === 'down'), []);
    await stopAll(c);
  });

  it('publishes nothing after stop, and unsubscribes', async () => {
    const c = cluster(['a', 'b']);
    await startAll(c);
    await c.clock.advance(1000);
    const a = c.nodes.get('a')!;
    await a.stop();
    await a.stop();
    const published = a.stats().published;
    await c.clock.advance(5000);
    assert.equal(a.stats().published, published);
    assert.equal(c.network.get('a')?.topics.size, 0);
    await stopAll(c);
  });
});

describe('fixed-rate timer', () => {
  it('fires on schedule despite late firings, and skips slots missed by a stall', async () => {
    const clock = new FakeClock();
    const firedAtMs: number[] = [];
    const timer = everyFixedRate(clock, 1000, () => firedAtMs.push(clock.nowMs));
    await clock.advance(2500);
    await clock.stall(2700); // now 5200: the 3000 slot fires late, 4000 and 5000 are skipped
    await clock.advance(1800);
    timer.stop();
    await clock.advance(5000);
    assert.deepEqual(firedAtMs, [1000, 2000, 5200, 6000, 7000]);
    assert.equal(timer.skipped, 2);
  });
});
