// Three real libp2p nodes (tcp + noise + yamux + identify + gossipsub) on loopback: reports
// reach every node and every view sees every member alive. Prints the time for a report to
// reach all nodes (p50/p99) as a test diagnostic.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeReport } from '../../node/gossip/report.ts';
import { HostSampler } from '../../node/gossip/sampler.ts';
import { TelemetryGossip, defaultTelemetryTopic } from '../../node/gossip/service.ts';
import type { PubSubMessage, TelemetryPubSub } from '../../node/gossip/pubsub.ts';

const nodeCount = 3;
const reportIntervalMs = 100;
const reportsMeasured = 25; // per node
const meshTimeoutMs = 10_000;

async function makeNode() {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
  });
}
type Node = Awaited<ReturnType<typeof makeNode>>;

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs`. */
async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

describe('TelemetryGossip over real gossipsub (3 nodes on loopback)', () => {
  const nodes: Node[] = [];
  const gossips: TelemetryGossip[] = [];
  let dataDir = '';

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ottmesh-gossip-'));
    for (let i = 0; i < nodeCount; i++) nodes.push(await makeNode());
    for (const [i, a] of nodes.entries()) {
      for (const b of nodes.slice(i + 1)) await a.dial(b.getMultiaddrs(), { signal: AbortSignal.timeout(5000) });
    }
  });

  after(async () => {
    for (const g of gossips) await g.stop();
    for (const n of nodes) await n.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reports reach every node; every view sees every member alive', async (t) => {
    const ids = nodes.map((n) => n.peerId.toString());
    const publishedAtMs = new Map<string, number>(); // `${nodeId}/${seq}` -> when published
    const arrivedAtMs = new Map<string, number[]>();
    for (const node of nodes) {
      const pubsub: TelemetryPubSub = node.services.pubsub; // the real gossipsub fits the narrow interface
      const timed: TelemetryPubSub = {
        subscribe: (topic) => pubsub.subscribe(topic),
        unsubscribe: (topic) => pubsub.unsubscribe(topic),
        addEventListener: (type, listener) => pubsub.addEventListener(type, listener),
        removeEventListener: (type, listener) => pubsub.removeEventListener(type, listener),
        publish: (topic, data) => {
          const decoded = decodeReport(data);
          if (decoded.ok) publishedAtMs.set(`${decoded.report.nodeId}/${decoded.report.seq}`, performance.now());
          return pubsub.publish(topic, data);
        },
      };
      pubsub.addEventListener('message', (event: CustomEvent<PubSubMessage>) => {
        const decoded = decodeReport(event.detail.data);
        if (!decoded.ok) return;
        const key = `${decoded.report.nodeId}/${decoded.report.seq}`;
        arrivedAtMs.set(key, [...(arrivedAtMs.get(key) ?? []), performance.now()]);
      });
      const gossip = new TelemetryGossip(
        { pubsub: timed, sampler: new HostSampler({ dataDir }), isMember: (p) => ids.includes(p) },
        { nodeId: node.peerId.toString(), reportIntervalMs },
      );
      gossip.setMembers(ids);
      gossips.push(gossip);
    }
    const meshStartMs = performance.now();
    for (const g of gossips) await g.start();
    await waitFor('every node to subscribe to every other', meshTimeoutMs, () =>
      nodes.every((n) => n.services.pubsub.getSubscribers(defaultTelemetryTopic).length === nodeCount - 1));
    await waitFor('every node to hold a report from every node', meshTimeoutMs, () =>
      gossips.every((g) => ids.every((id) => g.membership.lastReport(id) !== undefined)));
    const meshMs = performance.now() - meshStartMs;

    // Measure reports published once the mesh is up.
    const firstKeys = new Set(publishedAtMs.keys());
    await waitFor(`${reportsMeasured} reports from each node`, meshTimeoutMs + reportsMeasured * reportIntervalMs * 2, () =>
      [...publishedAtMs.keys()].filter((k) => !firstKeys.has(k)).length >= reportsMeasured * nodeCount);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the last ones in flight
    const reachAllMs: number[] = [];
    for (const [key, sentMs] of publishedAtMs) {
      if (firstKeys.has(key)) continue;
      const arrivals = arrivedAtMs.get(key) ?? [];
      if (arrivals.length === nodeCount - 1) reachAllMs.push(Math.max(...arrivals) - sentMs);
    }
    reachAllMs.sort((a, b) => a - b);
    assert.ok(reachAllMs.length >= reportsMeasured * nodeCount * 0.9, `${reachAllMs.length} reports reached every node`);
    for (const g of gossips) {
      assert.deepEqual(g.membership.snapshot().map((m) => m.state), ids.map(() => 'alive'));
      assert.equal(g.stats().publishFailed, 0);
      assert.equal(Object.values(g.stats().dropped).reduce((a, b) => a + b, 0), 0);
    }
    const fmt = (ms: number) => ms.toFixed(2);
    t.diagnostic(`mesh and first reports in ${fmt(meshMs)} ms; report reached all ${nodeCount} nodes over ${reachAllMs.length} reports: ` +
      `p50 ${fmt(percentile(reachAllMs, 50))} ms, p99 ${fmt(percentile(reachAllMs, 99))} ms, max ${fmt(reachAllMs.at(-1) ?? Number.NaN)} ms`);
  });
});
