// The record of one rollout: its target, the state of each node's step, and how it ended. The
// coordinator keeps it in memory and in its data dir (so its own restart, the last step, is
// finished by the new process); GET /api/v1/upgrade shows it and `ottmesh upgrade` prints its
// changes. Pure: transitions take the time as a parameter and return a new record.
import type { Actor } from '../state/index.ts';
import type { BuildId, NodeId, PlannedStep, TargetBuild } from './plan.ts';

export const stepPhases = ['pending', 'draining', 'upgrading', 'waiting-health', 'done', 'failed'] as const;
export type StepPhase = (typeof stepPhases)[number];

export interface RolloutStep {
  readonly nodeId: NodeId;
  readonly name: string;
  readonly phase: StepPhase;
  readonly from: BuildId;
  readonly to: BuildId;
  /** The executable file it runs from (its old build is kept as `<executable>.previous`). */
  readonly executable: string | null;
  /** Its draining flag before the rollout drained it: what is put back afterwards. */
  readonly wasDraining: boolean;
  /** False: it ran the target already and is skipped. */
  readonly upgrade: boolean;
  readonly startedAtMs: number | null;
  readonly endedAtMs: number | null;
  /** The latest thing worth saying (what it waits for, why it failed). */
  readonly message: string | null;
}

export type RolloutStatus = 'running' | 'done' | 'failed';

export interface Rollout {
  readonly id: string;
  readonly coordinatorId: NodeId;
  readonly coordinatorName: string;
  /** Who asked for it: the drains and un-drains are proposed (and audited) as them. */
  readonly actor: Actor | null;
  readonly target: TargetBuild & { readonly bytes: number };
  /** How long each restarted node may take to be healthy on the target. */
  readonly healthTimeoutS: number;
  readonly status: RolloutStatus;
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
  /** How it ended (or what it does now), for the operator. */
  readonly message: string | null;
  /** In rollout order. */
  readonly steps: readonly RolloutStep[];
}

export function newRollout(o: {
  id: string; coordinatorId: NodeId; coordinatorName: string; actor: Actor | null; target: Rollout['target']; healthTimeoutS: number; steps: readonly PlannedStep[]; nowMs: number;
}): Rollout {
  const to = { version: o.target.version, commit: o.target.commit };
  return {
    id: o.id, coordinatorId: o.coordinatorId, coordinatorName: o.coordinatorName, actor: o.actor, target: o.target, healthTimeoutS: o.healthTimeoutS, status: 'running',
    startedAtMs: o.nowMs, endedAtMs: null, message: null,
    steps: o.steps.map((s) => ({
      nodeId: s.nodeId, name: s.name, phase: s.upgrade ? 'pending' : 'done', from: s.from, to, executable: s.executable, wasDraining: s.wasDraining, upgrade: s.upgrade,
      startedAtMs: s.upgrade ? null : o.nowMs, endedAtMs: s.upgrade ? null : o.nowMs,
      message: s.upgrade ? null : `already runs ${buildText(to)}: skipped`,
    })),
  };
}

/** Moves node `nodeId`'s step to `phase` (with `message`; null keeps none). */
export function withPhase(rollout: Rollout, nodeId: NodeId, phase: StepPhase, nowMs: number, message: string | null = null): Rollout {
  const ends = phase === 'done' || phase === 'failed';
  return {
    ...rollout,
    steps: rollout.steps.map((s) => (s.nodeId !== nodeId ? s : {
      ...s, phase, message, startedAtMs: s.startedAtMs ?? nowMs, endedAtMs: ends ? nowMs : null,
    })),
  };
}

/** Only the message of node `nodeId`'s step changes (what it waits for now). */
export function withMessage(rollout: Rollout, nodeId: NodeId, message: string): Rollout {
  return { ...rollout, steps: rollout.steps.map((s) => (s.nodeId === nodeId ? { ...s, message } : s)) };
}

export function finished(rollout: Rollout, status: 'done' | 'failed', nowMs: number, message: string): Rollout {
  return { ...rollout, status, endedAtMs: nowMs, message };
}

/** Nodes still to upgrade, in rollout order. */
export function pendingIds(rollout: Rollout): NodeId[] {
  return rollout.steps.filter((s) => s.phase === 'pending').map((s) => s.nodeId);
}

/** The step under way (draining, upgrading or waiting for health), if any. */
export function activeStep(rollout: Rollout): RolloutStep | null {
  return rollout.steps.find((s) => s.phase === 'draining' || s.phase === 'upgrading' || s.phase === 'waiting-health') ?? null;
}

export function buildText(build: BuildId): string {
  return `${build.version} (commit ${build.commit})`;
}

/** What progressLines reads of a rollout (the API's view of one has it too). */
export type RolloutProgress = Pick<Rollout, 'status' | 'message' | 'steps'>;

/** The lines `ottmesh upgrade` prints for what changed between two views of a rollout (`before`
 *  null: the first view). One line per step whose phase or message changed, then the end. */
export function progressLines(before: RolloutProgress | null, after: RolloutProgress): string[] {
  const lines: string[] = [];
  for (const step of after.steps) {
    const old = before?.steps.find((s) => s.nodeId === step.nodeId);
    if (old !== undefined && old.phase === step.phase && old.message === step.message) continue;
    const change = step.phase === 'done' && !step.upgrade ? '' : ` ${buildText(step.from)} -> ${buildText(step.to)}`;
    lines.push(`${step.name}: ${step.phase}${change}${step.message === null ? '' : `: ${step.message}`}`);
  }
  if (after.status !== 'running' && before?.status !== after.status) {
    lines.push(after.status === 'done' ? `upgrade done: ${after.message ?? ''}` : `upgrade failed: ${after.message ?? ''}`);
  }
  return lines;
}
