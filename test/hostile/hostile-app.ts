// The in-process node the hostile tests attack: buildServer() with the IPTV parts, then the
// routes the runtime adds (the HLS gateway, the floating address, rolling upgrades), as
// node/runtime.ts wires them, over a FakeApi whose propose() encodes every command the way the
// real node does first (encodeCommand: a command that would not go into the Raft log fails there,
// which the fake alone would not show). The state holds one user per role with API tokens, two
// services (one signing viewer URLs), streams, viewer lines and a join token. Every route is
// recorded as it is registered (onRoute), so the fuzzer covers whatever is added later.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { RouteOptions } from 'fastify';

import { hashPassword } from '../../node/auth/index.ts';
import { hlsRoutes } from '../../node/hls/routes.ts';
import type { HlsSource, TimelineReader } from '../../node/hls/routes.ts';
import { SegmentCache } from '../../node/hls/segment-cache.ts';
import { TsRelayHub } from '../../node/hls/ts-relay.ts';
import { ViewerRegistry } from '../../node/hls/viewers.ts';
import { buildServer } from '../../node/http/index.ts';
import type { HttpServer, HttpServerInit } from '../../node/http/index.ts';
import { upgradeRoutes } from '../../node/http/routes/upgrade.ts';
import { defaultHls, encodeCommand, hlsOf } from '../../node/state/index.ts';
import type { Actor, ApplyResult, ClusterState, Command, StreamRecord } from '../../node/state/index.ts';
import { buildProbeArgs } from '../../node/supervisor/index.ts';
import { upgradeParts } from '../../node/upgrade/index.ts';
import type { UpgradeNode } from '../../node/upgrade/host.ts';
import { floatingAddressRoutes } from '../../node/vip/service.ts';
import { nowMs } from '../http/fake-api.ts';
import type { FakeApi } from '../http/fake-api.ts';
import { applied, teamApi } from '../http/team.ts';

/** The viewer lines' password (lines take A-Z a-z 0-9 . _ ~ ! * @ = -). */
export const linePassword = 'line-pass-1';
/** A service whose viewer URLs are signed, and its secret. */
export const signedService = 'tv';
export const signingSecret = 's'.repeat(32);
/** Streams: `news` in the signed service, `free` in an unsigned one; both have a published segment. */
export const streamIds = ['news', 'free'] as const;
/** The public segment number the fake gateway lists for each stream. */
export const segmentNumber = 5;
/** A file that must never be served: it lies next to (outside) the streams directory. */
export const secretFileText = 'TOP-SECRET-hostile-canary';

/** One registered route as the fuzzer sees it. */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly schema: RouteOptions['schema'] | undefined;
  readonly config: { readonly role?: string; readonly public?: boolean } | undefined;
  /** The route's own body limit, when it sets one (else the server's). */
  readonly bodyLimit: number | undefined;
}

/** A FakeApi that checks each command as the node's proposeCommand() does before it reaches the
 *  log, and counts what was applied. */
export class CheckedApi {
  readonly inner: FakeApi;
  /** Commands that changed the state, in order (apply() said ok). */
  readonly accepted: Command[] = [];

  constructor(inner: FakeApi) {
    this.inner = inner;
    // The node's probe builds ffmpeg's arguments first (probeSource), which refuses what a
    // worker would never run: the same check here, without running ffmpeg.
    const probe = inner.probe.bind(inner);
    inner.probe = async (nodeId, source) => {
      buildProbeArgs({ priority: 0, userAgent: null, referrer: null, ...source }, 1);
      return probe(nodeId, source);
    };
    const propose = inner.propose.bind(inner);
    inner.propose = async (bare: Command, actor: Actor | null): Promise<ApplyResult> => {
      // The runtime puts the actor on the command, then encodes it: same order here.
      encodeCommand(actor === null ? bare : { ...bare, actor });
      const result = await propose(bare, actor);
      if (result.ok) this.accepted.push(bare);
      return result;
    };
  }
}

export interface HostileApp {
  readonly app: HttpServer;
  readonly api: FakeApi;
  readonly checked: CheckedApi;
  readonly routes: readonly RouteInfo[];
  /** Where the fake worker's files are: <streamsRoot>/<stream>/<epoch>/; the canary sits beside it. */
  readonly streamsRoot: string;
  readonly secretFile: string;
  readonly viewers: ViewerRegistry;
  close(): Promise<void>;
}

function stream(id: string, serviceId: string | null): StreamRecord {
  return {
    id, name: `Channel ${id}`, sources: [{ url: `http://127.0.0.1:9/${id}.ts`, priority: 0, userAgent: null, referrer: null }], profile: 'copy',
    serviceId, pinGroup: null, pinNode: null, priority: 0, enabled: true, policy: {}, createdAtMs: nowMs,
  };
}

