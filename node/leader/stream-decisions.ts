// What the leader does next for each stream (docs/streams.md): give an unplaced stream a
// worker, move a stream off a worker that died, was disabled or is draining (make-before-break:
// the second worker runs before the switch), fail over to a ready standby when the active
// worker's ffmpeg stopped delivering (it restarts, say after losing its source), keep a hot
// standby, and switch epochs only once the old one is sealed and every gateway has said what it
// published. Pure: the loop (streams-loop.ts) feeds it the applied state, gossip and a
// placement choice, and proposes the commands it returns, one round at a time.
import type { GatewayFigures, StreamFigures } from '../gossip/report.ts';
import type { Assignment, ClusterState, Command, NodeId, Policy, StreamRecord } from '../state/index.ts';
import { defaultNodeAdmin } from '../state/index.ts';
import { defaultFenceAfterMs } from '../fence.ts';

export interface StreamsView {
  readonly state: ClusterState;
  readonly nowMs: number;
  /** The gossip view of a member. */
  health(id: NodeId): 'alive' | 'suspect' | 'down';
  /** What worker `id` reports about `streamId` (undefined when nothing). */
  workerFigures(id: NodeId, streamId: string): StreamFigures | undefined;
  /** What the gateway of each alive member reports about `streamId`. */
  gatewayFigures(streamId: string): readonly { readonly nodeId: NodeId; readonly figures: GatewayFigures | undefined }[];
  /** For how long the active worker has reported the stream's ffmpeg as not running (restarting,
   *  failed, starting again), as this leader saw it; 0 while it runs or reports nothing. */
  activeNotRunningMs(streamId: string): number;
  /** When this leader saw the seal of the stream's current epoch applied (null: not yet seen). */
  sealSeenAtMs(streamId: string): number | null;
  /** The stream's resolved policy. */
  policy(stream: StreamRecord): Policy;
  /** The node placement picks for `stream`, never one in `exclude`; null when none fits. */
  choose(stream: StreamRecord, exclude: ReadonlySet<NodeId>): NodeId | null;
  /** Where a rebalancing move the leader started takes the stream (null: none under way). */
  moveTarget(streamId: string): NodeId | null;
}

export interface DecisionInit {
  /** How long after a seal the leader waits for alive gateways that have not reported it:
   *  longer than a gateway's fence (a lease renewed by read barriers, node/fence.ts), so by then
   *  every gateway has applied the seal or is fenced. */
  readonly sealWaitMs: number;
  /** Bound on commands per round (a cluster starting with thousands of streams takes several). */
  readonly commandsPerRoundMax: number;
  /** The active worker's ffmpeg not running for this long, with a standby ready: switch to the
   *  standby rather than wait for the restart (an ffmpeg back from a lost source takes 3-5 s to
   *  its first segment; the standby has segments now). Two gossip reports at least. */
  readonly failoverAfterMs: number;
}

export const defaultDecisionInit: DecisionInit = { sealWaitMs: defaultFenceAfterMs + 1_000, commandsPerRoundMax: 64, failoverAfterMs: 1_500 };

/** The commands of one round, in stream priority order (then id). At most one per stream: the
 *  next round sees its effect. */
export function decideStreams(view: StreamsView, init: DecisionInit = defaultDecisionInit): Command[] {
  const { state } = view;
  const commands: Command[] = [];
  const streams = Object.values(state.streams).sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  for (const stream of streams) {
    if (commands.length >= init.commandsPerRoundMax) break;
    const command = decideOne(view, stream, init);
    if (command !== null) commands.push(command);
  }
  return commands;
}

