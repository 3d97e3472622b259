// The rollout coordinator: runs on the node that was asked (POST /api/v1/upgrade) and upgrades
// the cluster one node at a time (plan.ts says the order). Each step: drain the node (its streams
// move away make-before-break), hand over leadership if it leads, tell it to fetch, check and
// install the executable from here and restart, wait until it is healthy on the new build
// (answers on it, caught up in Raft, alive in gossip with the new version), then put its admin
// state back. A step that fails stops the rollout with a message that says what to do. Not
// replicated: if this node dies, the rollout stops there; running it again skips every node
// that runs the target already.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';

import { defaultNodeAdmin, findNode, nodesSorted } from '../state/index.ts';
import type { Actor, Command } from '../state/index.ts';
import { runningExecutable } from '../exe-path.ts';
import { sameBuild } from '../version.ts';
import { downloadTimeoutMs, sourcesMessage } from './agent.ts';
import type { NodeReport, UpgradeAgent } from './agent.ts';
import { UpgradeError } from './errors.ts';
import { buildOfExecutable, fileBytes, receiveFile } from './executable.ts';
import type { UpgradeNode } from './host.ts';
import { nextNode, planRollout, streamsOn, transferTarget } from './plan.ts';
import type { NodeFacts, NodeId, TargetBuild } from './plan.ts';
import { callPeer } from './peers.ts';
import { activeStep, buildText, finished, newRollout, pendingIds, withMessage, withPhase } from './rollout.ts';
import type { Rollout, RolloutStep } from './rollout.ts';
import type { StoredExecutable, UpgradeStore } from './store.ts';

export interface CoordinatorInit {
  /** How long a drain may take before the step goes on anyway (streams that found no other
   *  node pause while it restarts). Default 60 s. */
  readonly drainTimeoutMs?: number;
  /** How long leadership may take to move to an upgraded voter. Default 15 s. */
  readonly leaderTransferTimeoutMs?: number;
  /** How long a restarted node may take to be healthy on the new build, unless a rollout
   *  asks for another. Default 60 s. */
  readonly healthTimeoutMs?: number;
  /** How often the waits look again. Default 250 ms. */
  readonly pollIntervalMs?: number;
}

/** An executable this node can hand out: the uploaded one, or the one it runs. */
export interface ExecutableInfo {
  readonly path: string;
  readonly sha256: string;
  readonly version: string;
  readonly commit: string;
  readonly bytes: number;
}

/** A step that cannot go on; its message is the operator's whole story. */
class StepFailure extends Error {
  override readonly name = 'StepFailure';
}

/** Bound on the time a write (drain, un-drain) is retried through leader changes. */
const proposeRetryMs = 30_000;
/** Bound on one call to a peer's /internal/v1/upgrade/node. */
const reportTimeoutMs = 8_000;

export class RolloutCoordinator {
  readonly #node: UpgradeNode;
  readonly #agent: UpgradeAgent;
  readonly #store: UpgradeStore;
  readonly #drainTimeoutMs: number;
  readonly #leaderTransferTimeoutMs: number;
  readonly #healthTimeoutMs: number;
  readonly #pollIntervalMs: number;
  #rollout: Rollout | null = null;
  #saving: Promise<void> = Promise.resolve();
  #stopped = false;
  #uploading = false;

  constructor(node: UpgradeNode, agent: UpgradeAgent, store: UpgradeStore, init: CoordinatorInit = {}) {
    this.#node = node;
    this.#agent = agent;
    this.#store = store;
    this.#drainTimeoutMs = init.drainTimeoutMs ?? 60_000;
    this.#leaderTransferTimeoutMs = init.leaderTransferTimeoutMs ?? 15_000;
    this.#healthTimeoutMs = init.healthTimeoutMs ?? 60_000;
    this.#pollIntervalMs = init.pollIntervalMs ?? 250;
  }

  /** The rollout this node runs or ran last (null: none since its data dir was made). */
  get rollout(): Rollout | null {
    return this.#rollout;
  }