/** The state every hostile test starts from. */
export async function hostileState(base: ClusterState): Promise<ClusterState> {
  const lineHash = await hashPassword(linePassword);
  const line = (username: string, maxConnections: number, expiresAtMs: number | null) => ({ username, passwordHash: lineHash, maxConnections, expiresAtMs, enabled: true, createdAtMs: nowMs });
  return applied(base,
    { type: 'CreateService', atMs: nowMs, service: { id: signedService, name: 'TV', policy: {}, hls: { ...defaultHls, signingSecret }, createdAtMs: nowMs } },
    { type: 'CreateService', atMs: nowMs, service: { id: 'open', name: 'Open', policy: {}, hls: defaultHls, createdAtMs: nowMs } },
    { type: 'CreateStream', atMs: nowMs, stream: stream('news', signedService) },
    { type: 'CreateStream', atMs: nowMs, stream: stream('free', 'open') },
    { type: 'AssignStream', atMs: nowMs, streamId: 'news', nodeId: 'p1', base: segmentNumber },
    { type: 'AssignStream', atMs: nowMs, streamId: 'free', nodeId: 'p1', base: segmentNumber },
    { type: 'CreateLine', atMs: nowMs, line: line('alice', 2, null) },
    { type: 'CreateLine', atMs: nowMs, line: line('solo', 1, nowMs + 3_600_000) },
  );
}

/** A gateway that lists one segment of every assigned stream (the fuzz needs no poller). */
function fakeGateway(api: FakeApi, cache: SegmentCache): HlsSource {
  const timelines = new Map<string, TimelineReader>();
  return {
    stream: (id) => {
      const state = api.state();
      const s = Object.hasOwn(state.streams, id) ? state.streams[id]! : null;
      return s === null ? null : { hls: hlsOf(state, s), running: Object.hasOwn(state.assignments, id) };
    },
    timeline: (id) => {
      if (!Object.hasOwn(api.state().assignments, id)) return null;
      if (!cache.get(id, segmentNumber)) cache.put(id, segmentNumber, { bytes: new Uint8Array(188).fill(0x47), durationS: 2, epoch: 1, k: 0, workerDiscontinuity: false, pdtMs: nowMs });
      let t = timelines.get(id);
      if (t === undefined) {
        const segment = { n: segmentNumber, durationS: 2, discontinuity: false, pdtMs: nowMs, epoch: 1, k: 0, workerDiscontinuity: false };
        t = { version: 1, view: () => ({ targetDurationS: 2, mediaSequence: segmentNumber, discontinuitySequence: 0, segments: [segment] }), lastPublished: () => segmentNumber } as unknown as TimelineReader;
        timelines.set(id, t);
      }
      return t;
    },
    originUrl: () => null,
  };
}

/** What the upgrade parts need of a node, from the fake (it never restarts: sources run). */
function upgradeNode(api: FakeApi): UpgradeNode {
  return {
    peerId: api.nodeId,
    config: { name: api.name },
    driver: {
      status: () => ({ ...api.raftStatus(), id: api.nodeId, commit: 12, applied: 11 }) as unknown as ReturnType<UpgradeNode['driver']['status']>,
      read: async () => {
        await api.read();
        return api.raftCounters().applied;
      },
      transferLeadership: () => undefined,
    },
    machine: { current: () => api.state() },
    telemetry: null,
    channels: { internalToken: api.internalToken() },
    propose: (command) => api.propose(command, null),
    logLine: () => undefined,
    stop: async () => undefined,
    http: { server: { closeAllConnections: () => undefined } },
  };
}

/** Builds the app (not listening), recording every route as it is registered. */
export async function hostileApp(init: HttpServerInit = {}): Promise<HostileApp> {
  const api = teamApi();
  api.current = await hostileState(api.current);
  const checked = new CheckedApi(api);
  const root = await mkdtemp(join(tmpdir(), 'ottmesh-hostile-'));
  const streamsRoot = join(root, 'streams');
  const secretFile = join(root, 'secret.txt');
  await writeFile(secretFile, secretFileText);
  for (const id of streamIds) {
    await mkdir(join(streamsRoot, id, '1'), { recursive: true });
    await writeFile(join(streamsRoot, id, '1', 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\nseg-0.ts\n');
    await writeFile(join(streamsRoot, id, '1', 'seg-0.ts'), new Uint8Array(188).fill(0x47));
  }
  const viewers = new ViewerRegistry({ remoteCount: () => 0 });
  const cache = new SegmentCache({ bytesMax: 1 << 20 });
  const relay = new TsRelayHub({ gateway: () => null });
  const app = buildServer({ api, iptv: { viewers, relay } }, init);
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
      routes.push({ method: String(method), url: r.url ?? r.path, schema: r.schema, config: r.config as RouteInfo['config'], bodyLimit: r.bodyLimit });
    }
  });
  // As node/runtime.ts registers them after buildServer().
  await app.register(hlsRoutes, { source: fakeGateway(api, cache), cache, streamsRoot, internalToken: () => api.internalToken(), nowMs: () => api.nowMs() });
  await app.register(floatingAddressRoutes({ status: () => ({ address: null, held: false, interface: null, problem: null }), internalToken: () => api.internalToken() }));
  await app.register(upgradeRoutes, { upgrade: upgradeParts(upgradeNode(api), join(root, 'data')) });
  await app.ready();
  return {
    app, api, checked, routes, streamsRoot, secretFile, viewers,
    close: async () => {
      relay.stop();
      await app.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
