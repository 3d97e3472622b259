// The composition root of a running node: builds the real adapters (level log store, libp2p
// host, Raft transport and driver, cluster state machine, telemetry gossip, HTTP API, join
// server, leader loops) and wires them. main.ts decides what to run; this is how it runs.
import { LevelLogStore } from '../consensus/adapters/level-log-store.ts';
import type { ConfState, NodeId } from '../consensus/core/index.ts';
import { RaftDriver } from '../consensus/driver.ts';
import { encodeJoinToken, hashSecret } from './auth/index.ts';
import type { KnownMember, NodeConfig } from './config.ts';
import { httpUrlOf } from './config.ts';
import type { DataDirPaths } from './data-dir.ts';
import { buildServer, listen, WriteTimeoutError } from './http/index.ts';
import type { IptvParts } from './http/server.ts';
import { TsRelayHub } from './hls/ts-relay.ts';
import { remoteViewerCount, ViewerRegistry } from './hls/viewers.ts';
import { EpgRefresher } from './epg/refresher.ts';
import type { ClusterApi, HttpServer } from './http/index.ts';
import { createHost, handleJoin, Libp2pRaftTransport } from './p2p/index.ts';
import type { JoinRequest, JoinResponse, P2pHost } from './p2p/index.ts';
import { ClusterStateMachine, findNode, isMember, joinTokenProblem, nodesSorted, proposeCommand } from './state/index.ts';
import type { ApplyResult, ClusterState, Command, NodeRecord } from './state/index.ts';
import type { PrivateKey } from '@libp2p/interface';
import { defaultTelemetryTopic, HostSampler, realGossipClock, TelemetryGossip } from './gossip/index.ts';
import type { StreamFigures } from './gossip/report.ts';
import type { MemberFigures } from './leader/placement-view.ts';
import { memberIds } from './state/index.ts';
import { AutopilotLoop } from './leader/autopilot-loop.ts';
import { Channels } from './channels.ts';
import { hlsRoutes } from './hls/index.ts';
import type { ProbeAnswer } from './http/index.ts';
import { LineRing } from './supervisor/line-ring.ts';
import { historySampleEveryMs, LoadHistory } from './gossip/history.ts';
import { probeSource, probeTimeoutMs } from './supervisor/probe.ts';
import { FloatingAddressService, floatingAddressRoutes } from './vip/service.ts';
import { upgradeRoutes } from './http/routes/upgrade.ts';
import { upgradeParts } from './upgrade/index.ts';
import { buildInfo } from './version.ts';

/** Lines of this node's own log kept for the dashboard. */
const nodeLogLines = 500;
import type { Membership } from './leader/autopilot-loop.ts';

/** Raft timing: 50 ms ticks, elections after 0.6-1.2 s of silence, heartbeats every other tick
 *  (100 ms, as etcd's default). A leader's death is noticed within about a second (issue 3:
 *  failover p99 <= 2 s, aim 1 s). Heartbeats every tick cost an idle three-node cluster about
 *  a quarter of its CPU (idle bench: 2.7-3.4 % of a core per node against 2.2-2.3 %). */
export const raftTickIntervalMs = 50;
export const raftElectionTicks = 12;
export const raftHeartbeatTicks = 2;
/** An API write not committed by then answers 503 "unknown, check before retrying" instead of
 *  hanging (a leader cut off from its quorum keeps it pending until it steps down or heals). */
export const apiWriteTimeoutMs = 10_000;

export interface RuntimeInit {
  readonly config: NodeConfig;
  readonly paths: DataDirPaths;
  readonly privateKey: PrivateKey;
  readonly peerId: NodeId;
  readonly networkKey: Uint8Array;
  /** Only a founding node's first start: its log begins with itself as the only voter. */
  readonly bootstrap: ConfState | null;
  readonly log: (line: string) => void;
}

