// Single-server membership changes: validation, application and the entry encoding.
// Changes take effect when their entry enters the log (conf-history.ts), one at a time (the
// leader refuses a second while one is pending), which keeps every pair of consecutive
// majorities overlapping.
import { InvariantError } from './errors.ts';
import type { ConfChange, ConfChangeType, ConfState, NodeId } from './types.ts';

const changeTypes: readonly ConfChangeType[] = ['add-learner', 'promote', 'remove'];

/** Why `cc` cannot apply to `conf`, or null when it can. */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | null {
  const isVoter = conf.voters.includes(cc.node);
  const isLearner = conf.learners.includes(cc.node);
  switch (cc.type) {
    case 'add-learner':
      if (isVoter) return `${cc.node} is already a voter`;
      if (isLearner) return `${cc.node} is already a learner`;
      return null;
    case 'promote':
      if (isVoter) return `${cc.node} is already a voter`;
      if (!isLearner) return `${cc.node} is not a learner: add it as a learner first`;
      return null;
    case 'remove':
      if (!isVoter && !isLearner) return `${cc.node} is not a member`;
      if (isVoter && conf.voters.length === 1) return `${cc.node} is the last voter`;
      return null;
  }
}

/** The configuration after `cc`. A change that does not apply leaves `conf` as it is: every node
 *  applies the same committed entries, so every node skips the same ones. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  if (confChangeProblem(conf, cc) !== null) return conf;
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.node);
  switch (cc.type) {
    case 'add-learner':
      return { voters: conf.voters, learners: sorted([...conf.learners, cc.node]) };
    case 'promote':
      return { voters: sorted([...conf.voters, cc.node]), learners: without(conf.learners) };
    case 'remove':
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}

function sorted(ids: NodeId[]): NodeId[] {
  return ids.sort();
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, node: cc.node }));
}

/** Crashes on bytes that are not a conf change: a committed entry that does not decode means a
 *  bug or a damaged log (which the stores detect first), and applying past it would fork the state. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const value: unknown = JSON.parse(decoder.decode(data));
  if (typeof value === 'object' && value !== null && 'type' in value && 'node' in value) {
    const { type, node } = value;
    if (typeof node === 'string' && changeTypes.includes(type as ConfChangeType)) return { type: type as ConfChangeType, node };
  }
  throw new InvariantError(`raft invariant broken: not a membership change: ${decoder.decode(data)}`);
}
