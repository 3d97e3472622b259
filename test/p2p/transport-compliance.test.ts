// One set of Transport cases, run against the in-memory transport and the libp2p one.
import { after } from 'node:test';
import { MemoryNetwork, MemoryTransport } from '../../consensus/adapters/memory-transport.ts';
import type { NodeId } from '../../consensus/core/types.ts';
import type { P2pHost } from '../../node/p2p/host.ts';
import { silentLogger } from '../../node/p2p/logger.ts';
import { Libp2pRaftTransport } from '../../node/p2p/raft-transport.ts';
import { startCluster, stopAll, strangerId } from './helpers.ts';
import type { Endpoint, TransportFixture } from './transport-compliance.ts';
import { recorder, transportComplianceSuite } from './transport-compliance.ts';

async function startEndpoint(transport: Endpoint['transport']): Promise<Endpoint> {
  const rec = recorder();
  await transport.start(rec);
  return { transport, rec };
}

transportComplianceSuite('memory', async (): Promise<TransportFixture> => {
  const network = new MemoryNetwork();
  const started: Endpoint[] = [];
  return {
    ids: ['a', 'b', 'c'],
    unknownId: 'nobody',
    start: async (id, init) => {
      const transport = new MemoryTransport({ network }, init?.maxQueuedMessagesPerPeer === undefined ? { id } : { id, maxQueuedMessagesPerPeer: init.maxQueuedMessagesPerPeer });
      const endpoint = await startEndpoint(transport);
      started.push(endpoint);
      return endpoint;
    },
    close: async () => {
      await Promise.all(started.map((e) => e.transport.stop()));
    },
  };
});

// Hosts are expensive (a second or so for three): one cluster serves every libp2p case, each case
// with fresh transports.
let cluster: Promise<Awaited<ReturnType<typeof startCluster>>> | null = null;
after(async () => {
  if (cluster !== null) await stopAll((await cluster).hosts);
});

transportComplianceSuite('libp2p', async (): Promise<TransportFixture> => {
  cluster ??= startCluster(3);
  const { hosts, membership } = await cluster;
  const byId = new Map<NodeId, P2pHost>(hosts.map((h) => [h.peerId, h]));
  const started: Endpoint[] = [];
  return {
    ids: hosts.map((h) => h.peerId),
    unknownId: await strangerId(),
    start: async (id, init) => {
      const host = byId.get(id);
      if (host === undefined) throw new Error(`no host ${id}`);
      const transport = new Libp2pRaftTransport({ host, addrsOf: membership.addrsOf, logger: silentLogger }, {
        minReconnectBackoffMs: 10,
        maxReconnectBackoffMs: 100,
        ...(init?.maxQueuedMessagesPerPeer === undefined ? {} : { maxQueuedMessagesPerPeer: init.maxQueuedMessagesPerPeer }),
      });
      const endpoint = await startEndpoint(transport);
      started.push(endpoint);
      return endpoint;
    },
    close: async () => {
      await Promise.all(started.map((e) => e.transport.stop()));
    },
  };
});
