// The public face of node/upgrade: rolling upgrades (docs/upgrade.md). A node builds its parts
// with upgradeParts() and serves them through node/http/routes/upgrade.ts.
import { UpgradeAgent } from './agent.ts';
import { RolloutCoordinator } from './coordinator.ts';
import type { CoordinatorInit } from './coordinator.ts';
import type { UpgradeNode } from './host.ts';
import { UpgradeStore } from './store.ts';

export { UpgradeAgent, sourcesMessage } from './agent.ts';
export type { NodeReport } from './agent.ts';
export { RolloutCoordinator } from './coordinator.ts';
export type { CoordinatorInit, ExecutableInfo } from './coordinator.ts';
export { UpgradeError } from './errors.ts';
export { executableBytesMax } from './executable.ts';
export type { UpgradeNode } from './host.ts';
export type { BuildId, TargetBuild } from './plan.ts';
export { buildText, progressLines, stepPhases } from './rollout.ts';
export type { Rollout, RolloutStep, StepPhase } from './rollout.ts';
export type { StoredExecutable } from './store.ts';

export interface UpgradeParts {
  /** This node's own side: what it runs, upgrading itself. */
  readonly agent: UpgradeAgent;
  /** The rollouts this node coordinates. */
  readonly coordinator: RolloutCoordinator;
  /** The node-to-node token the /internal routes check. */
  internalToken(): string;
}

export function upgradeParts(node: UpgradeNode, dataDir: string, init: CoordinatorInit = {}): UpgradeParts {
  const agent = new UpgradeAgent(node, dataDir);
  const coordinator = new RolloutCoordinator(node, agent, new UpgradeStore(dataDir), init);
  return { agent, coordinator, internalToken: () => node.channels?.internalToken ?? '' };
}
