// One node of the gossip bench, in its own process so its cpu and memory are its own: a libp2p
// host (tcp + noise + yamux + identify + gossipsub), with or without TelemetryGossip. Driven by
// JSON lines on stdin; answers with JSON lines on stdout. See gossip-bench.ts.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { decodeReport } from '../../node/gossip/report.ts';
import { HostSampler } from '../../node/gossip/sampler.ts';
import { TelemetryGossip } from '../../node/gossip/service.ts';
import type { PubSubMessage, TelemetryPubSub } from '../../node/gossip/pubsub.ts';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, 'gossip': { type: 'boolean', default: false } } });
const dataDir = values['data-dir'] ?? process.cwd();
const wallNowMs = (): number => performance.timeOrigin + performance.now();
const send = (msg: object): void => { process.stdout.write(`${JSON.stringify(msg)}\n`); };

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
});
const pubsub: TelemetryPubSub = node.services.pubsub;
const published: Array<[string, number]> = [];
const arrived: Array<[string, number]> = [];
const keyOf = (data: Uint8Array): string | null => {
  const decoded = decodeReport(data);
  return decoded.ok ? `${decoded.report.nodeId}/${decoded.report.seq}` : null;
};
pubsub.addEventListener('message', (event: CustomEvent<PubSubMessage>) => {
  const key = keyOf(event.detail.data);
  if (key !== null) arrived.push([key, wallNowMs()]);
});
const timed: TelemetryPubSub = {
  subscribe: (t) => pubsub.subscribe(t),
  unsubscribe: (t) => pubsub.unsubscribe(t),
  addEventListener: (t, l) => pubsub.addEventListener(t, l),
  removeEventListener: (t, l) => pubsub.removeEventListener(t, l),
  publish: (t, data) => {
    const key = keyOf(data);
    if (key !== null) published.push([key, wallNowMs()]);
    return pubsub.publish(t, data);
  },
};
let gossip: TelemetryGossip | null = null;
let downs = 0;
let suspects = 0;
let measure: { cpu: NodeJS.CpuUsage; atMs: number; rssMaxBytes: number } | null = null;
const rssTimer = setInterval(() => { if (measure) measure.rssMaxBytes = Math.max(measure.rssMaxBytes, process.memoryUsage.rss()); }, 1000);

send({ type: 'ready', id: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) });

for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { type: string; addrs?: string[]; ids?: string[] };
  if (msg.type === 'peers') {
    for (const addr of msg.addrs ?? []) await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(5000) });
    if (values.gossip) {
      const ids = new Set(msg.ids ?? []);
      gossip = new TelemetryGossip({ pubsub: timed, sampler: new HostSampler({ dataDir }), isMember: (p) => ids.has(p) }, { nodeId: node.peerId.toString() });
      gossip.setMembers(ids);
      gossip.onTransition((t) => {
        if (t.to === 'down') downs++;
        if (t.to === 'suspect') suspects++;
        send({ type: 'transition', id: t.id, to: t.to, atMs: wallNowMs() });
      });
      await gossip.start();
    }
    send({ type: 'started' });
  } else if (msg.type === 'measure') {
    measure = { cpu: process.cpuUsage(), atMs: performance.now(), rssMaxBytes: process.memoryUsage.rss() };
  } else if (msg.type === 'result') {
    const elapsedMs = measure === null ? 0 : performance.now() - measure.atMs;
    const cpu = measure === null ? { user: 0, system: 0 } : process.cpuUsage(measure.cpu);
    const states = gossip?.membership.snapshot().map((m) => m.state) ?? [];
    send({
      type: 'result', elapsedMs, cpuPct: elapsedMs > 0 ? ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100 : 0,
      rssBytes: process.memoryUsage.rss(), rssMaxBytes: measure?.rssMaxBytes ?? 0, states, downs, suspects, stats: gossip?.stats() ?? null, published, arrived,
    });
  } else if (msg.type === 'exit') {
    await gossip?.stop();
    await node.stop();
    clearInterval(rssTimer);
    break;
  }
}
