// The channel side of a running node (issue 4), part of the composition root: the supervisor
// that runs this node's ffmpeg processes as its applied assignments say (with fencing), the HLS
// gateway that serves every stream at its stable URL, the leader's streams loop, and what this
// node tells the others through gossip.
import { join } from 'node:path';

import type { RaftDriver } from '../consensus/driver.ts';
import type { GatewayFigures, StreamFigures } from './gossip/report.ts';
import { clusterFromState, HlsPoller, internalTokenFromNetworkKey, SegmentCache } from './hls/index.ts';
import type { HlsRoutesOptions } from './hls/index.ts';
import type { MemberFigures } from './leader/placement-view.ts';
import { StreamsLoop } from './leader/streams-loop.ts';
import { defaultFenceAfterMs, QuorumFence } from './fence.ts';
import { hlsOf, isMember } from './state/index.ts';
import type { ApplyResult, ClusterState, Command, NodeId } from './state/index.ts';
import { Supervisor, workerListSize } from './supervisor/index.ts';
import type { StreamSpec } from './supervisor/index.ts';

export { defaultFenceAfterMs } from './fence.ts';
const fenceCheckIntervalMs = 250;

export interface ChannelsComponents {
  readonly selfId: NodeId;
  readonly dataDir: string;
  /** The cluster's pre-shared key: the internal token of /internal routes derives from it. */
  readonly networkKey: Uint8Array;
  readonly driver: Pick<RaftDriver, 'status' | 'read' | 'msSinceHeardFrom'>;
  readonly state: () => ClusterState;
  /** Calls `listener` after every applied change; returns the unsubscribe function. */
  readonly onStateChange: (listener: () => void) => () => void;
  readonly members: (id: NodeId) => MemberFigures;
  readonly gatewayFigures: (id: NodeId) => readonly GatewayFigures[];
  readonly propose: (command: Command) => Promise<ApplyResult>;
  /** Send this node's telemetry now (a seal applied, a stream's status changed: the leader waits for these). */
  readonly reportNow: () => void;
  readonly log: (line: string) => void;
}

export interface ChannelsInit {
  readonly fenceAfterMs?: number;
}

/** The streams this node should run now, from its applied state: the worker named in an
 *  assignment (or as its second worker), each with its own epoch. */
export function desiredStreams(state: ClusterState, selfId: NodeId): Map<string, StreamSpec> {
  const desired = new Map<string, StreamSpec>();
  if (!isMember(state, selfId)) return desired; // removed: its streams are placed elsewhere
  for (const a of Object.values(state.assignments)) {
    const epoch = a.nodeId === selfId ? a.epoch : a.next?.nodeId === selfId ? a.next.epoch : null;
    if (epoch === null) continue;
    const stream = Object.hasOwn(state.streams, a.streamId) ? state.streams[a.streamId]! : null;
    if (stream === null || !stream.enabled) continue;
    const hls = hlsOf(state, stream);
    desired.set(stream.id, {
      streamId: stream.id, epoch, sources: stream.sources, profile: stream.profile, segmentS: hls.segmentS, listSize: workerListSize(hls.windowSegments),
    });
  }
  return desired;
}

export class Channels {
  readonly supervisor: Supervisor;
  readonly cache: SegmentCache;
  readonly poller: HlsPoller;
  /** The node-to-node bearer token (/internal routes). */
  readonly internalToken: string;
  /** For the HTTP server: register hlsRoutes with these before it listens. */
  readonly routes: HlsRoutesOptions;
  readonly streamsLoop: StreamsLoop;
  readonly #c: ChannelsComponents;
  readonly #fenceAfterMs: number;
  readonly #fence: QuorumFence;
  #fenceTimer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #reconcileScheduled = false;

