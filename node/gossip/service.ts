// TelemetryGossip: publishes this node's report on a pubsub topic every second and feeds the
// reports it receives (and its own) into the membership view. An adapter: it owns the timers
// and talks to pubsub, while the decisions live in report.ts and membership.ts.
import { everyFixedRate, realGossipClock } from './clock.ts';
import type { FixedRateTimer, GossipClock } from './clock.ts';
import { MembershipView } from './membership.ts';
import type { Transition } from './membership.ts';
import { decodeReport, encodeReport, maxStreamItems, maxViewerLines, seqSeed } from './report.ts';
import type { GatewayFigures, HostFigures, StreamFigures, TelemetryReport } from './report.ts';
import type { PubSubMessage, TelemetryPubSub } from './pubsub.ts';
import type { Sampler } from './sampler.ts';
import type { MembershipTiming } from './timing.ts';

export const defaultTelemetryTopic = 'ottmesh/telemetry/1';
export const defaultReportIntervalMs = 1000;

export interface GossipLogger {
  warn(message: string): void;
}

export interface TelemetryGossipComponents {
  readonly pubsub: TelemetryPubSub;
  readonly sampler: Sampler;
  /** Default {@link realGossipClock}. */
  readonly clock?: GossipClock;
  /** Whether a peer id belongs to the cluster (the applied state): reports from others are dropped. */
  readonly isMember: (peerId: string) => boolean;
  /** This node's per-stream figures, called once per report (default: none). Must not throw. */
  readonly streams?: () => readonly StreamFigures[];
  /** What this node's HLS gateway published per stream, called once per report (default: none). */
  readonly gateway?: () => readonly GatewayFigures[];
  /** Viewers this node serves per viewer line (ViewerRegistry.figures()), called once per report
   *  (default: none). At most maxViewerLines are sent. Must not throw. */
  readonly viewers?: () => Readonly<Record<string, number>>;
  /** Default `console`. */
  readonly logger?: GossipLogger;
}

export interface TelemetryGossipInit {
  /** This node's libp2p peer id: the pubsub signer of what it publishes. */
  readonly nodeId: string;
  /** Default {@link defaultTelemetryTopic}. */
  readonly topic?: string;
  /** Default {@link defaultReportIntervalMs}. */
  readonly reportIntervalMs?: number;
  /** Failure detector timing (defaults in timing.ts, meant for 1 s reports). */
  readonly timing?: Partial<MembershipTiming>;
  /** This node's build, sent in every report (default: not sent). */
  readonly build?: { readonly version: string; readonly commit: string };
}

export type DropReason = 'unsigned' | 'not-member' | 'invalid' | 'sender-mismatch' | 'stale' | 'self';

export interface GossipStats {
  published: number;
  publishFailed: number;
  /** Reports that could not be built in time: the sampler was slow or failed, old figures sent. */
  sampleFallbacks: number;
  received: number;
  accepted: number;
  dropped: Record<DropReason, number>;
  /** The newest drop, for diagnosis. */
  lastDrop: { reason: DropReason; from: string; detail: string } | null;
}

/** Figures sent before the sampler has produced any (all zero: only liveness is meant). */
const zeroFigures: HostFigures = {
  cpuPct: 0, load1: 0, load5: 0, load15: 0, memUsedBytes: 0, memTotalBytes: 0, memPct: 0,
  netRxBytesPerS: 0, netTxBytesPerS: 0, diskFreeBytes: 0, rssBytes: 0,
};

/**
 * Lifecycle: construct, setMembers() whenever the applied member list changes (before or after
 * start), start(), stop(). Reports go out at start and then every reportIntervalMs; the view is
 * ticked every timing.tickIntervalMs. Transition listeners run synchronously inside the tick or
 * the message handler and must not throw or block.
 */
