// Autopilot of the voter set (pure): given the Raft configuration, the members the cluster state
// lists and their health, decide the next single membership change, or none. The leader runs
// it about once a second and proposes what it returns; Raft allows one change at a time, so one
// decision at a time is all there is.
//
// Rules, in order:
// 1. a node in the Raft configuration that the state no longer lists is removed;
// 2. a node the state lists that Raft does not know joins as a learner;
// 3. while there are fewer voters than the target, the healthiest caught-up learner is promoted;
// 4. a voter down for longer than `replaceDownVoterAfterMs` is replaced: a healthy learner is
//    promoted first (never fewer live voters than before), then, with one voter too many,
//    the dead one is removed (it is re-added as a learner by rule 2 and can be promoted again
//    once it is back and needed).
// The target is odd: an even voter count adds no fault tolerance and makes quorum larger.
import type { ConfChange, ConfState, NodeId } from '../../consensus/core/index.ts';

export type Health = 'alive' | 'suspect' | 'down';

export interface AutopilotInput {
  readonly leaderId: NodeId;
  readonly conf: ConfState;
  /** Ids of the nodes the replicated state lists. */
  readonly members: readonly NodeId[];
  readonly health: (id: NodeId) => Health;
  /** Since when a node has been down (ms), or null if it is not down. */
  readonly downSinceMs: (id: NodeId) => number | null;
  /** Whether a learner's log is close enough to the leader's to count its vote soon. */
  readonly caughtUp: (id: NodeId) => boolean;
  readonly votersTarget: 3 | 5;
  readonly replaceDownVoterAfterMs: number;
  readonly nowMs: number;
}

export interface AutopilotDecision {
  readonly change: ConfChange;
  /** Why, for the log and the audit trail. */
  readonly reason: string;
}

/** The voter count to aim for with `eligible` nodes: the largest odd number <= both. */
export function targetVoters(eligible: number, votersTarget: 3 | 5): number {
  const n = Math.max(1, Math.min(eligible, votersTarget));
  return n % 2 === 1 ? n : n - 1;
}

export function decide(input: AutopilotInput): AutopilotDecision | null {
  const { conf, leaderId } = input;
  const listed = new Set(input.members);
  const inRaft = new Set([...conf.voters, ...conf.learners]);

  for (const id of [...conf.learners, ...conf.voters]) {
    if (!listed.has(id) && id !== leaderId) return { change: { type: 'remove', node: id }, reason: `${id} was removed from the cluster` };
  }
  for (const id of [...input.members].sort()) {
    if (!inRaft.has(id)) return { change: { type: 'add-learner', node: id }, reason: `${id} joined the cluster` };
  }

  const liveVoters = conf.voters.filter((id) => input.health(id) !== 'down');
  const deadTooLong = conf.voters.filter((id) => {
    const since = input.downSinceMs(id);
    return id !== leaderId && since !== null && input.nowMs - since >= input.replaceDownVoterAfterMs;
  });
  const target = targetVoters(conf.voters.length + conf.learners.length, input.votersTarget);
  const candidate = bestLearner(input);

  if (conf.voters.length < target && candidate !== null) {
    return { change: { type: 'promote', node: candidate }, reason: `${conf.voters.length} voters, target ${target}: promoting ${candidate}` };
  }
  if (deadTooLong.length > 0) {
    const dead = deadTooLong.sort()[0]!;
    if (conf.voters.length > target) {
      return { change: { type: 'remove', node: dead }, reason: `voter ${dead} has been down for more than ${input.replaceDownVoterAfterMs} ms and a replacement votes` };
    }
    if (candidate !== null && liveVoters.length >= majority(conf.voters.length)) {
      return { change: { type: 'promote', node: candidate }, reason: `voter ${dead} has been down for more than ${input.replaceDownVoterAfterMs} ms: promoting ${candidate} to replace it` };
    }
  }
  return null;
}

export interface RemovalInput {
  /** The node an operator wants removed. */
  readonly node: NodeId;
  readonly leaderId: NodeId;
  readonly conf: ConfState;
  readonly health: (id: NodeId) => Health;
  /** For messages. */
  readonly nameOf: (id: NodeId) => string;
}

/** Why removing `node` from the cluster now would hurt it, or null when it may go. Removal cuts
 *  the node off at once (connection gating) while the leader takes it out of the Raft
 *  configuration, which needs a quorum of the current voters: so the voters other than it that
 *  are alive must be a majority of all current voters. The leader cannot remove itself (it would
 *  have to step down first, and it is the one that changes the configuration). */
export function removalProblem(input: RemovalInput): string | null {
  const { node, leaderId, conf } = input;
  const name = input.nameOf(node);
  if (node === leaderId) {
    return `node ${name} is the current leader and cannot remove itself: stop its process first (the others elect a new leader within seconds), then remove it`;
  }
  if (!conf.voters.includes(node)) return null;
  const liveOthers = conf.voters.filter((id) => id !== node && (id === leaderId || input.health(id) === 'alive'));
  const quorum = majority(conf.voters.length);
  if (liveOthers.length >= quorum) return null;
  const down = conf.voters.filter((id) => id !== node && !liveOthers.includes(id)).map(input.nameOf);
  const what = down.length === 0
    ? 'wait for the autopilot to promote a learner first (add a node if there is none)'
    : `bring ${down.join(', ')} back first (or wait for the autopilot to replace ${down.length === 1 ? 'it' : 'them'})`;
  return `removing voter ${name} now would leave ${liveOthers.length} of the ${conf.voters.length} voters alive, fewer than the quorum of ${quorum} ` +
    `the cluster needs to change its configuration and keep working: ${what}`;
}

function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** An alive, caught-up learner; ties broken by id so every leader picks the same one. */
function bestLearner(input: AutopilotInput): NodeId | null {
  const ready = input.conf.learners.filter((id) => input.health(id) === 'alive' && input.caughtUp(id));
  return ready.sort()[0] ?? null;
}