  constructor(components: ChannelsComponents, init: ChannelsInit = {}) {
    this.#c = components;
    this.#fenceAfterMs = init.fenceAfterMs ?? defaultFenceAfterMs;
    this.#fence = new QuorumFence({
      readBarrier: () => components.driver.read(),
      nowMs: () => performance.now(),
      onChange: (fenced) => {
        components.log(fenced ? `no leader for ${this.#fenceAfterMs} ms: stopping this node's streams until the cluster is back` : 'in touch with the leader and caught up: running the assigned streams');
        this.#scheduleReconcile();
      },
    }, this.#fenceAfterMs);
    this.supervisor = new Supervisor({}, {
      streamsRoot: join(components.dataDir, 'streams'),
      onEvent: (streamId, event) => {
        if (event.type !== 'status') return;
        if (event.status === 'failed' || event.status === 'restarting') components.log(`stream ${streamId}: ${event.status}`);
        // The leader acts on a status (a new worker's first segment: switch to it; an ffmpeg that
        // stopped: fail over to the standby): tell it now rather than at the next report.
        components.reportNow();
      },
    });
    const token = internalTokenFromNetworkKey(components.networkKey);
    this.internalToken = token;
    this.cache = new SegmentCache();
    this.poller = new HlsPoller({
      cluster: clusterFromState(components.state, components.selfId),
      cache: this.cache,
      internalToken: () => token,
      isFenced: () => this.#fence.isFenced(),
      onSealApplied: () => components.reportNow(),
      logger: { warn: components.log },
    });
    this.routes = { source: this.poller, cache: this.cache, streamsRoot: this.supervisor.streamsRoot, internalToken: () => token };
    this.streamsLoop = new StreamsLoop({
      selfId: components.selfId,
      isLeader: () => components.driver.status().role === 'leader',
      state: components.state,
      members: components.members,
      gatewayFigures: components.gatewayFigures,
      msSinceHeardFrom: (id) => components.driver.msSinceHeardFrom(id),
      propose: components.propose,
      log: components.log,
    });
  }

  /** Whether this node is fenced: no lease from a recent read barrier (node/fence.ts). */
  get fenced(): boolean {
    return this.#fence.isFenced();
  }

  async start(): Promise<void> {
    const killed = await this.supervisor.start();
    if (killed.length > 0) this.#c.log(`stopped ${killed.length} ffmpeg process(es) left from before this node restarted`);
    // Most applied entries change nothing a worker or gateway cares about (a node enabled, a
    // token created...): the state is immutable, so an unchanged table is the same object.
    let seen: unknown[] = [];
    this.#unsubscribe = this.#c.onStateChange(() => {
      const state = this.#c.state();
      const now = [state.assignments, state.streams, state.services, state.hls, state.nodes];
      if (now.every((table, i) => table === seen[i])) return;
      seen = now;
      this.#scheduleReconcile();
    });
    this.#fenceTimer = setInterval(() => this.#fence.check(), fenceCheckIntervalMs);
    this.#fence.check();
    this.poller.start();
    this.streamsLoop.start();
    this.#scheduleReconcile();
  }

  /** This node's per-stream figures, for its telemetry report. */
  streamFigures(): StreamFigures[] {
    return this.supervisor.streams();
  }

  /** What this node's gateway published, for its telemetry report. */
  gatewayFigures(): readonly GatewayFigures[] {
    return this.poller.gatewayFigures();
  }

  async stop(): Promise<void> {
    this.streamsLoop.stop();
    if (this.#fenceTimer !== null) clearInterval(this.#fenceTimer);
    this.#fenceTimer = null;
    this.#unsubscribe?.();
    await this.poller.stop();
    await this.supervisor.stopAll();
  }

  #scheduleReconcile(): void {
    if (this.#reconcileScheduled) return;
    this.#reconcileScheduled = true;
    setImmediate(() => {
      this.#reconcileScheduled = false;
      // A seal or a switch reaches the gateway at once, not at its next poll.
      this.poller.round();
      const desired = this.#fence.isFenced() ? new Map<string, StreamSpec>() : desiredStreams(this.#c.state(), this.#c.selfId);
      this.supervisor.reconcile(desired).catch((err: unknown) => this.#c.log(`supervisor: ${(err as Error).message}`));
    });
  }
}
