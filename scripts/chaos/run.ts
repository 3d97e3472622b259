// A chaos run: build the lab, start the observers, run the fault schedule (each fault healed
// after its time, and in a finally whatever happens), settle, run the final checks, report.
// In netns mode this runs inside the lab's client host (netns-run.ts starts it there).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { defaultFenceAfterMs } from '../../node/channels.ts';
import { NetnsLab, netnsUnavailable } from '../../test/cluster/netns.ts';
import { deriveSeed, Rng } from '../../test/sim/rng.ts';
import { sleep } from './api-client.ts';
import { inject, kindsAvailable } from './faults.ts';
import type { ActiveFault } from './faults.ts';
import { ChaosLab, removeChaosLeftovers } from './lab.ts';
import { innerSpec, runInClientHost } from './netns-run.ts';
import { defaultViewers } from './options.ts';
import type { ChaosOptions } from './options.ts';
import { reportJson, reportOk, reportText } from './report.ts';
import type { ChaosReport, FaultOutcome } from './report.ts';
import { chooseNodes, drawSchedule, faultKinds } from './schedule.ts';
import type { PlannedFault } from './schedule.ts';
import type { ChaosTarget, CheckResult, FaultRecord, Observer } from './types.ts';

/** The observers and checkers (scripts/chaos/checks.ts). */
export interface ChecksModule {
  startObservers(target: ChaosTarget, outDir: string): Promise<Observer[]>;
  finalCheck(target: ChaosTarget, faults: readonly FaultRecord[], outDir: string, startedAtMs: number): Promise<CheckResult[]>;
}

/** After every fault healed: how long channels may take to run again before the checks. */
export const settleMs = 60_000;
/** After every channel runs again: time for every gateway to list new segments (3 segments of
 *  2 s, a poll and a peer fetch) before the observers stop. */
const listingMarginMs = 12_000;
/** How often the harness asks whether every channel runs. */
const runningPollMs = 2_000;

/** Runs the chaos suite; the process's exit code (0: every check ok). */
export async function runChaos(options: ChaosOptions, checks: ChecksModule): Promise<number> {
  const spec = innerSpec();
  if (spec !== null) return drive(spec.options, checks, { mode: 'netns', net: NetnsLab.attach(spec.lab), runId: spec.runId });
  await mkdir(options.outDir, { recursive: true });
  const why = await netnsUnavailable();
  if (options.mode === 'netns' && why !== null) {
    console.error(`chaos: --mode netns is not possible here: ${why}`);
    return 2;
  }
  if (options.mode === 'loopback' || why !== null) {
    if (options.mode === 'auto') console.error(`chaos: loopback mode (${why}): partitions, packet loss and disk-full are not covered`);
    const removed = await removeChaosLeftovers();
    if (removed.length > 0) console.error(`chaos: removed what crashed runs left: ${removed.join(', ')}`);
    return drive(options, checks, { mode: 'loopback', net: null, runId: process.pid });
  }
  return runInClientHost(options);
}

interface Where {
  readonly mode: 'netns' | 'loopback';
  readonly net: NetnsLab | null;
  readonly runId: number;
}