export class TelemetryGossip {
  readonly nodeId: string;
  readonly topic: string;
  readonly reportIntervalMs: number;
  readonly #components: TelemetryGossipComponents;
  readonly #clock: GossipClock;
  readonly #logger: GossipLogger;
  readonly #view: MembershipView;
  readonly #listeners = new Set<(t: Transition) => void>();
  readonly #stats: GossipStats = {
    published: 0, publishFailed: 0, sampleFallbacks: 0, received: 0, accepted: 0,
    dropped: { 'unsigned': 0, 'not-member': 0, 'invalid': 0, 'sender-mismatch': 0, 'stale': 0, 'self': 0 },
    lastDrop: null,
  };
  #nextSeq: number;
  #timers: FixedRateTimer[] = [];
  #running = false;
  #reporting: Promise<void> | null = null;
  /** reportNow() was called while a report was in flight. */
  #reportAgain = false;
  /** The sample in progress; null when it failed (the previous figures are used). */
  #sampling: Promise<HostFigures | null> | null = null;
  #samplingFailing = false;
  #lastFigures: HostFigures = zeroFigures;
  #publishFailing = false;
  readonly #build: TelemetryGossipInit['build'];

  constructor(components: TelemetryGossipComponents, init: TelemetryGossipInit) {
    this.#components = components;
    this.#build = init.build;
    this.#clock = components.clock ?? realGossipClock;
    this.#logger = components.logger ?? console;
    this.nodeId = init.nodeId;
    this.topic = init.topic ?? defaultTelemetryTopic;
    this.reportIntervalMs = init.reportIntervalMs ?? defaultReportIntervalMs;
    if (!(this.reportIntervalMs > 0)) throw new RangeError(`reportIntervalMs must be > 0, got ${this.reportIntervalMs}`);
    this.#view = new MembershipView(init.timing);
    this.#nextSeq = seqSeed(this.#clock.wallMs());
  }

  /** Read access to the membership view (state, lastReport, snapshot). */
  get membership(): Pick<MembershipView, 'state' | 'lastReport' | 'snapshot' | 'timing'> {
    return this.#view;
  }

  /** The cluster's members (this node included), from the applied state. */
  setMembers(ids: Iterable<string>): void {
    this.#view.setMembers(ids, this.#clock.monotonicMs());
  }

  /** Call `listener` for every state change; returns a function that removes it. */
  onTransition(listener: (t: Transition) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): GossipStats {
    return { ...this.#stats, dropped: { ...this.#stats.dropped } };
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const { pubsub } = this.#components;
    pubsub.addEventListener('message', this.#onMessage);
    pubsub.subscribe(this.topic);
    this.#view.tick(this.#clock.monotonicMs());
    this.#timers = [
      everyFixedRate(this.#clock, this.reportIntervalMs, () => this.#startReport()),
      everyFixedRate(this.#clock, this.#view.timing.tickIntervalMs, () => this.#emit(this.#view.tick(this.#clock.monotonicMs()))),
    ];
    this.#startReport();
  }

  /** Stops timers and listening; resolves once an in-flight report is done. Nothing is
   *  published or emitted after it resolves. Safe to call more than once. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const timer of this.#timers) timer.stop();
    this.#timers = [];
    const { pubsub } = this.#components;
    pubsub.removeEventListener('message', this.#onMessage);
    pubsub.unsubscribe(this.topic);
    await this.#reporting;
  }

  /** Send a report now, between the regular ones (the gateway just sealed an epoch, a worker's
   *  ffmpeg wrote its first segment: the leader waits for these). While one is in flight, one
   *  more follows it, since the one in flight may have been built before the news. */
  reportNow(): void {
    if (this.#reporting !== null) this.#reportAgain = true;
    else this.#startReport();
  }

  #startReport(): void {
    // One report at a time: a slot that comes while the previous report is still publishing
    // is skipped (the next one carries fresher figures anyway).
    if (this.#reporting !== null || !this.#running) return;
    this.#reportAgain = false;
    this.#reporting = this.#report().finally(() => {
      this.#reporting = null;
      if (this.#reportAgain) this.#startReport();
    });
  }

  async #report(): Promise<void> {
    const figures = await this.#figures();
    if (!this.#running) return;
    const items = this.#components.streams?.() ?? [];
    const gateway = this.#components.gateway?.() ?? [];
    const viewers = Object.entries(this.#components.viewers?.() ?? {}).filter(([, n]) => n > 0).slice(0, maxViewerLines);
    const report: TelemetryReport = {
      v: 1, nodeId: this.nodeId, seq: this.#nextSeq++, sentAtMs: this.#clock.wallMs(), ...figures,
      streams: { count: items.length, items: items.slice(0, maxStreamItems) },
      ...(gateway.length === 0 ? {} : { gateway: { items: gateway.slice(0, maxStreamItems) } }),
      ...(viewers.length === 0 ? {} : { viewers: Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(viewers)) }),
      ...(this.#build === undefined ? {} : { version: this.#build.version, commit: this.#build.commit }),
    };
    let bytes: Uint8Array;
    try {
      bytes = encodeReport(report);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      // Too many or too long stream entries: still prove we are alive, without the entries.
      this.#logger.warn(`telemetry: ${err.message}; sending this report without stream entries`);
      bytes = encodeReport({ ...report, streams: { count: items.length, items: [] } });
    }
    this.#emit(this.#observe(report));
    try {
      await this.#components.pubsub.publish(this.topic, bytes);
      this.#stats.published++;
      if (this.#publishFailing) this.#logger.warn('telemetry: publishing works again');
      this.#publishFailing = false;
    } catch (err) {
      this.#stats.publishFailed++;
      if (!this.#publishFailing) this.#logger.warn(`telemetry: publishing the report failed (${String(err)}); will retry every report`);
      this.#publishFailing = true;
    }
  }

  /**
   * The newest host figures, waiting at most half a report interval for a fresh sample: a
   * slow or failing sampler (a hung statfs on a network disk) must not stop the reports that
   * prove this node alive, so the previous figures are sent instead. One sample at a time.
   */
  async #figures(): Promise<HostFigures> {
    if (this.#sampling !== null) {
      // The previous sample is still running, already a whole slot late: do not wait again.
      this.#stats.sampleFallbacks++;
      return this.#lastFigures;
    }
    this.#sampling = this.#components.sampler.sample().then(
      (figures) => {
        if (this.#samplingFailing) this.#logger.warn('telemetry: sampling the host works again');
        this.#samplingFailing = false;
        this.#lastFigures = figures;
        return figures;
      },
      (err: unknown) => {
        if (!this.#samplingFailing) this.#logger.warn(`telemetry: sampling the host failed (${String(err)}); sending the previous figures`);
        this.#samplingFailing = true;
        return null;
      },
    ).finally(() => { this.#sampling = null; });
    const late = Promise.withResolvers<null>();
    const timeout = this.#clock.schedule(this.reportIntervalMs / 2, () => late.resolve(null));
    try {
      const figures = await Promise.race([this.#sampling, late.promise]);
      if (figures !== null) return figures;
      if (!this.#samplingFailing) this.#logger.warn(`telemetry: sampling the host took over ${this.reportIntervalMs / 2} ms; sending the previous figures`);
      this.#samplingFailing = true;
      this.#stats.sampleFallbacks++;
      return this.#lastFigures;
    } finally {
      timeout.cancel();
    }
  }

  readonly #onMessage = (event: CustomEvent<PubSubMessage>): void => {
    const msg = event.detail;
    if (msg.topic !== this.topic) return;
    this.#stats.received++;
    if (msg.type !== 'signed' || msg.from === undefined) return this.#drop('unsigned', '?', 'telemetry must be signed');
    const from = msg.from.toString();
    if (from === this.nodeId) return this.#drop('self', from, 'our own report came back');
    if (!this.#components.isMember(from)) return this.#drop('not-member', from, 'sender is not in the cluster state');
    const decoded = decodeReport(msg.data);
    if (!decoded.ok) return this.#drop('invalid', from, decoded.reason);
    if (decoded.report.nodeId !== from) return this.#drop('sender-mismatch', from, `report claims nodeId ${decoded.report.nodeId}`);
    this.#emit(this.#observe(decoded.report));
  };

  /** Feeds a report into the view; returns its transition (if any) for the caller to emit. */
  #observe(report: TelemetryReport): Transition[] {
    const result = this.#view.observe(report, this.#clock.monotonicMs());
    if (!result.accepted) {
      this.#drop(result.reason, report.nodeId, `seq ${report.seq}`);
      return [];
    }
    this.#stats.accepted++;
    return result.transition === null ? [] : [result.transition];
  }

  #drop(reason: DropReason, from: string, detail: string): void {
    this.#stats.dropped[reason]++;
    this.#stats.lastDrop = { reason, from, detail };
  }

  #emit(transitions: readonly Transition[]): void {
    if (!this.#running) return;
    for (const t of transitions) {
      for (const listener of this.#listeners) listener(t);
    }
  }
}
