// GET /metrics: Prometheus text format (prom-client), read when scraped: this node's Raft view
// (term, commit and applied index, role, leader changes), every member's load as gossip reports
// it, every stream's figures from its worker, and this node's HLS gateway (cache and copies).
// No API token, as Prometheus scrapes expect; it shows load figures and stream ids, no secrets.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Registry } from 'prom-client';

import type { ClusterApi } from '../service.ts';

/** Counters this node keeps itself (monotonic since start). */
export interface NodeCounters {
  readonly leaderChanges: number;
  readonly gateway: {
    readonly cacheSegments: number;
    readonly cacheBytes: number;
    readonly cacheHits: number;
    readonly cacheMisses: number;
    readonly segmentsCopied: number;
    readonly bytesCopied: number;
    readonly pollErrors: number;
    /** Per stream: seconds since its newest segment here ended, by its program date-time. */
    readonly liveEdgeAgeS: Readonly<Record<string, number>>;
  } | null;
}

const streamStatuses = ['starting', 'running', 'restarting', 'failed', 'stopped'] as const;

const metricsPlugin: FastifyPluginAsync<{ api: ClusterApi }> = async (app, { api }) => {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); collect(this); } });
  const counterFrom = (name: string, help: string, read: () => number) => {
    // A counter set from a monotonic source on scrape (prom-client counters only go up).
    let last = 0;
    return new Counter({ name, help, registers: [registry], collect() {
      const now = read();
      if (now > last) this.inc(now - last);
      last = Math.max(last, now);
    } });
  };
  let liveRequests = 0;
  let liveBytes = 0;
  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/live/')) return;
    liveRequests++;
    const length = Number(reply.getHeader('content-length') ?? 0);
    if (Number.isFinite(length)) liveBytes += length;
  });

  gauge('ottmesh_raft_term', 'Raft term as this node sees it', [], (g) => g.set(api.raftStatus().term));
  gauge('ottmesh_raft_is_leader', '1 on the leader', [], (g) => g.set(api.raftStatus().role === 'leader' ? 1 : 0));
  gauge('ottmesh_raft_commit_index', 'Raft commit index on this node', [], (g) => g.set(api.raftCounters().commit));
  gauge('ottmesh_raft_applied_index', 'Raft applied index on this node', [], (g) => g.set(api.raftCounters().applied));
  counterFrom('ottmesh_raft_leader_changes_total', 'Leader changes this node has seen since it started', () => api.nodeCounters().leaderChanges);

  const members = () => Object.values(api.state().nodes).map((n) => ({ node: n, m: api.memberFigures(n.id) }));
  gauge('ottmesh_node_up', '1 when gossip says the member is alive', ['node', 'name'], (g) => {
    for (const { node, m } of members()) g.set({ node: node.id, name: node.name }, m.health === 'alive' ? 1 : 0);
  });
  gauge('ottmesh_node_cpu_percent', 'Member CPU use, % of the whole machine', ['node', 'name'], (g) => {
    for (const { node, m } of members()) if (m.host !== null) g.set({ node: node.id, name: node.name }, m.host.cpuPct);
  });
  gauge('ottmesh_node_memory_percent', 'Member memory use, %', ['node', 'name'], (g) => {
    for (const { node, m } of members()) if (m.host !== null) g.set({ node: node.id, name: node.name }, m.host.memPct);
  });
  gauge('ottmesh_node_network_bytes_per_second', 'Member network rate', ['node', 'name', 'direction'], (g) => {
    for (const { node, m } of members()) {
      if (m.host === null) continue;
      g.set({ node: node.id, name: node.name, direction: 'rx' }, m.host.netRxBytesPerS);
      g.set({ node: node.id, name: node.name, direction: 'tx' }, m.host.netTxBytesPerS);
    }
  });

  /** Every stream's figures from the worker its assignment names. */
  const streams = () => {
    const state = api.state();
    return Object.values(state.assignments).flatMap((a) => {
      const f = api.memberFigures(a.nodeId).streams.find((s) => s.id === a.streamId);
      return f === undefined ? [] : [{ stream: a.streamId, node: a.nodeId, f }];
    });
  };
  gauge('ottmesh_stream_cpu_percent', "Stream's ffmpeg CPU, % of one core", ['stream', 'node'], (g) => {
    for (const { stream, node, f } of streams()) if (f.cpuPct !== undefined) g.set({ stream, node }, f.cpuPct);
  });
  gauge('ottmesh_stream_memory_bytes', "Stream's ffmpeg resident memory", ['stream', 'node'], (g) => {
    for (const { stream, node, f } of streams()) if (f.memBytes !== undefined) g.set({ stream, node }, f.memBytes);
  });
  gauge('ottmesh_stream_bitrate_kbps', 'Stream output bitrate', ['stream', 'node'], (g) => {
    for (const { stream, node, f } of streams()) if (f.outKbps !== undefined) g.set({ stream, node }, f.outKbps);
  });
  gauge('ottmesh_stream_restarts', "Restarts of the stream's ffmpeg in its current epoch", ['stream', 'node'], (g) => {
    for (const { stream, node, f } of streams()) g.set({ stream, node }, f.restarts ?? 0);
  });
  gauge('ottmesh_stream_status', '1 for the status the worker reports', ['stream', 'node', 'status'], (g) => {
    for (const { stream, node, f } of streams()) for (const s of streamStatuses) g.set({ stream, node, status: s }, f.status === s ? 1 : 0);
  });
  gauge('ottmesh_stream_segment_lateness_seconds', "Seconds since the stream's newest segment on this node's gateway ended (by its program date-time): stays under about a segment's length while the stream is healthy", ['stream'], (g) => {
    for (const [stream, ageS] of Object.entries(api.nodeCounters().gateway?.liveEdgeAgeS ?? {})) g.set({ stream }, ageS);
  });
  gauge('ottmesh_stream_last_segment', "The worker's newest complete segment (its own index)", ['stream', 'node'], (g) => {
    for (const { stream, node, f } of streams()) if (f.lastSegment !== undefined) g.set({ stream, node }, f.lastSegment);
  });

  const gw = () => api.nodeCounters().gateway;
  counterFrom('ottmesh_gateway_requests_total', 'Viewer requests under /live on this node', () => liveRequests);
  counterFrom('ottmesh_gateway_response_bytes_total', 'Bytes answered under /live on this node (by Content-Length)', () => liveBytes);
  counterFrom('ottmesh_gateway_cache_hits_total', 'Segment cache hits', () => gw()?.cacheHits ?? 0);
  counterFrom('ottmesh_gateway_cache_misses_total', 'Segment cache misses', () => gw()?.cacheMisses ?? 0);
  counterFrom('ottmesh_gateway_segments_copied_total', 'Segments copied from workers', () => gw()?.segmentsCopied ?? 0);
  counterFrom('ottmesh_gateway_poll_errors_total', 'Failed polls of worker playlists', () => gw()?.pollErrors ?? 0);
  gauge('ottmesh_gateway_cache_bytes', 'Bytes in the segment cache', [], (g) => g.set(gw()?.cacheBytes ?? 0));
  gauge('ottmesh_gateway_cache_segments', 'Segments in the segment cache', [], (g) => g.set(gw()?.cacheSegments ?? 0));

  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(text);
  });
};

/** Not encapsulated (fastify-plugin): its onResponse hook counts the gateway's routes too. */
export const metricsRoutes = fp(metricsPlugin, { name: 'ottmesh-metrics' });
