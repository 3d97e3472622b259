// The leader's streams loop: several times a second, while this node leads, ask the pure
// decisions (stream-decisions.ts) what to do for each stream and propose it, one command after
// the other. Every command is checked again when applied (epochs, seals, bases), so a decision
// taken on a view that is a little old is refused, not harmful; the next round decides afresh.
import { NotLeaderError, ProposalDroppedError } from '../../consensus/core/index.ts';
import type { NodeId } from '../../consensus/core/index.ts';
import { maxStreamItems } from '../gossip/report.ts';
import type { GatewayFigures } from '../gossip/report.ts';
import type { ApplyResult, ClusterState, Command, NodeId as Id, StreamRecord } from '../state/index.ts';
import { rebalance, resolvePolicy } from '../placement/index.ts';
import type { StreamPlacement } from '../placement/index.ts';
import { chooserFrom, placementInput, placementsById, planRound, streamPolicy } from './placement-view.ts';
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
  /** Milliseconds since this node last heard from `id` over Raft (RaftDriver.msSinceHeardFrom). */
  readonly msSinceHeardFrom: (id: NodeId) => number;
  /** The monotonic clock of msSinceHeardFrom, ms (default performance.now). */
  readonly monotonicMs?: () => number;
  readonly propose: (command: Command) => Promise<ApplyResult>;
  readonly log: (line: string) => void;
}

export interface StreamsLoopInit extends Partial<DecisionInit> {
  /** How often the leader reconsiders the streams (default 250 ms: a failover waits for it). */
  readonly intervalMs?: number;
  /** How often it looks for overloaded nodes to relieve (default 10 s). */
  readonly rebalanceIntervalMs?: number;
  /** A rebalancing move not finished by then is given up (default 60 s). */
  readonly moveTimeoutMs?: number;
}

/** A member the leader has not heard from over Raft for this long counts as suspect here, even
 *  when gossip still reaches it: its read barriers fail as well, so it fences itself a second
 *  later (node/fence.ts), and its streams had better move to their standby first (a lossy
 *  link: the chaos suite saw viewers stall 7-11 s while gossip kept it alive). */
const raftSilentSuspectMs = 2_000;

/** The window of the cluster-wide move budget (policy.rebalanceMovesPerMin). */
const budgetWindowMs = 60_000;

export class StreamsLoop {
  readonly #c: StreamsLoopComponents;
  readonly #intervalMs: number;
  readonly #decision: DecisionInit;
  /** Since when (monotonic) this leader has seen each stream's active worker report its ffmpeg as
   *  not running. */
  readonly #notRunning = new Map<string, { nodeId: Id; epoch: number; sinceMs: number }>();
  /** When this leader first saw each stream's current epoch sealed. */
  readonly #sealSeen = new Map<string, { epoch: number; atMs: number }>();
  /** When this node last became the leader (performance.now()); null while it is not. */
  #leaderSinceMs: number | null = null;
  /** Rebalancing moves under way: stream -> target and when it started. */
  readonly #moves = new Map<string, { to: Id; fromEpoch: number; atMs: number }>();
  /** What placement had no node for, per stream, as last logged (#noteNoNode). */
  readonly #noNode = new Map<string, 'worker' | 'standby'>();
  /** Start times of the moves of the last minute (the budget). */
  #movesStartedMs: number[] = [];
  #lastRebalanceMs = 0;
  readonly #rebalanceIntervalMs: number;
  readonly #moveTimeoutMs: number;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  /** Seeds each round's placement (deterministic per round, varied across rounds). */
  #round = 0;

