// /metrics: Prometheus text with Raft, member, stream and gateway figures, no token needed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { buildServer } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { apply } from '../../node/state/index.ts';
import { FakeApi, nowMs } from './fake-api.ts';

const servers: HttpServer[] = [];
after(() => Promise.all(servers.map((app) => app.close())));

test('GET /metrics shows Raft, members, streams and viewer requests in Prometheus format', async () => {
  const api = new FakeApi('p1', 'alpha');
  api.members.set('p1', { state: 'alive', cpuPct: 12.5, memPct: 40, streams: 1 });
  api.current = apply(api.current, { type: 'CreateStream', atMs: nowMs, stream: {
    id: 'news', name: 'News', sources: [{ url: 'http://h/a.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy',
    serviceId: null, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: nowMs,
  } }).state;
  api.current = apply(api.current, { type: 'AssignStream', atMs: nowMs, streamId: 'news', nodeId: 'p1', base: 0 }).state;
  api.figures.set('p1', [{ id: 'news', status: 'running', cpuPct: 0.4, memBytes: 22e6, outKbps: 900, restarts: 1, lastSegment: 41 }]);
  api.gateway = { cacheSegments: 3, cacheBytes: 3000, cacheHits: 5, cacheMisses: 1, segmentsCopied: 4, bytesCopied: 4000, pollErrors: 0, liveEdgeAgeS: { news: 1.5 } };
  const app = buildServer({ api });
  servers.push(app);
  await app.inject({ method: 'GET', url: '/live/news/index.m3u8' });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /text\/plain/);
  for (const line of [
    'ottmesh_raft_term 7', 'ottmesh_raft_is_leader 1', 'ottmesh_raft_commit_index 12', 'ottmesh_raft_applied_index 11',
    'ottmesh_raft_leader_changes_total 2',
    'ottmesh_node_up{node="p1",name="alpha"} 1', 'ottmesh_node_cpu_percent{node="p1",name="alpha"} 12.5',
    'ottmesh_stream_cpu_percent{stream="news",node="p1"} 0.4', 'ottmesh_stream_bitrate_kbps{stream="news",node="p1"} 900',
    'ottmesh_stream_restarts{stream="news",node="p1"} 1', 'ottmesh_stream_status{stream="news",node="p1",status="running"} 1',
    'ottmesh_stream_last_segment{stream="news",node="p1"} 41', 'ottmesh_gateway_requests_total 1',
    'ottmesh_stream_segment_lateness_seconds{stream="news"} 1.5', 'ottmesh_gateway_cache_hits_total 5',
  ]) assert.ok(res.body.split('\n').includes(line), `missing: ${line}\n${res.body}`);
});

test('GET /api/v1/openapi.json describes the API from the route schemas', async () => {
  const app = buildServer({ api: new FakeApi('p1', 'alpha') });
  servers.push(app);
  const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };
  assert.match(doc.openapi, /^3\./);
  for (const path of ['/api/v1/health', '/api/v1/cluster', '/api/v1/streams', '/api/v1/streams/{id}', '/api/v1/join-tokens', '/api/v1/placement/explain', '/api/v1/nodes/{id}']) {
    assert.ok(doc.paths[path] !== undefined, `${path} documented`);
  }
  assert.ok(doc.paths['/api/v1/streams']?.['post']?.requestBody !== undefined, 'the body schema of POST /api/v1/streams');
});
