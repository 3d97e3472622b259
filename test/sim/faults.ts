// The fault driver: one seed draws a fault profile (how lossy, how slow, how often nodes crash and
// links break), then the driver injects those faults on the simulated clock until `heal()`.
// Kinds: message drop, duplicate, random latency (reorder), latency spikes, slow disk writes,
// crashes (losing the write in progress) with restarts, partitions (random split, one node
// isolated, one-way cuts).
import type { NodeId } from '../../consensus/core/types.ts';
import type { DiskFaults } from './disk.ts';
import { healthyDisk } from './disk.ts';
import type { NetworkFaults, SimNetwork } from './network.ts';
import { healthyNetwork } from './network.ts';
import type { Rng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

/** Share of crash events that take down several nodes at once. */
export const massCrashRate = 0.1;
/** Share of seeds that are crash storms. */
export const stormRate = 0.2;

export interface FaultProfile {
  readonly network: NetworkFaults;
  readonly disk: DiskFaults;
  /** Mean time between crashes (ms); 0 = no crashes this seed. */
  readonly crashEveryMs: number;
  readonly downMsMax: number;
  /** Mean time between link faults (ms); 0 = no partitions this seed. */
  readonly partitionEveryMs: number;
  readonly partitionMsMax: number;
}

/** Draw a profile. Some seeds get a quiet network or no crashes, so both gentle and hostile
 *  conditions are covered. */
export function drawProfile(rng: Rng): FaultProfile {
  const lossy = rng.chance(0.75);
  // A crash storm: nodes crash every few dozen ms and come back quickly, so crashes land in
  // every phase of elections, replication and snapshot transfer.
  const storm = rng.chance(stormRate);
  const latencyMsMax = rng.int(2, 40);
  return {
    network: {
      dropRate: lossy ? rng.float(0, 0.2) : 0,
      duplicateRate: lossy ? rng.float(0, 0.08) : 0,
      latencyMsMin: 1,
      latencyMsMax,
      spikeRate: rng.chance(0.5) ? rng.float(0, 0.05) : 0,
      spikeMsMax: rng.int(latencyMsMax, rng.chance(0.2) ? 3000 : 600),
    },
    disk: { writeMsMin: 1, writeMsMax: rng.int(1, 12), slowWriteRate: rng.float(0, 0.03), slowWriteMsMax: rng.int(12, 200) },
    crashEveryMs: storm ? rng.int(20, 150) : rng.chance(0.8) ? rng.int(150, 2000) : 0,
    downMsMax: storm ? rng.int(5, 300) : rng.int(20, 2000),
    partitionEveryMs: rng.chance(0.8) ? rng.int(150, 2000) : 0,
    partitionMsMax: rng.int(50, 2500),
  };
}

export function describeProfile(p: FaultProfile): string {
  const n = p.network;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return `drop ${pct(n.dropRate)} dup ${pct(n.duplicateRate)} latency ${n.latencyMsMin}-${n.latencyMsMax}ms spikes ${pct(n.spikeRate)} to ${n.spikeMsMax}ms; ` +
    `disk ${p.disk.writeMsMin}-${p.disk.writeMsMax}ms slow ${pct(p.disk.slowWriteRate)} to ${p.disk.slowWriteMsMax}ms; ` +
    `crash every ~${p.crashEveryMs || '-'}ms down <=${p.downMsMax}ms; links every ~${p.partitionEveryMs || '-'}ms for <=${p.partitionMsMax}ms`;
}

/** What the driver acts on. */
export interface FaultTargets {
  /** Members that may crash and restart (retired ones are left alone). */
  nodeIds(): readonly NodeId[];
  isUp(id: NodeId): boolean;
  /** A synced write is in progress on `id` (a crash now loses it). */
  isWriting(id: NodeId): boolean;
  crash(id: NodeId): void;
  restart(id: NodeId): void;
  trace(line: () => string): void;
}

export class FaultDriver {
  disk: DiskFaults = healthyDisk;
  #active = false;
  readonly #profile: FaultProfile;
  readonly #rng: Rng;
  readonly #clock: Scheduler;
  readonly #net: SimNetwork;
  readonly #targets: FaultTargets;

  constructor(profile: FaultProfile, rng: Rng, clock: Scheduler, net: SimNetwork, targets: FaultTargets) {
    this.#profile = profile;
    this.#rng = rng;
    this.#clock = clock;
    this.#net = net;
    this.#targets = targets;
  }

  start(): void {
    this.#active = true;
    this.#net.faults = { ...this.#profile.network };
    this.disk = this.#profile.disk;
    if (this.#profile.crashEveryMs > 0) this.#every(this.#profile.crashEveryMs, () => this.#crashOne());
    if (this.#profile.partitionEveryMs > 0) this.#every(this.#profile.partitionEveryMs, () => this.#breakLinks());
  }

  /** End every fault: restart all crashed members, heal all links, healthy network and disk. */
  heal(): void {
    this.#active = false;
    this.#net.faults = { ...healthyNetwork };
    this.#net.healLinks();
    this.disk = healthyDisk;
    for (const id of this.#targets.nodeIds()) if (!this.#targets.isUp(id)) this.#targets.restart(id);
    this.#targets.trace(() => 'HEAL: all faults off, every member up');
  }

  /** Repeat `act` at random intervals averaging `meanMs`, while faults are on. */
  #every(meanMs: number, act: () => void): void {
    this.#clock.after(this.#rng.int(1, 2 * meanMs), () => {
      if (!this.#active) return;
      act();
      this.#every(meanMs, act);
    });
  }

  #crashOne(): void {
    const up = this.#targets.nodeIds().filter((id) => this.#targets.isUp(id));
    if (up.length === 0) return;
    // Some crashes take down several nodes at once (a rack losing power): the cluster must come
    // back from whatever each one had made durable.
    if (this.#rng.chance(massCrashRate)) {
      const victims = this.#rng.shuffle(up).slice(0, this.#rng.int(2, up.length));
      this.#targets.trace(() => `MASS CRASH of ${victims.join(',')}`);
      for (const id of victims) this.#crash(id);
      return;
    }
    // Half the others hit a node in the middle of a write, the window that loses data.
    const writing = up.filter((id) => this.#targets.isWriting(id));
    this.#crash(writing.length > 0 && this.#rng.chance(0.5) ? this.#rng.pick(writing) : this.#rng.pick(up));
  }

  #crash(id: NodeId): void {
    this.#targets.crash(id);
    this.#clock.after(this.#rng.int(1, this.#profile.downMsMax), () => {
      if (this.#active && !this.#targets.isUp(id)) this.#targets.restart(id);
    });
  }

  #breakLinks(): void {
    const ids = this.#targets.nodeIds();
    if (ids.length < 2) return;
    const kind = this.#rng.int(0, 2);
    let what: string;
    if (kind === 0) {
      const shuffled = this.#rng.shuffle(ids);
      const k = this.#rng.int(1, ids.length - 1);
      this.#net.partition(shuffled.slice(0, k), shuffled.slice(k));
      what = `partition [${shuffled.slice(0, k).join(',')}] | [${shuffled.slice(k).join(',')}]`;
    } else if (kind === 1) {
      const id = this.#rng.pick(ids);
      this.#net.partition([id], ids.filter((x) => x !== id));
      what = `isolate ${id}`;
    } else {
      const [a, b] = this.#rng.shuffle(ids) as [NodeId, NodeId];
      this.#net.cut(a, b);
      what = `cut ${a}->${b} (one way)`;
    }
    this.#targets.trace(() => `LINKS: ${what}`);
    this.#clock.after(this.#rng.int(1, this.#profile.partitionMsMax), () => {
      if (!this.#active) return;
      this.#net.healLinks();
      this.#targets.trace(() => 'LINKS: healed');
    });
  }
}