/** The run itself, where the nodes are reachable (the client host, or loopback). */
async function drive(options: ChaosOptions, checks: ChecksModule, where: Where): Promise<number> {
  const startedAtMs = Date.now();
  const log = runLog(options.outDir, startedAtMs);
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!abort.signal.aborted) log(`${signal}: healing every fault and cleaning up`);
    abort.abort(new Error(`interrupted (${signal})`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const available = kindsAvailable(where.mode);
  const notCovered = faultKinds.filter((k) => !available.includes(k)).map((k) => `${k} (needs root and network namespaces)`);
  const lab = await ChaosLab.create({ mode: where.mode, nodes: options.nodes, channels: options.channels, runId: where.runId, net: where.net, log });
  abort.signal.addEventListener('abort', () => lab.stopWatching(), { once: true });
  const run = new Run(options, lab, where, log, abort.signal);
  let checksRan: CheckResult[] = [];
  let failure: string | null = null;
  try {
    log(`seed ${options.seed}, ${options.minutes} min, mode ${where.mode}; records in ${options.outDir}`);
    await untilAborted(lab.build(), abort.signal);
    checksRan = await run.execute(checks, drawSchedule({ seed: options.seed, minutes: options.minutes, nodes: options.nodes, kinds: available }), startedAtMs);
  } catch (err) {
    failure = abort.signal.aborted ? `interrupted: ${(abort.signal.reason as Error).message}` : `the run failed: ${(err as Error).stack ?? String(err)}`;
    log(failure);
  } finally {
    await run.healAll();
    await run.stopObservers();
    await lab.saveTranscript(join(options.outDir, 'nodes.log')).catch((err: unknown) => log(`saving nodes.log: ${(err as Error).message}`));
    await lab.teardown().catch((err: unknown) => log((err as Error).message));
    await run.closeRecords();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const harness = run.harnessCheck(failure);
  const report: ChaosReport = {
    seed: options.seed, minutes: options.minutes, mode: where.mode, nodes: options.nodes, voters: lab.voters, channels: options.channels,
    viewers: options.viewers, outDir: options.outDir, startedAtMs, endedAtMs: Date.now(), notCovered, faults: run.outcomes,
    skipped: run.skipped, notes: run.notes, checks: failure === null ? [...checksRan, harness] : [harness],
    replay: replayCommand(options, where.mode),
  };
  const text = reportText(report);
  await writeFile(join(options.outDir, 'report.txt'), `${text.join('\n')}\n`);
  await writeFile(join(options.outDir, 'report.json'), `${reportJson(report)}\n`);
  console.log(text.join('\n'));
  if (options.json) console.log(reportJson(report));
  if (abort.signal.aborted) return 130; // as a shell reports Ctrl-C
  return reportOk(report) ? 0 : 1;
}

export function replayCommand(options: ChaosOptions, mode: 'netns' | 'loopback'): string {
  const extra = [
    options.nodes !== 5 ? `--nodes ${options.nodes}` : '', options.channels !== 20 ? `--channels ${options.channels}` : '',
    options.viewers !== defaultViewers ? `--viewers ${options.viewers}` : '', mode === 'loopback' ? '--mode loopback' : '',
  ].filter((s) => s !== '');
  return ['npm run chaos -- --minutes', String(options.minutes), '--seed', String(options.seed), ...extra].join(' ');
}


/** Lines with the time since the run's start, to stderr and to harness.log. */
function runLog(outDir: string, startedAtMs: number): (line: string) => void {
  const file = join(outDir, 'harness.log');
  return (line: string) => {
    const stamped = `[chaos +${((Date.now() - startedAtMs) / 1000).toFixed(1)} s] ${line}`;
    console.error(stamped);
    appendFile(file, `${new Date().toISOString()} ${stamped}\n`).catch(() => undefined); // the console has it
  };
}

/** One run's schedule, faults and records. */
class Run {
  readonly outcomes: FaultOutcome[] = [];
  readonly skipped: string[] = [];
  readonly notes: string[] = [];
  readonly #faultErrors: string[] = [];
  readonly #active = new Set<ActiveFault>();
  readonly #options: ChaosOptions;
  readonly #lab: ChaosLab;
  readonly #where: Where;
  readonly #log: (line: string) => void;
  readonly #signal: AbortSignal;
  readonly #faultsFile;
  #observers: Observer[] = [];
  /** Nodes a fault in progress hit: not started again by the harness while it lasts. */
  #hit = new Set<string>();

  constructor(options: ChaosOptions, lab: ChaosLab, where: Where, log: (line: string) => void, signal: AbortSignal) {
    this.#options = options;
    this.#lab = lab;
    this.#where = where;
    this.#log = log;
    this.#signal = signal;
    this.#faultsFile = createWriteStream(join(options.outDir, 'faults.jsonl'), { flags: 'a' });
  }

  /** Observers, the schedule, the heal, settling and the final checks. */
  async execute(checks: ChecksModule, schedule: readonly PlannedFault[], startedAtMs: number): Promise<CheckResult[]> {
    const lab = this.#lab;
    await writeFile(join(this.#options.outDir, 'schedule.json'), `${JSON.stringify(schedule, null, 1)}\n`);
    const target = await this.#target(lab);
    this.#observers = await checks.startObservers(target, this.#options.outDir);
    this.#log(`observers: ${this.#observers.map((o) => o.name).join(', ')}; ${schedule.length} faults over ${this.#options.minutes} min`);
    const t0 = Date.now();
    const endMs = t0 + this.#options.minutes * 60_000;
    /** The last fault's recovery, if not seen within its gap: the settle period goes on with it. */
    let pending: { outcome: FaultOutcome; recovery: { fromMs: number; ms: number | null } } | null = null;
    for (const [i, planned] of schedule.entries()) {
      await this.#quietUntil(t0 + planned.atMs, null);
      const fault = await this.#inject(planned);
      if (fault === null) continue;
      const outcome: FaultOutcome = { record: fault.record, allRunningAfterHealMs: null };
      this.outcomes.push(outcome);
      await this.#quietUntil(fault.record.injectedAtMs + planned.durationMs, null);
      const recovery = { fromMs: Date.now(), ms: null as number | null };
      await this.#heal(fault);
      const nextMs = i + 1 < schedule.length ? t0 + schedule[i + 1]!.atMs : endMs;
      await this.#quietUntil(nextMs, recovery);
      outcome.allRunningAfterHealMs = recovery.ms;
      pending = recovery.ms === null ? { outcome, recovery } : null;
    }
    await this.#quietUntil(endMs, null);
    await this.healAll();
    await this.#lab.restartCrashed();
    const settle = { fromMs: Date.now(), ms: null as number | null };
    this.#log(`schedule done; settling (up to ${settleMs / 1000} s, until every channel runs)`);
    await this.#quietUntil(Date.now() + settleMs, settle, true);
    // Running in the committed view is not yet listed everywhere: give every gateway time to list
    // a few new segments, so the checks see the recovery from the last heal.
    if (settle.ms !== null) await this.#quietUntil(Date.now() + listingMarginMs, null);
    this.notes.push(settle.ms === null ? `after settling ${settleMs / 1000} s, not every channel ran` : `every channel ran ${(settle.ms / 1000).toFixed(1)} s into the settle period`);
    if (pending !== null && settle.ms !== null) pending.outcome.allRunningAfterHealMs = settle.fromMs + settle.ms - pending.recovery.fromMs;
    await this.stopObservers();
    this.#log('final checks');
    return checks.finalCheck(target, this.outcomes.map((o) => o.record), this.#options.outDir, startedAtMs);
  }

  async #target(lab: ChaosLab): Promise<ChaosTarget> {
    const rng = new Rng(deriveSeed(this.#options.seed, 'chaos-observers'));
    const policy = await lab.request(lab.names[0]!, 'GET', '/api/v1/policy');
    const segmentS = policy?.status === 200 ? (JSON.parse(policy.body) as { hls: { segmentS: number } }).hls.segmentS : NaN;
    if (!(segmentS > 0)) throw new Error(`could not read the segment duration (GET /api/v1/policy: ${policy?.status} ${policy?.body})`);
    return {
      nodes: lab.names.map((name) => ({ name, httpUrl: lab.cluster.nodes.get(name)!.httpUrl, dataDir: lab.dataDir(name), pid: () => lab.pidOf(name) })),
      apiToken: lab.admin, streamIds: lab.streamIds, segmentS, fenceAfterMs: defaultFenceAfterMs,
      // This process runs where the nodes are reachable (the client host, or loopback).
      spawnClient: (command, args) => spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
      rng: () => rng.next(), log: this.#log, mode: this.#where.mode, viewers: this.#options.viewers,
    };
  }

  async #inject(planned: PlannedFault): Promise<ActiveFault | null> {
    const view = await this.#lab.view();
    const aim = chooseNodes(planned, view);
    try {
      const fault = await inject(planned, aim, { lab: this.#lab, net: this.#where.net, log: this.#log });
      this.#active.add(fault);
      this.#hit = new Set(aim.nodes);
      this.#record(fault.record);
      this.#log(`fault #${planned.id} ${planned.kind} on ${aim.nodes.join('+')} for ${planned.durationMs / 1000} s: ${fault.record.detail}`);
      return fault;
    } catch (err) {
      const why = `#${planned.id} ${planned.kind} on ${aim.nodes.join('+')}: ${(err as Error).message}`;
      this.skipped.push(why);
      this.#faultErrors.push(`could not inject ${why}`);
      this.#log(`could not inject ${why}`);
      return null;
    }
  }

  async #heal(fault: ActiveFault): Promise<void> {
    const { record } = fault;
    try {
      await fault.heal();
      this.#log(`healed #${record.id} ${record.kind} on ${record.nodes.join('+')}`);
    } catch (err) {
      this.#faultErrors.push(`healing #${record.id} ${record.kind}: ${(err as Error).message}`);
      this.#log(`healing #${record.id} ${record.kind} failed: ${(err as Error).message}`);
    } finally {
      this.#active.delete(fault);
      this.#hit = new Set();
      this.#record(record);
    }
  }

  #record(record: FaultRecord): void {
    this.#faultsFile.write(`${JSON.stringify({ ...record, atMs: Date.now() })}\n`);
  }

  /** Waits until `untilMs` (abortable): starts nodes that exited on their own (not those a fault
   *  holds), and with `recovery`, notes when every channel runs again (and, with `stopEarly`,
   *  stops waiting then). */
  async #quietUntil(untilMs: number, recovery: { fromMs: number; ms: number | null } | null, stopEarly = false): Promise<void> {
    let nextPollMs = 0;
    while (Date.now() < untilMs) {
      this.#signal.throwIfAborted();
      try {
        await this.#lab.restartCrashed(this.#hit);
      } catch (err) {
        this.#faultErrors.push(`starting a crashed node again: ${(err as Error).message}`);
      }
      if (recovery !== null && recovery.ms === null && Date.now() >= nextPollMs) {
        nextPollMs = Date.now() + runningPollMs;
        if ((await this.#lab.runningCount()) === this.#lab.streamIds.length) {
          recovery.ms = Date.now() - recovery.fromMs;
          if (stopEarly) return;
        }
      }
      await sleep(Math.max(0, Math.min(1_000, untilMs - Date.now())), this.#signal);
      this.#signal.throwIfAborted();
    }
  }

  /** Heals every fault still in force (each tried even if another fails). */
  async healAll(): Promise<void> {
    for (const fault of [...this.#active]) await this.#heal(fault);
  }

  async stopObservers(): Promise<void> {
    const observers = this.#observers.splice(0);
    for (const o of observers) await o.stop().catch((err: unknown) => this.#log(`stopping observer ${o.name}: ${(err as Error).message}`));
  }

  closeRecords(): Promise<void> {
    return new Promise((resolve) => this.#faultsFile.end(resolve));
  }

  /** The harness's own check: every fault injected and healed, no node process exiting when no
   *  fault killed it (one that exits while its own disk is full is noted, not counted). */
  harnessCheck(failure: string | null): CheckResult {
    const violations = [...this.#faultErrors];
    if (failure !== null) violations.unshift(failure);
    const diskFull = this.outcomes.map((o) => o.record).filter((r) => r.kind === 'disk-full');
    let onDiskFull = 0;
    for (const exit of this.#lab.unexpectedExits) {
      const during = diskFull.find((r) => r.nodes.includes(exit.name) && exit.atMs >= r.injectedAtMs && exit.atMs <= (r.healedAtMs ?? Infinity) + 1_000);
      const what = `${exit.name} exited on its own (${exit.how}) at ${new Date(exit.atMs).toISOString()}; last lines: ${exit.tail.split('\n').slice(-4).join(' | ')}`;
      if (during !== undefined) {
        onDiskFull++;
        this.notes.push(`${what} (during disk-full #${during.id} on it)`);
      } else {
        violations.push(what);
      }
    }
    return {
      name: 'harness', ok: violations.length === 0,
      figures: {
        faults_injected: this.outcomes.length, faults_skipped: this.skipped.length, fault_errors: this.#faultErrors.length,
        node_exits_unexpected: this.#lab.unexpectedExits.length - onDiskFull, node_exits_on_disk_full: onDiskFull,
      },
      violations,
    };
  }
}

/** `work`, or the abort's reason as soon as `signal` aborts (work goes on, unawaited: the
 *  teardown then ends what it started). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
