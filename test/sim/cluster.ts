// The simulated cluster: founding voters plus spare nodes (started with an empty log, joined by
// the workload), one network, one clock, one checker. It routes messages, ticks every node on
// its own phase, reports snapshot and unreachable outcomes back to senders, and retires a member
// once it applies its own removal (a removed process shuts down).
import { decodeConfChange, MemoryStorage } from '../../consensus/core/index.ts';
import type { Entry, Message, NodeId, ReadState } from '../../consensus/core/types.ts';
import { SafetyChecker } from './checker.ts';
import type { DiskFaults } from './disk.ts';
import { healthyDisk } from './disk.ts';
import type { DropReason } from './network.ts';
import { describe, SimNetwork } from './network.ts';
import { deriveSeed, Rng } from './rng.ts';
import { Scheduler } from './scheduler.ts';
import type { RaftTuning } from './sim-node.ts';
import { SimNode } from './sim-node.ts';

/** How far a node's tick interval may differ from the nominal one. */
export const tickDriftPercent = 20;

export interface ClusterOptions {
  readonly seed: number;
  /** Founding voters. */
  readonly nodes: number;
  /** Nodes started outside the configuration, for the workload to add. */
  readonly spares: number;
  readonly tickMs: number;
  readonly tuning: RaftTuning;
  readonly trace: ((line: string) => void) | null;
  readonly mutateApplied?: ((node: NodeId, entry: Entry) => Entry) | undefined;
}

export class Cluster {
  readonly clock = new Scheduler();
  readonly checker = new SafetyChecker(() => this.clock.nowMs);
  readonly network: SimNetwork;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly retired = new Set<NodeId>();
  /** Ids ever named in a conf change proposal or configuration: no longer spare. */
  readonly #used = new Set<NodeId>();
  disk: () => DiskFaults = () => healthyDisk;
  onApplied: (e: Entry) => void = () => {};
  snapshotsSent = 0;
  /** The node whose RawNode was called last: the one to blame if the core throws. */
  activeNode: NodeId = '-';
  readonly #opts: ClusterOptions;

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.network = new SimNetwork(new Rng(deriveSeed(opts.seed, 'network')), this.clock, {
      isUp: (id) => this.nodes.get(id)?.up ?? false,
      deliver: (sender, m) => this.#deliver(sender, m),
      dropped: (sender, m, reason) => this.#dropped(sender, m, reason),
      trace: (line) => this.trace(line),
    });
    const founders = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    const diskRng = new Rng(deriveSeed(opts.seed, 'disk'));
    for (let i = 1; i <= opts.nodes + opts.spares; i++) {
      const id = `n${i}`;
      const storage = i <= opts.nodes ? MemoryStorage.bootstrap({ voters: founders, learners: [] }) : new MemoryStorage();
      if (i <= opts.nodes) this.#used.add(id);
      const node = new SimNode(id, storage, deriveSeed(opts.seed, id), opts.tuning, {
        clock: this.clock,
        checker: this.checker,
        diskRng,
        disk: () => this.disk(),
        send: (sender, m) => this.#send(sender, m),
        readAnswered: (nodeId, rs) => this.#readAnswered(nodeId, rs),
        trace: (line) => this.trace(line),
        onApplied: (nodeId, e) => this.#applied(nodeId, e),
        entered: (nodeId) => {
          this.activeNode = nodeId;
        },
        mutateApplied: opts.mutateApplied,
      });
      this.nodes.set(id, node);
    }
  }

  trace(line: () => string): void {
    const out = this.#opts.trace;
    if (out !== null) out(`[${String(this.clock.nowMs).padStart(6)}ms] ${line()}`);
  }

  /** Members that have not been retired, up or down. */
  members(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !this.retired.has(n.id));
  }

  /** Spares to add: up, and never named in an applied membership change. */
  spares(): SimNode[] {
    return this.members().filter((n) => n.up && !this.#used.has(n.id));
  }

  markUsed(id: NodeId): void {
    this.#used.add(id);
  }

  /** Start every node, each ticking on its own phase and at its own rate (clocks drift by up
   *  to `tickDriftPercent`, so election timers do not line up). */
  start(): void {
    const rng = new Rng(deriveSeed(this.#opts.seed, 'tick-phase'));
    const tickMs = this.#opts.tickMs;
    const driftMs = Math.floor((tickMs * tickDriftPercent) / 100);
    for (const node of this.nodes.values()) {
      node.start();
      this.#tickLoop(node, rng.int(0, tickMs - 1), rng.int(tickMs - driftMs, tickMs + driftMs));
    }
  }

  #tickLoop(node: SimNode, delayMs: number, everyMs: number): void {
    this.clock.after(delayMs, () => {
      if (this.retired.has(node.id)) return;
      if (node.up) node.tick();
      this.#tickLoop(node, everyMs, everyMs);
    });
  }

  #send(sender: NodeId, m: Message): void {
    if (m.type === 'MsgSnap') this.snapshotsSent++;
    this.trace(() => `send ${describe(m)}`);
    this.network.send(sender, m);
  }

  #deliver(sender: NodeId, m: Message): void {
    const node = this.nodes.get(m.to);
    if (node === undefined) return;
    this.trace(() => `recv ${describe(m)}`);
    node.step(m);
    if (m.type === 'MsgSnap') this.nodes.get(sender)?.with((raw) => raw.reportSnapshot(m.to, true));
  }

  /** Tell the sender what its transport would have noticed: a failed snapshot stream, or a peer
   *  it cannot reach (random loss goes unnoticed, as on a real network). */
  #dropped(sender: NodeId, m: Message, reason: DropReason): void {
    const node = this.nodes.get(sender);
    if (node === undefined || !node.up) return;
    if (m.type === 'MsgSnap') node.with((raw) => raw.reportSnapshot(m.to, false));
    else if (reason !== 'random') node.with((raw) => raw.reportUnreachable(m.to));
  }

  #readAnswered(node: NodeId, rs: ReadState): void {
    this.trace(() => `${node} read ${rs.context} -> index ${rs.index}`);
    this.checker.readAnswered(node, rs.context, rs.index);
    this.checker.readDone(rs.context);
  }

  #applied(nodeId: NodeId, e: Entry): void {
    this.onApplied(e);
    if (e.type !== 'conf-change') return;
    const cc = decodeConfChange(e.data);
    this.markUsed(cc.node);
    // A member that applies its own removal shuts down for good (after this Ready completes).
    if (cc.type === 'remove' && cc.node === nodeId) {
      this.clock.after(0, () => this.retire(nodeId));
    }
  }

  retire(id: NodeId): void {
    const node = this.nodes.get(id);
    if (node === undefined || this.retired.has(id)) return;
    this.trace(() => `${id} applied its own removal: retired`);
    this.retired.add(id);
    node.shutdown();
  }
}
