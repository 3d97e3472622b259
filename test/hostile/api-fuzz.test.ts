// Schema-driven fuzzing of every route of the in-process node (route-fuzz.ts): the routes are
// the ones the app registered, so a new route is fuzzed without touching this file. A fixed
// seed and budget here; `npm run hostile -- --iterations N --seed S` runs longer.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { hostileApp } from './hostile-app.ts';
import { blockOutgoing } from './no-network.ts';
import { fuzzRoutes } from './route-fuzz.ts';
import { bearer } from '../http/team.ts';

/** Requests per route (method and URL) in `npm test`. */
const casesPerRoute = 24;
const seed = Number(process.env['OTTMESH_HOSTILE_SEED'] ?? 20250601);

/** Routes that take a body without a body schema, on purpose: each parses it itself or takes none. */
const bodyWithoutSchema = new Set([
  'POST /api/v1/nodes/:id/:action (no body schema)', // the action is in the URL; no body
  'POST /api/v1/logout (no body schema)', // no body
  'POST /api/v1/import/m3u (no body schema)', // the playlist as text, parsed and bounded by m3u.ts
  'POST /player_api.php (no body schema)', // Xtream form fields, read like the query
  'PUT /api/v1/upgrade/executable (no body schema)', // the executable's bytes, streamed and bounded
]);

test('every route, fuzzed from its own schema: no 5xx, no hang, refusals with a message, refused requests change nothing', { timeout: 120_000 }, async (t) => {
  const guard = blockOutgoing();
  const baseline = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const h = await hostileApp();
  try {
    const report = await fuzzRoutes(h, { seed, casesPerRoute });
    const failures = report.findings.slice(0, 15).map((f) => `${f.route}\n    ${f.request}\n    ${f.problem}`).join('\n');
    assert.equal(report.findings.length, 0, `seed ${seed} (replay: OTTMESH_HOSTILE_SEED=${seed} node --test ${import.meta.filename}):\n${failures}`);
    assert.ok(report.routes >= 130, `routes found: ${report.routes}`);
    assert.equal(report.cases, report.routes * casesPerRoute);
    assert.deepEqual(report.unschematized.filter((r) => !bodyWithoutSchema.has(r)), [], 'routes without a schema for their input: add one (node/http/routes)');
    assert.ok(report.accepted > report.cases / 10, `valid requests reached the handlers: ${report.accepted}`);
    t.diagnostic(`seed ${seed}: ${report.routes} routes, ${report.cases} requests in ${report.ms} ms; answers ${Object.entries(report.statuses).map(([s, n]) => `${s}×${n}`).join(' ')}; ` +
      `${guard.refused.length} outgoing connections blocked (SSH installs to fuzzed hosts)`);
    t.diagnostic(`slowest: ${report.slowest.join('; ')}`);
  } finally {
    await h.close();
    guard.restore();
  }
  // Nothing left running: streams closed, event-stream timers stopped, limiter timers cleared.
  const left = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.ok(left <= baseline, `timers left running after close: ${left} (before: ${baseline})`);
});

test('regression: placement explain while members have not reported their host yet: 200, score null (was a 500: a NaN score failed serialization)', async () => {
  const h = await hostileApp();
  try {
    // hostileApp's members have sent no gossip report: no host figures, as right after a start.
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/placement/explain?stream=news', headers: bearer('admin') });
    assert.equal(res.statusCode, 200, res.body);
    const nodes = (res.json() as { nodes: { nodeId: string; score: number | null }[] }).nodes;
    assert.equal(nodes.find((n) => n.nodeId === 'p1')?.score, null);
  } finally {
    await h.close();
  }
});

test('every /api/v1 route: no credentials is 401, a read-only account writing is 403, before the body is even parsed', { timeout: 60_000 }, async () => {
  const h = await hostileApp();
  try {
    const routes = h.routes.filter((r) => r.url.startsWith('/api/v1/') && r.config?.public !== true && r.method !== 'OPTIONS');
    assert.ok(routes.length >= 80, `api routes: ${routes.length}`);
    for (const r of routes) {
      const url = r.url.replace(/:[A-Za-z]+/g, 'news');
      const before = h.api.current;
      const payload = ['GET', 'HEAD'].includes(r.method) ? {} : { payload: '{not json', headers: { 'content-type': 'application/json' } };
      const anonymous = await h.app.inject({ method: r.method as 'GET', url, ...payload });
      assert.equal(anonymous.statusCode, 401, `${r.method} ${r.url} without credentials: ${anonymous.body}`);
      if (r.method !== 'HEAD') assert.match(anonymous.json().message, /API token|log in/, `${r.method} ${r.url}`);
      if (!['GET', 'HEAD'].includes(r.method)) {
        const readOnly = await h.app.inject({ method: r.method as 'POST', url, payload: '{not json', headers: { ...bearer('read-only'), 'content-type': 'application/json' } });
        assert.equal(readOnly.statusCode, 403, `${r.method} ${r.url} as read-only: ${readOnly.body}`);
        assert.match(readOnly.json().message, /needs the (operator|admin) role \(you are read-only\)/);
      }
      assert.equal(h.api.current, before);
    }
  } finally {
    await h.close();
  }
});