function decideOne(view: StreamsView, stream: StreamRecord, init: DecisionInit): Command | null {
  const { state, nowMs: atMs } = view;
  const streamId = stream.id;
  const a = Object.hasOwn(state.assignments, streamId) ? state.assignments[streamId] : undefined;
  if (!stream.enabled) return a === undefined ? null : { type: 'UnassignStream', atMs, streamId };
  if (a === undefined) {
    const nodeId = view.choose(stream, new Set());
    return nodeId === null ? null : { type: 'AssignStream', atMs, streamId, nodeId, base: 0 };
  }
  const activeUsable = usable(view, stream, a.nodeId);
  const nextUsable = a.next !== null && usable(view, stream, a.next.nodeId) && !draining(state, a.next.nodeId);
  if (a.next !== null && !nextUsable) {
    // Replaced in one command where placement has a node: when a partition took the active
    // worker too, the new one's ffmpeg starts a round (and a commit) sooner.
    const nodeId = view.choose(stream, new Set([a.nodeId, a.next.nodeId]));
    return { type: 'SetNextWorker', atMs, streamId, nodeId };
  }
  const target = view.moveTarget(streamId);
  const failover = a.next !== null && view.activeNotRunningMs(streamId) >= init.failoverAfterMs && ready(view, a.next.nodeId, streamId);
  const moving = a.sealed || !activeUsable || draining(state, a.nodeId) || target !== null || failover;
  if (moving) {
    // A lost worker's epoch is sealed next (nothing more may be published of it), right after
    // the new worker is named: its ffmpeg needs 1-2 s to a first segment, the seal one round.
    // A planned move seals only once the new worker is ready: the old one publishes meanwhile.
    const seal: Command | null = !activeUsable && !a.sealed ? { type: 'SealStream', atMs, streamId, epoch: a.epoch } : null;
    if (a.next === null) {
      const nodeId = target !== null && activeUsable && usable(view, stream, target) ? target : view.choose(stream, new Set([a.nodeId]));
      return nodeId === null ? seal : { type: 'SetNextWorker', atMs, streamId, nodeId };
    }
    if (seal !== null) return seal;
    if (!ready(view, a.next.nodeId, streamId)) return null;
    if (!a.sealed) return { type: 'SealStream', atMs, streamId, epoch: a.epoch };
    const base = switchBase(view, a, init);
    // The new worker's newest complete segment is published next: a standby that ran for a while
    // does not make the public numbers jump (players need exactly last + 1).
    const firstIndex = view.workerFigures(a.next.nodeId, streamId)?.lastSegment ?? 0;
    return base === null ? null : { type: 'SwitchStream', atMs, streamId, epoch: a.next.epoch, base, firstIndex };
  }
  const policy = view.policy(stream);
  if (policy.hotStandby && a.next === null) {
    const nodeId = view.choose(stream, new Set([a.nodeId]));
    return nodeId === null ? null : { type: 'SetNextWorker', atMs, streamId, nodeId };
  }
  if (!policy.hotStandby && a.next !== null) return { type: 'SetNextWorker', atMs, streamId, nodeId: null };
  return null;
}

/** A node that may run `stream` now: a member, alive, enabled, and allowed by the pin. */
function usable(view: StreamsView, stream: StreamRecord, id: NodeId): boolean {
  const node = Object.hasOwn(view.state.nodes, id) ? view.state.nodes[id] : undefined;
  if (node === undefined || !node.enabled || view.health(id) !== 'alive') return false;
  if (stream.pinNode !== null && stream.pinNode !== id) return false;
  return stream.pinGroup === null || node.groups.includes(stream.pinGroup);
}

function draining(state: ClusterState, id: NodeId): boolean {
  return (Object.hasOwn(state.nodeAdmin, id) ? state.nodeAdmin[id]! : defaultNodeAdmin).draining;
}

/** The second worker runs the stream and has written at least one complete segment. */
function ready(view: StreamsView, id: NodeId, streamId: string): boolean {
  const figures = view.workerFigures(id, streamId);
  return figures?.status === 'running' && figures.lastSegment !== undefined;
}

/** The new epoch's base: one past the highest number any gateway published of the sealed epoch,
 *  once every alive gateway has reported the seal (or the wait is over); null: wait. */
function switchBase(view: StreamsView, a: Assignment, init: DecisionInit): number | null {
  const reports = view.gatewayFigures(a.streamId);
  const seenAtMs = view.sealSeenAtMs(a.streamId);
  const allSealed = reports.every((r) => r.figures?.epoch === a.epoch && r.figures.sealed === true);
  const waitedOut = seenAtMs !== null && view.nowMs - seenAtMs >= init.sealWaitMs;
  if (!allSealed && !waitedOut) return null;
  let base = a.base;
  for (const r of reports) {
    const f = r.figures;
    if (f?.epoch === a.epoch && f.lastPublished !== undefined) base = Math.max(base, f.lastPublished + 1);
  }
  return base;
}
