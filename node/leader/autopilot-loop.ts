// The leader's autopilot loop: about once a second, while this node leads, ask the pure
// decision (autopilot.ts) for the next membership change and propose it. Leader-only work
// starts only once the leader has applied its term's no-op (the driver refuses conf changes
// before that) and stops the moment leadership is lost (each round checks).
import type { NodeId } from '../../consensus/core/index.ts';
import { NotLeaderError, ProposalDroppedError } from '../../consensus/core/index.ts';
import type { RaftDriver } from '../../consensus/driver.ts';
import { memberIds } from '../state/index.ts';
import type { ClusterState } from '../state/index.ts';
import { decide } from './autopilot.ts';
import type { Health } from './autopilot.ts';

export interface Membership {
  health(id: NodeId): Health;
  downSinceMs(id: NodeId): number | null;
  /** Whether a telemetry report from `id` has arrived (it runs, not just joined). */
  reported(id: NodeId): boolean;
}

export interface AutopilotComponents {
  readonly driver: Pick<RaftDriver, 'status' | 'proposeConfChange'>;
  readonly state: () => ClusterState;
  readonly membership: () => Membership;
  readonly log: (line: string) => void;
}

export interface AutopilotInit {
  /** How often the leader reconsiders the voter set. */
  readonly intervalMs?: number;
  /** A learner is caught up when its log is within this many entries of the leader's. */
  readonly caughtUpEntries?: number;
}

export class AutopilotLoop {
  readonly #c: AutopilotComponents;
  readonly #intervalMs: number;
  readonly #caughtUpEntries: number;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  constructor(components: AutopilotComponents, init: AutopilotInit) {
    this.#c = components;
    this.#intervalMs = init.intervalMs ?? 1000;
    this.#caughtUpEntries = init.caughtUpEntries ?? 100;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#round(), this.#intervalMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Decide now rather than at the next tick (e.g. a node was just removed from the state: take
   *  it out of the Raft configuration at once). Does nothing when stopped or not leading. */
  wake(): void {
    if (this.#timer !== null) void this.#round();
  }

  async #round(): Promise<void> {
    if (this.#busy) return;
    const status = this.#c.driver.status();
    if (status.role !== 'leader' || status.progress === null) return;
    const state = this.#c.state();
    if (state.clusterId === '') return; // not initialized yet
    const membership = this.#c.membership();
    const progress = status.progress;
    const decision = decide({
      leaderId: status.id,
      conf: status.conf,
      members: memberIds(state),
      health: (id) => (id === status.id ? 'alive' : membership.health(id)),
      downSinceMs: (id) => membership.downSinceMs(id),
      // Caught up, and seen running: it has acknowledged log entries and sent a telemetry report.
      // A node that joined and died at once is alive only by its join grace; made a voter, it
      // would cost a small cluster its quorum.
      caughtUp: (id) => {
        const match = progress.get(id)?.match ?? 0;
        return match > 0 && match + this.#caughtUpEntries >= status.lastIndex && membership.reported(id);
      },
      votersTarget: state.settings.votersTarget,
      replaceDownVoterAfterMs: state.settings.replaceDownVoterAfterS * 1000,
      nowMs: Date.now(),
    });
    if (decision === null) return;
    this.#busy = true;
    try {
      this.#c.log(`autopilot: ${decision.change.type} ${decision.change.node}: ${decision.reason}`);
      await this.#c.driver.proposeConfChange(decision.change);
    } catch (err) {
      // Lost leadership, or a change is still pending: the next round decides afresh.
      if (!(err instanceof NotLeaderError || err instanceof ProposalDroppedError)) this.#c.log(`autopilot: ${(err as Error).message}`);
    } finally {
      this.#busy = false;
    }
  }
}