  /** The executable this process runs, or null when it runs from sources. */
  async running(): Promise<ExecutableInfo | null> {
    const self = await this.#agent.self();
    if (self.executable === null || self.sha256 === null) return null;
    return { path: self.executable, sha256: self.sha256, ...self.build, bytes: (await fileBytes('/proc/self/exe')) ?? (await fileBytes(self.executable)) ?? 0 };
  }

  uploaded(): Promise<StoredExecutable | null> {
    return this.#store.uploaded();
  }

  /** The file to serve for `sha256` (GET /internal/v1/upgrade/executable), or null. */
  async executableFor(sha256: string): Promise<ExecutableInfo | null> {
    const uploaded = await this.#store.uploaded();
    if (uploaded?.sha256 === sha256) return uploaded;
    const running = await this.running();
    // The running file may have been replaced on disk already; /proc/self/exe is still it.
    if (running?.sha256 === sha256) return { ...running, path: runningExecutable() === null ? running.path : '/proc/self/exe' };
    return null;
  }

  /** Keeps an uploaded executable after checking it runs and names its build (422 if not). */
  async upload(body: Readable, bytesMax?: number): Promise<StoredExecutable> {
    if (this.#rollout?.status === 'running') throw new UpgradeError(409, 'a rollout is under way: upload a new executable once it has ended');
    if (this.#uploading) throw new UpgradeError(409, 'another upload is under way to this node: wait until it ends');
    this.#uploading = true;
    try {
      const received = await receiveFile(body, await this.#store.ensureDir(), bytesMax);
      try {
        const build = await buildOfExecutable(received.path);
        this.#node.logLine(`upgrade: received an executable of ${build.version} (commit ${build.commit}), sha256 ${received.sha256}`);
        return await this.#store.keepUploaded(received.path, { sha256: received.sha256, bytes: received.bytes, ...build, uploadedAtMs: Date.now() });
      } catch (err) {
        await rm(received.path, { force: true });
        throw err;
      }
    } finally {
      this.#uploading = false;
    }
  }

  /**
   * Plans a rollout of the executable `sha256` (uploaded here, or the one this node runs; none
   * given: the one it runs) and, unless `dryRun`, starts it in the background. Resolves with the
   * rollout as planned. Throws UpgradeError: 404 no such executable, 409 a rollout under way or
   * a refused plan (a node down, one running from sources ...), 503 no leader.
   */
  async start(request: { sha256?: string | undefined; dryRun?: boolean | undefined; healthTimeoutS?: number | undefined }, actor: Actor | null): Promise<Rollout> {
    this.#refuseWhileRunning();
    const target = await this.#target(request.sha256);
    try {
      await this.#node.driver.read();
    } catch (err) {
      throw new UpgradeError(503, `this node cannot reach the cluster's leader right now (${(err as Error).message}): retry in a few seconds`);
    }
    const plan = planRollout({ nodes: await this.#facts(), leaderId: this.#node.driver.status().leaderId, coordinatorId: this.#node.peerId, target });
    if (!plan.ok) throw new UpgradeError(409, plan.problem);
    const rollout = newRollout({
      id: randomUUID(), coordinatorId: this.#node.peerId, coordinatorName: this.#node.config.name, actor, target, steps: plan.steps, nowMs: Date.now(),
      healthTimeoutS: request.healthTimeoutS ?? this.#healthTimeoutMs / 1000,
    });
    if (request.dryRun === true) return rollout;
    this.#refuseWhileRunning(); // another request may have started one while this one planned
    this.#agent.busy = `coordinating rollout ${rollout.id}`;
    this.#update(rollout);
    this.#node.logLine(`upgrade: rollout ${rollout.id} to ${buildText(target)} started: ${rollout.steps.map((s) => s.name).join(', ')}`);
    void this.#run();
    return rollout;
  }

  /** At the node's start: finish this node's own step if the rollout restarted it, or say that
   *  a rollout this node coordinated stopped when it went away. */
  async resume(): Promise<void> {
    const stored = await this.#store.rollout();
    this.#rollout = stored;
    if (stored === null || stored.status !== 'running') return;
    this.#agent.busy = `coordinating rollout ${stored.id}`;
    const active = activeStep(stored);
    try {
      if (active !== null && active.nodeId === this.#node.peerId && active.phase === 'waiting-health') {
        await this.#finishOwnStep(active);
        return;
      }
      const where = active === null ? 'between two steps' : `while ${active.name} was ${active.phase}`;
      const message = `the coordinator ${stored.coordinatorName} restarted ${where}: the rollout stopped there. Run the upgrade again: nodes that run the target already are skipped`;
      if (active !== null) {
        await this.#restoreAdmin(active).catch((err: unknown) => this.#node.logLine(`upgrade: could not put back the admin state of ${active.name}: ${(err as Error).message}`));
        this.#update(withPhase(this.#rollout!, active.nodeId, 'failed', Date.now(), 'the coordinator restarted during this step'));
      }
      this.#finish('failed', message);
    } finally {
      this.#agent.busy = null;
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  #refuseWhileRunning(): void {
    const rollout = this.#rollout;
    if (rollout?.status === 'running') throw new UpgradeError(409, `rollout ${rollout.id} is under way: follow it with GET /api/v1/upgrade`);
    // The upload would replace the file the rollout hands out.
    if (this.#uploading) throw new UpgradeError(409, 'an executable is being uploaded to this node: start the rollout once the upload has ended');
  }

  async #target(sha256: string | undefined): Promise<TargetBuild & { bytes: number }> {
    if (sha256 === undefined) {
      const running = await this.running();
      if (running === null) throw new UpgradeError(409, `${sourcesMessage}; to roll out an executable from here, upload it first (PUT /api/v1/upgrade/executable, or ottmesh upgrade --executable PATH)`);
      return running;
    }
    const found = await this.executableFor(sha256);
    if (found === null) throw new UpgradeError(404, `this node has no executable with sha256 ${sha256}: upload it first (PUT /api/v1/upgrade/executable, or ottmesh upgrade --executable PATH)`);
    return found;
  }

  /** Every member as the plan needs it: gossip health, voter or not, its admin state, and what
   *  it says of itself (asked over /internal, all at once). */
  async #facts(): Promise<NodeFacts[]> {
    const state = this.#node.machine.current();
    const raft = this.#node.driver.status();
    return Promise.all(nodesSorted(state).map(async (n): Promise<NodeFacts> => {
      const self = n.id === this.#node.peerId ? await this.#agent.self() : await this.#askReport(n.id, n.name);
      const admin = Object.hasOwn(state.nodeAdmin, n.id) ? state.nodeAdmin[n.id]! : defaultNodeAdmin;
      return { id: n.id, name: n.name, health: this.#health(n.id), voter: raft.conf.voters.includes(n.id), draining: admin.draining, self };
    }));
  }

  async #askReport(id: NodeId, name: string): Promise<NodeReport | null> {
    const url = findNode(this.#node.machine.current(), id)?.httpUrl;
    if (url === undefined) return null;
    const answer = await callPeer<NodeReport>(url, this.#token(), 'GET', '/internal/v1/upgrade/node', undefined, reportTimeoutMs);
    if (answer.ok) return answer.body;
    if (answer.status === 404) throw new UpgradeError(409, `node ${name} does not know rolling upgrades (${answer.message}): it runs an ottmesh from before them; upgrade it by hand once`);
    return null;
  }

  #health(id: NodeId): 'alive' | 'suspect' | 'down' {
    if (id === this.#node.peerId) return 'alive';
    return this.#node.telemetry?.membership.state(id) ?? 'down';
  }

  #token(): string {
    return this.#node.channels?.internalToken ?? '';
  }

  #update(rollout: Rollout): void {
    this.#rollout = rollout;
    this.#saving = this.#saving.then(() => this.#store.saveRollout(rollout)).catch((err: unknown) => this.#node.logLine(`upgrade: could not save the rollout's progress: ${(err as Error).message}`));
  }

  #finish(status: 'done' | 'failed', message: string): void {
    this.#update(finished(this.#rollout!, status, Date.now(), message));
    this.#agent.busy = null;
    this.#node.logLine(`upgrade: rollout ${status}: ${message}`);
  }

  async #run(): Promise<void> {
    for (;;) {
      const rollout = this.#rollout!;
      const next = nextNode(pendingIds(rollout), this.#node.driver.status().leaderId, this.#node.peerId);
      if (next === null) {
        this.#finish('done', `every node runs ${buildText(rollout.target)}`);
        return;
      }
      const step = rollout.steps.find((s) => s.nodeId === next)!;
      try {
        if (this.#stopped) throw new StepFailure('the coordinator is stopping');
        if (next === this.#node.peerId) {
          await this.#ownStep(step);
          return; // restarting: the new process finishes the step (resume)
        }
        await this.#step(step);
      } catch (err) {
        const message = err instanceof StepFailure || err instanceof UpgradeError ? err.message : `unexpected: ${(err as Error).stack ?? String(err)}`;
        await this.#restoreAdmin(step).catch((restoreErr: unknown) => this.#node.logLine(`upgrade: could not put back the admin state of ${step.name}: ${(restoreErr as Error).message}`));
        this.#update(withPhase(this.#rollout!, step.nodeId, 'failed', Date.now(), message));
        this.#finish('failed', `${step.name}: ${message}. The rollout stopped there; nodes after it were not touched. Once ${step.name} is fixed, run the upgrade again: nodes that run the target already are skipped`);
        return;
      }
    }
  }

  async #step(step: RolloutStep): Promise<void> {
    await this.#drain(step);
    if (this.#node.driver.status().leaderId === step.nodeId) await this.#handOver(step);
    const target = this.#rollout!.target;
    const node = findNode(this.#node.machine.current(), step.nodeId);
    if (node === null) {
      this.#update(withPhase(this.#rollout!, step.nodeId, 'done', Date.now(), 'removed from the cluster during the rollout: skipped'));
      return;
    }
    const self = findNode(this.#node.machine.current(), this.#node.peerId);
    if (self === null) throw new StepFailure('the coordinator was removed from the cluster during the rollout');
    this.#update(withPhase(this.#rollout!, step.nodeId, 'upgrading', Date.now(), 'fetching, checking and installing the new executable'));
    const url = `${self.httpUrl}/internal/v1/upgrade/executable?sha256=${target.sha256}`;
    const body = { url, sha256: target.sha256, version: target.version, commit: target.commit, coordinator: this.#node.config.name };
    const answer = await callPeer(node.httpUrl, this.#token(), 'POST', '/internal/v1/upgrade', body, downloadTimeoutMs + 60_000);
    if (!answer.ok) throw new StepFailure(answer.status === null ? `it did not take the upgrade: ${answer.message}` : `it refused the upgrade: ${answer.message}`);
    this.#update(withPhase(this.#rollout!, step.nodeId, 'waiting-health', Date.now(), 'restarting on the new executable'));
    await this.#waitHealthy(step, node.httpUrl);
    await this.#restoreAdmin(step);
    this.#update(withPhase(this.#rollout!, step.nodeId, 'done', Date.now()));
  }

  /** This node's own step: drain, hand over leadership, install, save, restart. */
  async #ownStep(step: RolloutStep): Promise<void> {
    await this.#drain(step);
    if (this.#node.driver.status().leaderId === step.nodeId) await this.#handOver(step);
    const target = this.#rollout!.target;
    this.#update(withPhase(this.#rollout!, step.nodeId, 'upgrading', Date.now(), 'installing the new executable'));
    const file = await this.executableFor(target.sha256);
    if (file === null) throw new StepFailure(`the executable ${target.sha256} is no longer on this node: upload it again`);
    await this.#agent.install(target, { localFile: file.path }, this.#node.config.name);
    this.#update(withPhase(this.#rollout!, step.nodeId, 'waiting-health', Date.now(), 'restarting on the new executable'));
    await this.#saving;
    this.#agent.restartSoon();
  }

  /** After this node restarted into the new executable: check it is the target, caught up,
   *  then put its admin state back. */
  async #finishOwnStep(step: RolloutStep): Promise<void> {
    const target = this.#rollout!.target;
    const deadline = Date.now() + this.#rollout!.healthTimeoutS * 1000;
    const self = await this.#agent.self();
    const onTarget = self.sha256 === target.sha256 && sameBuild(self.build, target);
    if (!onTarget) {
      const message = `this node came back on ${buildText(self.build)}, not on ${buildText(target)}: look at its log; run the upgrade again to retry`;
      await this.#restoreAdmin(step).catch((err: unknown) => this.#node.logLine(`upgrade: could not put back the admin state: ${(err as Error).message}`));
      this.#update(withPhase(this.#rollout!, step.nodeId, 'failed', Date.now(), message));
      this.#finish('failed', `${step.name}: ${message}`);
      return;
    }
    while (!(await this.#agent.caughtUp())) {
      if (Date.now() > deadline) {
        const message = `it restarted on ${buildText(target)} but did not catch up with the cluster within ${this.#rollout!.healthTimeoutS} s`;
        const restored = await this.#restoreAdmin(step).then(() => true, () => false);
        this.#update(withPhase(this.#rollout!, step.nodeId, 'failed', Date.now(), message));
        this.#finish('failed', `${step.name}: ${message}${restored ? '' : `; it may still be draining: undo with POST /api/v1/nodes/${step.nodeId}/enable once it is healthy`}`);
        return;
      }
      await this.#sleep(this.#pollIntervalMs);
    }
    await this.#restoreAdmin(step);
    this.#update(withPhase(this.#rollout!, step.nodeId, 'done', Date.now()));
    this.#finish('done', `every node runs ${buildText(target)}`);
  }

  /** Sets the node draining (unless it was already) and waits, bounded, until it runs no
   *  stream: the leader moves each one make-before-break. */
  async #drain(step: RolloutStep): Promise<void> {
    this.#update(withPhase(this.#rollout!, step.nodeId, 'draining', Date.now(), 'moving its streams to other nodes'));
    if (!step.wasDraining) await this.#propose({ type: 'SetNodeAdmin', atMs: Date.now(), id: step.nodeId, draining: true });
    const deadline = Date.now() + this.#drainTimeoutMs;
    for (;;) {
      const left = streamsOn(this.#node.machine.current().assignments, step.nodeId);
      if (left === 0) return;
      if (Date.now() > deadline) {
        this.#update(withMessage(this.#rollout!, step.nodeId, `${left} stream(s) found no other node within ${this.#drainTimeoutMs / 1000} s: they pause while it restarts`));
        return;
      }
      this.#update(withMessage(this.#rollout!, step.nodeId, `moving ${left} stream(s) to other nodes`));
      await this.#sleep(this.#pollIntervalMs);
    }
  }

  /** Makes the leader (`step`'s node) hand leadership to a voter that runs the target, and
   *  waits until it has moved. With no such voter, it restarts as it is. */
  async #handOver(step: RolloutStep): Promise<void> {
    const rollout = this.#rollout!;
    const raft = this.#node.driver.status();
    const onTarget = new Set(rollout.steps.filter((s) => s.phase === 'done').map((s) => s.nodeId));
    const to = transferTarget({
      leaderId: step.nodeId, voters: raft.conf.voters, onTarget, alive: (id) => this.#health(id) === 'alive', preferred: rollout.steps.map((s) => s.nodeId),
    });
    if (to === null) {
      this.#update(withMessage(rollout, step.nodeId, 'no other voter runs the new build: writes pause while it restarts'));
      return;
    }
    const toName = findNode(this.#node.machine.current(), to)?.name ?? to;
    this.#update(withMessage(rollout, step.nodeId, `handing leadership to ${toName}`));
    this.#node.logLine(`upgrade: ${step.name} leads: handing leadership to ${toName} before it restarts`);
    const deadline = Date.now() + this.#leaderTransferTimeoutMs;
    while (Date.now() < deadline) {
      await this.#askTransfer(step.nodeId, to);
      const askedAt = Date.now();
      while (Date.now() - askedAt < 3_000) {
        const leaderId = this.#node.driver.status().leaderId;
        // Moved to the one asked for, or by an election to another: either way it no longer leads.
        if (leaderId !== null && leaderId !== step.nodeId) return;
        await this.#sleep(this.#pollIntervalMs);
      }
    }
    throw new StepFailure(`leadership did not move to ${toName} within ${this.#leaderTransferTimeoutMs / 1000} s (is ${toName} caught up?)`);
  }

  async #askTransfer(leaderId: NodeId, to: NodeId): Promise<void> {
    if (leaderId === this.#node.peerId) {
      try {
        this.#node.driver.transferLeadership(to);
      } catch (err) {
        this.#node.logLine(`upgrade: transferring leadership: ${(err as Error).message}`);
      }
      return;
    }
    const url = findNode(this.#node.machine.current(), leaderId)?.httpUrl;
    if (url === undefined) return;
    const answer = await callPeer(url, this.#token(), 'POST', '/internal/v1/upgrade/transfer-leadership', { to }, 5_000);
    if (!answer.ok) this.#node.logLine(`upgrade: asking the leader to hand over: ${answer.message}`);
  }

  /** Waits until the node answers on the target build, is caught up in Raft (a read-index
   *  barrier completes there) and is alive in this node's gossip view with the new build. */
  async #waitHealthy(step: RolloutStep, httpUrl: string): Promise<void> {
    const target = this.#rollout!.target;
    const deadline = Date.now() + this.#rollout!.healthTimeoutS * 1000;
    for (;;) {
      let missing: string;
      const answer = await callPeer<NodeReport>(httpUrl, this.#token(), 'GET', '/internal/v1/upgrade/node', undefined, reportTimeoutMs);
      const report = this.#node.telemetry?.membership.lastReport(step.nodeId);
      const gossipState = this.#node.telemetry?.membership.state(step.nodeId);
      if (!answer.ok) missing = `it does not answer yet (${answer.message})`;
      else if (answer.body.sha256 !== target.sha256) missing = `it answers, but still on ${buildText(answer.body.build)}`;
      else if (!answer.body.caughtUp) missing = 'it runs the new build; waiting for it to catch up in Raft';
      else if (gossipState !== 'alive' || report?.version !== target.version || report.commit !== target.commit) missing = 'caught up; waiting for its telemetry on the new build';
      else return;
      this.#update(withMessage(this.#rollout!, step.nodeId, missing));
      if (Date.now() > deadline) {
        const exe = step.executable ?? '<executable>';
        throw new StepFailure(`it was not healthy on ${buildText(target)} within ${this.#rollout!.healthTimeoutS} s (${missing}). Look at its log (its service's journal, `
          + `or GET /api/v1/nodes/${step.nodeId}/log); to roll back, stop it, run 'cp ${exe}.previous ${exe}' on ${step.name} and start it again`);
      }
      await this.#sleep(500);
    }
  }

  /** Puts back the draining flag the node had before the rollout. */
  async #restoreAdmin(step: RolloutStep): Promise<void> {
    if (step.wasDraining) return;
    const state = this.#node.machine.current();
    if (findNode(state, step.nodeId) === null) return;
    const admin = Object.hasOwn(state.nodeAdmin, step.nodeId) ? state.nodeAdmin[step.nodeId]! : defaultNodeAdmin;
    if (!admin.draining) return;
    await this.#propose({ type: 'SetNodeAdmin', atMs: Date.now(), id: step.nodeId, draining: false });
  }

  /** Proposes as the rollout's actor; retried through a leader change (setting a flag twice
   *  changes nothing), bounded. Throws StepFailure when refused or out of time. */
  async #propose(command: Command): Promise<void> {
    const actor = this.#rollout?.actor ?? null;
    const deadline = Date.now() + proposeRetryMs;
    for (;;) {
      try {
        const result = await this.#node.propose(actor === null ? command : { ...command, actor });
        if (!result.ok) throw new StepFailure(`the cluster refused ${command.type}: ${result.reason}`);
        return;
      } catch (err) {
        if (err instanceof StepFailure) throw err;
        if (Date.now() > deadline) throw new StepFailure(`could not write ${command.type} within ${proposeRetryMs / 1000} s: ${(err as Error).message}`);
        await this.#sleep(500);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