/** Membership as telemetry gossip sees it, for the API and the autopilot. */
export interface MembershipSource extends Membership {
  member(id: NodeId): { state: 'alive' | 'suspect' | 'down'; cpuPct: number; memPct: number; streams: number } | null;
  streamFigures(id: NodeId): readonly StreamFigures[];
  memberFigures(id: NodeId): MemberFigures;
}

/** Adapts the gossip service's view, remembering since when each member has been down. */
function membershipOf(gossip: TelemetryGossip, selfId: NodeId): { source: MembershipSource; stop: () => void } {
  const downSince = new Map<NodeId, number>();
  const stop = gossip.onTransition((t) => {
    if (t.to === 'down') downSince.set(t.id, Date.now() - Math.max(0, t.silenceMs - gossip.membership.timing.downAfterMs));
    else downSince.delete(t.id);
  });
  const source: MembershipSource = {
    health: (id) => gossip.membership.state(id) ?? 'alive',
    downSinceMs: (id) => downSince.get(id) ?? null,
    reported: (id) => gossip.membership.lastReport(id) !== undefined,
    member: (id) => {
      // A member not heard from yet has the detector's state (alive in its grace period), with no figures.
      const state = gossip.membership.state(id);
      if (state === undefined) return null;
      const report = gossip.membership.lastReport(id);
      return { state, cpuPct: report?.cpuPct ?? 0, memPct: report?.memPct ?? 0, streams: report?.streams.count ?? 0 };
    },
    streamFigures: (id) => gossip.membership.lastReport(id)?.streams.items ?? [],
    memberFigures: (id) => {
      const report = gossip.membership.lastReport(id);
      const health = id === selfId ? 'alive' : gossip.membership.state(id) ?? 'alive';
      return { health, host: report ?? null, streams: report?.streams.items ?? [] };
    },
  };
  return { source, stop };
}

export class NodeRuntime {
  readonly peerId: NodeId;
  readonly config: NodeConfig;
  readonly driver: RaftDriver;
  readonly machine: ClusterStateMachine;
  readonly host: P2pHost;
  readonly http: HttpServer;
  httpUrl = '';
  readonly #store: LevelLogStore;
  readonly #stops: (() => Promise<void> | void)[] = [];
  readonly #log: (line: string) => void;
  readonly #dataDir: string;
  readonly #networkKey: Uint8Array;
  membership: MembershipSource;
  /** Every member's load over the last hour, for the dashboard's charts. */
  readonly loadHistory = new LoadHistory();
  readonly #fatal = Promise.withResolvers<Error>();
  /** Settles with the error when Raft stopped on a fatal error (a full or failing disk): the
   *  node then stops its parts, and the process must exit, so that its service manager starts
   *  it again once the disk is back (fail-stop, as etcd). Never rejects. */
  readonly fatal: Promise<Error> = this.#fatal.promise;
  #stopping: Promise<void> | null = null;
  /** The last lines this node logged (troubleshooting from the dashboard). */
  readonly logTail = new LineRing(nodeLogLines);
  /** Leader changes this node has seen since it started (for /metrics). */
  leaderChanges = 0;
  /** The channel side (supervisor, gateway, streams loop), once started. */
  channels: Channels | null = null;
  readonly #iptv: IptvParts & { epg: EpgRefresher };
  /** Telemetry gossip, once started (the viewer counts of other members come from it). */
  telemetry: TelemetryGossip | null = null;
  /** The leader's floating address (node/vip), once started. */
  floatingAddress: FloatingAddressService | null = null;

