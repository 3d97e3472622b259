// diff(): what the cluster must do to go from the copies that run to a plan: the moves, each with
// its reason. POST /api/v1/placement/plan shows them (a dry run); the leader turns them into
// assignment commands (a 'move' is make-before-break: start on `to`, switch, stop on `from`).
import type { Assigned, Move, Plan, PlacementInput } from './types.ts';

/** What runs now, by stream id, as the input view says. */
export function currentAssignments(input: PlacementInput): Map<string, Assigned> {
  return new Map(input.streams.map((s) => [s.id, { nodeId: s.currentNode, standbyNodeId: s.standbyNode ?? null }]));
}

/** The moves from `current` to `plan`, in the plan's order (streams in current that the plan does
 *  not list are stopped, last, by id). A standby promoted to active is one 'promote', not a stop
 *  and a start. Pure; neither argument is changed. */
export function diff(current: ReadonlyMap<string, Assigned>, plan: Plan): Move[] {
  const moves: Move[] = [];
  const listed = new Set<string>();
  for (const s of plan.streams) {
    listed.add(s.streamId);
    const was = current.get(s.streamId) ?? { nodeId: null, standbyNodeId: null };
    const why = s.why ?? 'the plan differs from what runs';
    const promoted = was.standbyNodeId !== null && s.nodeId === was.standbyNodeId && was.nodeId !== s.nodeId;
    if (was.nodeId !== s.nodeId) {
      const kind = promoted ? 'promote' : was.nodeId === null ? 'start' : s.nodeId === null ? 'stop' : 'move';
      moves.push({ streamId: s.streamId, kind, from: was.nodeId, to: s.nodeId, why });
    }
    const oldStandby = promoted ? null : was.standbyNodeId;
    if (oldStandby !== s.standbyNodeId) {
      const kind = oldStandby === null ? 'standby-start' : s.standbyNodeId === null ? 'standby-stop' : 'standby-move';
      moves.push({ streamId: s.streamId, kind, from: oldStandby, to: s.standbyNodeId, why });
    }
  }
  const gone = [...current.keys()].filter((id) => !listed.has(id)).sort();
  for (const streamId of gone) {
    const was = current.get(streamId)!;
    const why = 'the stream is no longer in the plan';
    if (was.nodeId !== null) moves.push({ streamId, kind: 'stop', from: was.nodeId, to: null, why });
    if (was.standbyNodeId !== null) moves.push({ streamId, kind: 'standby-stop', from: was.standbyNodeId, to: null, why });
  }
  return moves;
}
