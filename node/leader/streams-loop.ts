// The leader's streams loop: several times a second, while this node leads, ask the pure
// decisions (stream-decisions.ts) what to do for each stream and propose it, one command after
// the other. Every command is checked again when applied (epochs, seals, bases), so a decision
// taken on a view that is a little old is refused, not harmful; the next round decides afresh.
import { NotLeaderError, ProposalDroppedError } from '../../consensus/core/index.ts';
import type { NodeId } from '../../consensus/core/index.ts';
import type { GatewayFigures } from '../gossip/report.ts';
import type { ApplyResult, ClusterState, Command, NodeId as Id, StreamRecord } from '../state/index.ts';
import { chooserFrom, planRound, streamPolicy } from './placement-view.ts';
import type { MemberFigures } from './placement-view.ts';
import { decideStreams, defaultDecisionInit } from './stream-decisions.ts';
import type { DecisionInit } from './stream-decisions.ts';

export interface StreamsLoopComponents {
  /** This node's id and whether it leads now. */
  readonly selfId: NodeId;
  readonly isLeader: () => boolean;
  readonly state: () => ClusterState;
  /** Gossip about a member: health, host figures, its streams as its worker reports them. */
  readonly members: (id: NodeId) => MemberFigures;
  readonly gatewayFigures: (id: NodeId) => readonly GatewayFigures[];
  readonly propose: (command: Command) => Promise<ApplyResult>;
  readonly log: (line: string) => void;
}

export interface StreamsLoopInit extends Partial<DecisionInit> {
  /** How often the leader reconsiders the streams (default 250 ms: a failover waits for it). */
  readonly intervalMs?: number;
}

export class StreamsLoop {
  readonly #c: StreamsLoopComponents;
  readonly #intervalMs: number;
  readonly #decision: DecisionInit;
  /** When this leader first saw each stream's current epoch sealed. */
  readonly #sealSeen = new Map<string, { epoch: number; atMs: number }>();
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  /** Seeds each round's placement (deterministic per round, varied across rounds). */
  #round = 0;

  constructor(components: StreamsLoopComponents, init: StreamsLoopInit = {}) {
    this.#c = components;
    this.#intervalMs = init.intervalMs ?? 250;
    this.#decision = { ...defaultDecisionInit, ...init };
  }

  start(): void {
    this.#timer = setInterval(() => void this.round(), this.#intervalMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One round (also callable directly, e.g. right after a relevant change). */
  async round(): Promise<void> {
    if (this.#busy || !this.#c.isLeader()) {
      if (!this.#c.isLeader()) this.#sealSeen.clear(); // a later term waits afresh
      return;
    }
    const state = this.#c.state();
    if (state.clusterId === '') return;
    const nowMs = Date.now();
    this.#noteSeals(state, nowMs);
    const c = this.#c;
    const members = (id: Id): MemberFigures => {
      const m = c.members(id);
      return id === c.selfId ? { ...m, health: 'alive' } : m;
    };
    // Placement runs at most once a round, and only when a decision needs a node.
    let chooser: ((stream: StreamRecord, exclude: ReadonlySet<Id>) => Id | null) | null = null;
    const commands = decideStreams({
      state,
      nowMs,
      health: (id) => members(id).health,
      workerFigures: (id, streamId) => members(id).streams.find((f) => f.id === streamId),
      gatewayFigures: (streamId) => Object.keys(state.nodes)
        .filter((id) => members(id).health === 'alive')
        .map((id) => ({ nodeId: id, figures: c.gatewayFigures(id).find((f) => f.id === streamId) })),
      sealSeenAtMs: (streamId) => this.#sealSeen.get(streamId)?.atMs ?? null,
      policy: (stream) => streamPolicy(state, stream),
      choose: (stream, exclude) => (chooser ??= chooserFrom(planRound(state, members, ++this.#round)))(stream, exclude),
    }, this.#decision);
    if (commands.length === 0) return;
    this.#busy = true;
    try {
      for (const command of commands) {
        if (!c.isLeader()) return;
        const result = await c.propose(command);
        if (result.ok) c.log(`streams: ${describe(command)}`);
        else c.log(`streams: ${describe(command)} refused: ${result.reason}`);
      }
    } catch (err) {
      if (!(err instanceof NotLeaderError || err instanceof ProposalDroppedError)) c.log(`streams: ${(err as Error).message}`);
    } finally {
      this.#busy = false;
    }
  }

  #noteSeals(state: ClusterState, nowMs: number): void {
    for (const [streamId, a] of Object.entries(state.assignments)) {
      const seen = this.#sealSeen.get(streamId);
      if (!a.sealed) this.#sealSeen.delete(streamId);
      else if (seen?.epoch !== a.epoch) this.#sealSeen.set(streamId, { epoch: a.epoch, atMs: nowMs });
    }
    for (const streamId of this.#sealSeen.keys()) if (!Object.hasOwn(state.assignments, streamId)) this.#sealSeen.delete(streamId);
  }
}

function describe(c: Command): string {
  switch (c.type) {
    case 'AssignStream': return `${c.streamId} assigned to ${c.nodeId}`;
    case 'SetNextWorker': return c.nodeId === null ? `${c.streamId}: second worker dropped` : `${c.streamId}: second worker on ${c.nodeId}`;
    case 'SealStream': return `${c.streamId}: epoch ${c.epoch} sealed`;
    case 'SwitchStream': return `${c.streamId}: switched to epoch ${c.epoch}, public numbers from ${c.base}`;
    case 'UnassignStream': return `${c.streamId}: worker released`;
    default: return c.type;
  }
}
