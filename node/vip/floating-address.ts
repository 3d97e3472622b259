// The floating address loop (docs/floating-address.md): on every node, reconciles the interfaces
// with decide(): the leader holds the configured address and announces it, every other node
// holds none of ottmesh's copies (so a node starting after a crash removes the one it left).
// It runs when woken (a role or settings change) and every few seconds (an address removed by
// hand, the next announcement, a retry after a failure). One run at a time; stop() releases.
import { decide } from './decide.ts';
import type { VipAction } from './decide.ts';
import { permissionHint } from './address.ts';
import type { AddressSystem, CommandOutcome } from './address.ts';

/** How often the loop looks again without being woken. */
export const floatingCheckEveryMs = 5_000;

export interface FloatingAddressSettings {
  readonly floatingAddress: string | null;
  readonly floatingInterface: string | null;
}

export interface FloatingAddressComponents {
  /** Whether this node leads now (the Raft role). */
  readonly isLeader: () => boolean;
  /** The replicated settings as this node has applied them. */
  readonly settings: () => FloatingAddressSettings;
  readonly system: AddressSystem;
  readonly log: (line: string) => void;
  readonly nowMs?: () => number;
}

export interface FloatingAddressInit {
  /** Default floatingCheckEveryMs. */
  readonly checkEveryMs?: number;
}

/** This node's part, for the API. */
export interface LocalFloatingStatus {
  /** The setting ("10.0.0.100/24") or null. */
  readonly address: string | null;
  /** Whether this node holds it now. */
  readonly held: boolean;
  /** Where it is held, or where this leader would put it; null when neither. */
  readonly interface: string | null;
  /** Why it is not held as it should be, or null. */
  readonly problem: string | null;
}

export class FloatingAddressLoop {
  readonly #c: FloatingAddressComponents;
  readonly #checkEveryMs: number;
  readonly #nowMs: () => number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  /** The device holding the address, as of the last run. */
  #device: string | null = null;
  #lastAnnouncedAtMs: number | null = null;
  /** The announcement under way: a copy being removed must stop being announced first. */
  #announcing: { abort: AbortController; done: Promise<void> } | null = null;
  /** Where the plan put the address, held or not (for the status). */
  #wantedDevice: string | null = null;
  /** Why the last run could not do what it should. */
  #problem: string | null = null;
  /** Why the last announcement failed; cleared by one that works. */
  #announceProblem: string | null = null;
  #loggedProblem: string | null = null;
  #permissionReported = false;

  constructor(components: FloatingAddressComponents, init: FloatingAddressInit = {}) {
    this.#c = components;
    this.#checkEveryMs = init.checkEveryMs ?? floatingCheckEveryMs;
    this.#nowMs = components.nowMs ?? Date.now;
  }

  /** The first run starts now; it removes copies left by an earlier run unless this node leads. */
  start(): void {
    this.#timer = setInterval(() => this.wake(), this.#checkEveryMs);
    this.wake();
  }

  /** Runs again soon (after the run under way, if any). Never throws. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => (this.#running = null));
  }

  /** Resolves once no run is under way (tests). */
  async settled(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  status(): LocalFloatingStatus {
    const { floatingAddress } = this.#c.settings();
    return { address: floatingAddress, held: this.#device !== null, interface: this.#device ?? this.#wantedDevice, problem: this.#problem ?? this.#announceProblem };
  }

  /** Stops looking and removes this node's copy (leadership ends with the process). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.settled();
    await this.#stopAnnouncing();
    await this.#reconcileLogged(false, 'this node is stopping');
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      await this.#reconcileLogged(this.#c.isLeader(), null);
    } while (this.#again && !this.#stopped);
  }

  /** A run that fails unexpectedly (reading the interfaces threw) is logged; the next one retries. */
  async #reconcileLogged(leader: boolean, why: string | null): Promise<void> {
    try {
      await this.#reconcile(leader, why);
    } catch (err) {
      this.#setProblem(`the floating address could not be checked: ${(err as Error).message}`);
    }
  }

  /** One pass: decide, then act. `why` overrides the reason logged for removals. */
  async #reconcile(leader: boolean, why: string | null): Promise<void> {
    const settings = this.#c.settings();
    const plan = decide({
      leader,
      address: settings.floatingAddress,
      interfaceName: settings.floatingInterface,
      interfaces: this.#c.system.interfaces(),
      devices: this.#c.system.devices(),
      nowMs: this.#nowMs(),
      lastAnnouncedAtMs: this.#device === null ? null : this.#lastAnnouncedAtMs,
    });
    // Not holding it (any more): nothing may announce it, even with no copy left to remove.
    if (plan.device === null) await this.#stopAnnouncing();
    let failure: string | null = null;
    let device = plan.device;
    for (const action of plan.actions) {
      const outcome = await this.#act(action, why);
      if (outcome.ok) continue;
      failure ??= this.#describeFailure(outcome);
      if (action.kind === 'add') {
        device = null;
        break; // nothing to announce
      }
    }
    this.#device = device;
    this.#wantedDevice = plan.device;
    if (device === null) {
      this.#lastAnnouncedAtMs = null;
      this.#announceProblem = null;
    }
    this.#setProblem(plan.problem ?? failure);
  }

  async #act(action: VipAction, why: string | null): Promise<CommandOutcome> {
    const { system, log } = this.#c;
    switch (action.kind) {
      case 'del': {
        await this.#stopAnnouncing();
        const outcome = await system.del(action.device, action.cidr);
        if (outcome.ok) log(`floating address ${action.cidr} removed from ${action.device} (${why ?? action.why})`);
        return outcome;
      }
      case 'add': {
        const outcome = await system.add(action.device, action.cidr, action.label);
        if (outcome.ok) log(`floating address ${action.cidr} added on ${action.device}: this node leads`);
        return outcome;
      }
      case 'announce':
        this.#announce(action.device, action.address, action.count);
        return { ok: true };
    }
  }

  /** Announcements take seconds (one packet a second): they run beside the loop, one at a time. */
  #announce(device: string, address: string, count: number): void {
    if (this.#announcing !== null) return;
    this.#lastAnnouncedAtMs = this.#nowMs();
    const abort = new AbortController();
    const done = this.#c.system.announce(device, address, count, abort.signal).then((outcome) => {
      if (abort.signal.aborted) return;
      this.#announceProblem = outcome.ok ? null : this.#describeFailure(outcome);
      this.#setProblem(this.#problem);
    }).finally(() => {
      if (this.#announcing?.abort === abort) this.#announcing = null;
    });
    this.#announcing = { abort, done };
  }

  async #stopAnnouncing(): Promise<void> {
    const current = this.#announcing;
    if (current === null) return;
    current.abort.abort();
    await current.done;
  }

  #describeFailure(outcome: Extract<CommandOutcome, { ok: false }>): string {
    if (!outcome.permission) return outcome.message;
    // Said once in the log as is; the status keeps saying it.
    if (!this.#permissionReported) {
      this.#permissionReported = true;
      this.#c.log(`${permissionHint} (${outcome.message})`);
    }
    return `${permissionHint} (${outcome.message})`;
  }

  /** Logs a problem when it changes, not at every run. */
  #setProblem(runProblem: string | null): void {
    this.#problem = runProblem;
    const problem = runProblem ?? this.#announceProblem;
    if (problem === this.#loggedProblem) return;
    if (problem !== null && !problem.startsWith(permissionHint)) this.#c.log(`warning: ${problem}`);
    else if (problem === null && this.#loggedProblem !== null) this.#c.log('floating address: the problem is gone');
    this.#loggedProblem = problem;
  }
}