  private constructor(parts: { init: RuntimeInit; store: LevelLogStore; machine: ClusterStateMachine; host: P2pHost; driver: RaftDriver; http: HttpServer; iptv: IptvParts & { epg: EpgRefresher } }) {
    this.#iptv = parts.iptv;
    this.peerId = parts.init.peerId;
    this.config = parts.init.config;
    // Every line this node logs is also kept for GET /api/v1/nodes/:id/log.
    this.#log = (line) => {
      this.logTail.push(`${new Date().toISOString()} ${line}`);
      parts.init.log(line);
    };
    this.#dataDir = parts.init.paths.root;
    this.#networkKey = parts.init.networkKey;
    this.#store = parts.store;
    this.machine = parts.machine;
    this.host = parts.host;
    this.driver = parts.driver;
    this.http = parts.http;
    this.membership = { member: () => null, health: () => 'alive', downSinceMs: () => null, reported: () => false, streamFigures: () => [], memberFigures: () => ({ health: 'alive', host: null, streams: [] }) };
  }

  /** Log a line as this node (kept for the dashboard's log tail too). */
  logLine(line: string): void {
    this.#log(line);
  }

  static async start(init: RuntimeInit): Promise<NodeRuntime> {
    const { config, paths } = init;
    const store = await LevelLogStore.open(paths.raftLog);
    const cleanups: (() => Promise<unknown>)[] = [() => store.close()];
    try {
      const machine = new ClusterStateMachine();
      const joinedVia = new Map(config.joinedVia.map((m) => [m.id, m]));
      // The members a node joined through are trusted until its state lists the node itself:
      // from then on the state holds every member of that time, so one of them missing from it
      // was removed, and must stay cut off.
      const trusted = (id: NodeId) => isMember(machine.current(), id) || (joinedVia.has(id) && !isMember(machine.current(), init.peerId));
      const addrsOf = (id: NodeId) => findNode(machine.current(), id)?.addrs ?? joinedVia.get(id)?.addrs ?? [];
      const host = await createHost({
        privateKey: init.privateKey,
        networkKey: init.networkKey,
        host: config.host,
        p2pPort: config.p2pPort,
        isMember: trusted,
        members: () => memberAddrs(machine.current(), isMember(machine.current(), init.peerId) ? new Map() : joinedVia, init.peerId),
      });
      cleanups.unshift(() => host.stop());
      const transport = new Libp2pRaftTransport({ host, addrsOf });
      const driver = new RaftDriver(
        { store, transport, stateMachine: machine },
        { id: init.peerId, tickIntervalMs: raftTickIntervalMs, electionTicks: raftElectionTicks, heartbeatTicks: raftHeartbeatTicks, forwardProposals: true, ...(init.bootstrap ? { bootstrap: init.bootstrap } : {}) },
      );
      const runtime: { current: NodeRuntime | null } = { current: null };
      const epg = new EpgRefresher({ state: () => machine.current(), fetch: globalThis.fetch, clock: realGossipClock, log: (line) => runtime.current?.logLine(line) });
      const iptv: IptvParts = {
        viewers: new ViewerRegistry({ remoteCount: remoteViewerCount(() => runtime.current?.telemetry?.membership ?? null, () => Object.keys(machine.current().nodes), init.peerId) }),
        relay: new TsRelayHub({ gateway: () => runtime.current?.channels?.routes ?? null }),
        epg,
      };
      const http = buildServer({ api: clusterApi(() => runtime.current!), iptv }, {});
      const node = new NodeRuntime({ init, store, machine, host, driver, http, iptv: { ...iptv, epg } });
      runtime.current = node;
      // From here on, stop() undoes whatever of the parts had started.
      cleanups.splice(0, cleanups.length, () => node.stop());
      await node.#startParts();
      return node;
    } catch (err) {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      throw err;
    }
  }

  async #startParts(): Promise<void> {
    this.driver.on('error', (err) => {
      this.#log(`raft stopped: ${err.message}`);
      process.exitCode = 1;
      this.#fatal.resolve(err);
      void this.stop();
    });
    let leaderId: NodeId | null = null;
    this.driver.on('soft-state', (soft) => {
      if (soft.leaderId !== leaderId && soft.leaderId !== null) this.leaderChanges++;
      leaderId = soft.leaderId;
    });
    await this.driver.start();
    this.#stops.push(() => this.driver.stop());
    // The channel side exists before the HTTP server listens: its routes (/live, /internal) are
    // registered first. It starts once gossip runs.
    let gossip: TelemetryGossip | null = null;
    const channels = new Channels({
      selfId: this.peerId,
      dataDir: this.#dataDir,
      networkKey: this.#networkKey,
      driver: this.driver,
      state: () => this.machine.current(),
      onStateChange: (listener) => this.machine.onChange(listener),
      members: (id) => this.membership.memberFigures(id),
      gatewayFigures: (id) => gossip?.membership.lastReport(id)?.gateway?.items ?? [],
      propose: (command) => this.propose(command),
      reportNow: () => gossip?.reportNow(),
      log: this.#log,
    });
    await this.http.register(hlsRoutes, channels.routes);
    await this.http.register(floatingAddressRoutes({ status: () => this.floatingAddress?.loop.status() ?? null, internalToken: () => channels.internalToken }));
    await this.http.register(upgradeRoutes, { upgrade: upgradeParts(this, this.#dataDir) });
    this.channels = channels;
    const bound = await listen(this.http, this.config.host, this.config.httpPort);
    this.httpUrl = httpUrlOf(this.config.host, bound.port);
    this.#stops.push(() => this.http.close());
    // Stops run in reverse: open .ts relays end before close() waits for their responses.
    this.#stops.push(() => this.#iptv.relay.stop());
    const join = await handleJoin(this.host, (peerId, request) => this.#handleJoin(peerId, request));
    this.#stops.push(() => join.stop());
    const settings = this.machine.current().settings;
    gossip = new TelemetryGossip(
      {
        pubsub: this.host.pubsub, sampler: new HostSampler({ dataDir: this.#dataDir }), isMember: (id) => isMember(this.machine.current(), id),
        streams: () => channels.streamFigures(),
        gateway: () => channels.gatewayFigures(),
        viewers: () => this.#iptv.viewers.figures(),
      },
      // Timing from the replicated settings as applied at start (a change takes effect as each
      // node restarts).
      { nodeId: this.peerId, timing: { suspectAfterMs: settings.suspectAfterS * 1000, downAfterMs: settings.downAfterS * 1000 }, build: buildInfo() },
    );
    const telemetry = gossip;
    this.telemetry = telemetry;
    const members = () => telemetry.setMembers(memberIds(this.machine.current()));
    members();
    telemetry.onTransition((t) => this.#log(`${findNode(this.machine.current(), t.id)?.name ?? t.id} is ${t.to} (was ${t.from})`));
    this.host.guardTopic(defaultTelemetryTopic);
    telemetry.start();
    this.#stops.push(() => telemetry.stop());
    const view = membershipOf(telemetry, this.peerId);
    this.membership = view.source;
    this.#stops.push(view.stop);
    // Only a change of the members matters here: every write through the API changes the state
    // (its audit entry), and reconciling the connections each time was a large share of a write.
    const unsubscribe = this.machine.onChange((state, previous) => {
      if (state.nodes === previous.nodes) return;
      queueMicrotask(() => {
        this.host.reconcile();
        members();
      });
    });
    this.#stops.push(unsubscribe);
    await channels.start();
    this.#stops.push(() => channels.stop());
    this.#iptv.epg.start();
    this.#stops.push(() => this.#iptv.epg.stop());
    const sampleLoad = () => this.loadHistory.sample(Date.now(), new Map(Object.keys(this.machine.current().nodes).map((id) => {
      const m = this.membership.memberFigures(id);
      return [id, { host: m.host, streams: m.streams.length }];
    })));
    const historyTimer = setInterval(sampleLoad, historySampleEveryMs);
    this.#stops.push(() => clearInterval(historyTimer));
    const autopilot = new AutopilotLoop({ driver: this.driver, state: () => this.machine.current(), membership: () => this.membership, log: this.#log }, {});
    autopilot.start();
    this.#stops.push(() => autopilot.stop());
    // A removed node leaves the Raft configuration at once, not at the autopilot's next tick.
    const wakeOnRemoval = this.machine.onChange((_state, _previous, command) => {
      if (command?.type === 'RemoveNode') queueMicrotask(() => autopilot.wake());
    });
    this.#stops.push(wakeOnRemoval);
    // Last in, so first out on stop: the address is released before anything else stops.
    const floating = new FloatingAddressService({
      selfId: this.peerId, driver: this.driver, state: () => this.machine.current(), onStateChange: (listener) => this.machine.onChange(listener),
      askNode: (id, path, timeoutMs) => this.askNode(id, 'GET', path, undefined, timeoutMs), log: this.#log,
    });
    floating.start();
    this.floatingAddress = floating;
    this.#stops.push(() => floating.stop());
  }

  /** The leader checks a join request against the replicated token record and commits the
   *  node; a follower points the new node to the leader. */
  async #handleJoin(peerId: NodeId, request: JoinRequest): Promise<JoinResponse> {
    const status = this.driver.status();
    if (status.role !== 'leader') {
      const leader = status.leaderId === null ? null : findNode(this.machine.current(), status.leaderId);
      return { ok: false, reason: leader ? `not the leader: ask ${leader.addrs.join(' or ')}` : 'no leader is elected right now: retry in a few seconds' };
    }
    const atMs = Date.now();
    const state = this.machine.current();
    // A retry after an answer that got lost: the node is in already.
    if (isMember(state, peerId)) return this.#joined();
    const secretHash = hashSecret(request.secret);
    // Checked here to refuse without writing anything; applying JoinNode checks again.
    const problem = joinTokenProblem(state, request.tokenId, secretHash, atMs);
    if (problem !== null) return { ok: false, reason: problem };
    const groups = state.joinTokens[request.tokenId]!.groups;
    const node: NodeRecord = { id: peerId, name: request.name, groups, addrs: request.addrs, httpUrl: request.httpUrl, enabled: true, joinedAtMs: atMs };
    const result = await this.propose({ type: 'JoinNode', atMs, tokenId: request.tokenId, secretHash, node });
    if (!result.ok) return { ok: false, reason: result.reason };
    this.#log(`${request.name} (${peerId}) joined the cluster`);
    return this.#joined();
  }

  #joined(): JoinResponse {
    const state = this.machine.current();
    return { ok: true, clusterId: state.clusterId, members: nodesSorted(state).map((n) => ({ id: n.id, addrs: n.addrs, httpUrl: n.httpUrl })) };
  }

  /** A node-to-node request to member `nodeId`'s /internal routes; null when it does not
   *  answer 200 within `timeoutMs`. */
  async askNode<T>(nodeId: NodeId, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 3_000): Promise<T | null> {
    const url = findNode(this.machine.current(), nodeId)?.httpUrl;
    if (url === undefined || this.channels === null) return null;
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.channels.internalToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      return res.status === 200 ? ((await res.json()) as T) : null;
    } catch {
      return null;
    }
  }

  /** Propose through the leader (here, or forwarded to it by Raft) and resolve once applied
   *  here, so this node's state then shows the write. */
  propose(command: Command): Promise<ApplyResult> {
    return proposeCommand(this.driver, this.machine, command);
  }

  /** Stops every part, once: a second call (a fatal error, then the signal) waits for the first. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const stops = this.#stops.splice(0).reverse();
      for (const stop of stops) await Promise.resolve(stop()).catch((err: unknown) => this.#log(`while stopping: ${(err as Error).message}`));
      await this.host.stop().catch(() => undefined);
      await this.#store.close().catch(() => undefined);
    })();
    return this.#stopping;
  }
}

function memberAddrs(state: ClusterState, joinedVia: Map<NodeId, KnownMember>, self: NodeId): { id: string; addrs: readonly string[] }[] {
  const out = new Map<NodeId, readonly string[]>();
  for (const m of joinedVia.values()) out.set(m.id, m.addrs);
  for (const n of Object.values(state.nodes)) out.set(n.id, n.addrs);
  out.delete(self);
  return [...out].map(([id, addrs]) => ({ id, addrs }));
}

/** `promise`, or `timeout()` if it has not settled within `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Per stream this node's gateway follows: seconds since its newest segment ended. */
function liveEdgeAges(n: NodeRuntime): Record<string, number> {
  const out: Record<string, number> = {};
  const nowMs = Date.now();
  for (const id of Object.keys(n.machine.current().streams)) {
    const last = n.channels?.poller.timeline(id)?.view().segments.at(-1);
    if (last !== undefined) out[id] = Math.max(0, (nowMs - (last.pdtMs + last.durationS * 1000)) / 1000);
  }
  return out;
}

/** The HTTP API's view of this node. */
function clusterApi(node: () => NodeRuntime): ClusterApi {
  return {
    get nodeId() { return node().peerId; },
    get name() { return node().config.name; },
    raftStatus: () => node().driver.status(),
    state: () => node().machine.current(),
    read: async () => {
      await node().driver.read();
    },
    propose: (command, actor) => withDeadline(node().propose(actor === null ? command : { ...command, actor }), apiWriteTimeoutMs, () => new WriteTimeoutError(apiWriteTimeoutMs)),
    membership: (id) => node().membership.member(id),
    streamFigures: (id) => node().membership.streamFigures(id),
    memberFigures: (id) => node().membership.memberFigures(id),
    raftCounters: () => {
      const s = node().driver.status();
      return { commit: s.commit, applied: s.applied };
    },
    nodeCounters: () => {
      const n = node();
      const cache = n.channels?.cache.stats();
      const poller = n.channels?.poller.stats();
      return {
        leaderChanges: n.leaderChanges,
        gateway: cache === undefined || poller === undefined ? null : {
          cacheSegments: cache.count, cacheBytes: cache.bytes, cacheHits: cache.hits, cacheMisses: cache.misses,
          segmentsCopied: poller.segmentsCopied, bytesCopied: poller.bytesCopied, pollErrors: poller.pollErrors,
          liveEdgeAgeS: liveEdgeAges(n),
        },
      };
    },
    localStreamLog: (streamId) => node().channels?.supervisor.stderrTail(streamId) ?? null,
    internalToken: () => node().channels?.internalToken ?? '',
    streamLog: async (nodeId, streamId) => {
      const n = node();
      if (nodeId === n.peerId) return n.channels?.supervisor.stderrTail(streamId) ?? [];
      const answer = await n.askNode<{ lines: string[] }>(nodeId, 'GET', `/internal/v1/streams/${encodeURIComponent(streamId)}/log`);
      return answer?.lines ?? null;
    },
    loadHistory: (nodeId) => node().loadHistory.of(nodeId),
    fenced: () => node().channels?.fenced ?? true,
    floatingAddress: async () => (await node().floatingAddress?.view()) ?? null,
    nodeBuild: (nodeId) => {
      const report = node().telemetry?.membership.lastReport(nodeId);
      return report?.version === undefined || report.commit === undefined ? null : { version: report.version, commit: report.commit };
    },
    nodeLog: async (nodeId) => {
      const n = node();
      if (nodeId === n.peerId) return n.logTail.lines();
      return (await n.askNode<{ lines: string[] }>(nodeId, 'GET', '/internal/v1/node/log'))?.lines ?? null;
    },
    probe: async (nodeId, source) => {
      const n = node();
      if (nodeId === n.peerId) return probeSource(source);
      const body = { url: source.url, userAgent: source.userAgent, referrer: source.referrer };
      return n.askNode<ProbeAnswer>(nodeId, 'POST', '/internal/v1/probe', body, probeTimeoutMs + 5_000);
    },
    nowMs: () => Date.now(),
    newJoinTokenString: (record, secret) => {
      const state = node().machine.current();
      const addrs = nodesSorted(state).flatMap((n) => n.addrs);
      return encodeJoinToken({ v: 1, clusterId: state.clusterId, networkKey: node().config.networkKey, addrs, tokenId: record.id, secret });
    },
  };
}