  constructor(components: StreamsLoopComponents, init: StreamsLoopInit = {}) {
    this.#c = components;
    this.#intervalMs = init.intervalMs ?? 250;
    this.#decision = { ...defaultDecisionInit, ...init };
    this.#rebalanceIntervalMs = init.rebalanceIntervalMs ?? 10_000;
    this.#moveTimeoutMs = init.moveTimeoutMs ?? 60_000;
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
      if (!this.#c.isLeader()) {
        this.#sealSeen.clear(); // a later term waits afresh
        this.#notRunning.clear();
        this.#moves.clear();
        this.#noNode.clear();
        this.#leaderSinceMs = null;
      }
      return;
    }
    const monoMs = this.#c.monotonicMs?.() ?? performance.now();
    const leaderSinceMs = (this.#leaderSinceMs ??= monoMs);
    // How long this leader has not heard from a member; a new leader counts from its start (it
    // has not had the chance, and the previous leader may have heard from it just now).
    const silentMs = (id: Id) => Math.min(this.#c.msSinceHeardFrom(id), monoMs - leaderSinceMs);
    const state = this.#c.state();
    if (state.clusterId === '') return;
    const nowMs = Date.now();
    this.#noteSeals(state, nowMs);
    const c = this.#c;
    const members = (id: Id): MemberFigures => {
      const m = c.members(id);
      if (id === c.selfId) return { ...m, health: 'alive' };
      return m.health === 'alive' && silentMs(id) > raftSilentSuspectMs ? { ...m, health: 'suspect' } : m;
    };
    this.#noteNotRunning(state, members, monoMs);
    this.#noteMoves(state, nowMs);
    for (const streamId of this.#noNode.keys()) if (!Object.hasOwn(state.streams, streamId)) this.#noNode.delete(streamId);
    if (nowMs - this.#lastRebalanceMs >= this.#rebalanceIntervalMs) {
      this.#lastRebalanceMs = nowMs;
      this.#startMoves(state, members, nowMs);
    }
    // Placement runs at most once a round, and only when a decision needs a node.
    let placed: { choose: (stream: StreamRecord, exclude: ReadonlySet<Id>) => Id | null; byId: ReadonlyMap<string, StreamPlacement> } | null = null;
    const choose = (stream: StreamRecord, exclude: ReadonlySet<Id>): Id | null => {
      if (placed === null) {
        const byId = placementsById(planRound(state, members, ++this.#round));
        placed = { choose: chooserFrom(byId), byId };
      }
      const nodeId = placed.choose(stream, exclude);
      if (nodeId === null) this.#noteNoNode(stream.id, placed.byId.get(stream.id));
      else this.#noNode.delete(stream.id);
      return nodeId;
    };
    const commands = decideStreams({
      state,
      nowMs,
      health: (id) => members(id).health,
      workerFigures: (id, streamId) => members(id).streams.find((f) => f.id === streamId),
      gatewayFigures: (streamId) => Object.keys(state.nodes)
        .filter((id) => members(id).health === 'alive')
        .map((id) => ({ nodeId: id, figures: c.gatewayFigures(id).find((f) => f.id === streamId) })),
      activeNotRunningMs: (streamId) => {
        const since = this.#notRunning.get(streamId);
        return since === undefined ? 0 : monoMs - since.sinceMs;
      },
      sealSeenAtMs: (streamId) => this.#sealSeen.get(streamId)?.atMs ?? null,
      policy: (stream) => streamPolicy(state, stream),
      choose,
      moveTarget: (streamId) => this.#moves.get(streamId)?.to ?? null,
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

  /** Logs why placement has no node for a stream that needs one: once when it finds none for
   *  the stream's worker, once for its standby, until it gets one. An operator sees why a channel
   *  stays down or without its standby; the reasons' counts change with every gossip round, so
   *  they are not logged again (placement/explain has them). */
  #noteNoNode(streamId: string, planned: StreamPlacement | undefined): void {
    const kind = (planned?.nodeId ?? null) === null ? 'worker' : 'standby';
    if (this.#noNode.get(streamId) === kind) return;
    this.#noNode.set(streamId, kind);
    this.#c.log(`streams: no node for ${streamId}${kind === 'standby' ? "'s standby" : ''}: ${planned?.why ?? 'placement gives none'}`);
  }

  /** Moves that finished (the stream's epoch changed), lost their stream, or took too long. */
  #noteMoves(state: ClusterState, nowMs: number): void {
    for (const [streamId, move] of this.#moves) {
      const a = Object.hasOwn(state.assignments, streamId) ? state.assignments[streamId]! : null;
      if (a === null || a.epoch !== move.fromEpoch || nowMs - move.atMs > this.#moveTimeoutMs) this.#moves.delete(streamId);
    }
    this.#movesStartedMs = this.#movesStartedMs.filter((t) => nowMs - t < budgetWindowMs);
  }

  /** Relieve overloaded nodes: placement's rebalance() within what is left of the budget. */
  #startMoves(state: ClusterState, members: (id: Id) => MemberFigures, nowMs: number): void {
    const budget = resolvePolicy(state.policy).rebalanceMovesPerMin - this.#movesStartedMs.length - this.#moves.size;
    if (budget <= 0) return;
    const { moves } = rebalance(placementInput(state, members), budget, ++this.#round);
    for (const move of moves) {
      const a = Object.hasOwn(state.assignments, move.streamId) ? state.assignments[move.streamId]! : null;
      if (move.kind !== 'move' || move.to === null || a === null || a.nodeId !== move.from || this.#moves.has(move.streamId)) continue;
      this.#moves.set(move.streamId, { to: move.to, fromEpoch: a.epoch, atMs: nowMs });
      this.#movesStartedMs.push(nowMs);
      this.#c.log(`streams: moving ${move.streamId} from ${move.from} to ${move.to}: ${move.why}`);
    }
  }

  /** Active workers that report their stream's ffmpeg as not running, or report streams without
   *  it (a worker that fenced itself stopped its ffmpeg; a report cut at maxStreamItems, or none
   *  yet, says nothing). */
  #noteNotRunning(state: ClusterState, members: (id: Id) => MemberFigures, monoMs: number): void {
    // Each worker's report indexed once per round: thousands of streams are checked every round.
    const reports = new Map<Id, { complete: boolean; status: Map<string, string | undefined> }>();
    const reportOf = (id: Id) => {
      let r = reports.get(id);
      if (r === undefined) {
        const m = members(id);
        r = { complete: m.host !== null && m.streams.length < maxStreamItems, status: new Map(m.streams.map((f) => [f.id, f.status])) };
        reports.set(id, r);
      }
      return r;
    };
    for (const [streamId, a] of Object.entries(state.assignments)) {
      const report = reportOf(a.nodeId);
      const notRunning = report.status.has(streamId) ? report.status.get(streamId) !== 'running' : report.complete;
      const seen = this.#notRunning.get(streamId);
      if (!notRunning) this.#notRunning.delete(streamId);
      else if (seen?.nodeId !== a.nodeId || seen.epoch !== a.epoch) this.#notRunning.set(streamId, { nodeId: a.nodeId, epoch: a.epoch, sinceMs: monoMs });
    }
    for (const streamId of this.#notRunning.keys()) if (!Object.hasOwn(state.assignments, streamId)) this.#notRunning.delete(streamId);
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
