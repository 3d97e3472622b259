// The telemetry report a node gossips every second (DESIGN.md section 5), its JSON encoding,
// and the validation every received report goes through. Pure: no I/O, no clock. Reports are
// soft state (newest wins by `seq`), so a bad one is dropped with a reason, never thrown.

/** Bound on an encoded report, in bytes: room for {@link maxStreamItems} stream entries. A
 *  larger one is refused on both sides (the sender trims nothing: it is a bug to exceed it). */
export const maxReportBytes = 128 * 1024;
/** Bound on per-stream entries in one report. */
export const maxStreamItems = 500;
/** Bound on id-like strings (node ids, stream ids, source names), in characters. */
export const maxIdChars = 256;
/** Bound on lines in one report's `viewers` (the sender keeps those with the most viewers). At
 *  about 20 bytes a line this is 20 KiB at most. */
export const maxViewerLines = 1000;
/** Bound on one line's viewers on one node (a line allows at most 1000). */
export const maxViewersPerLine = 100_000;
/** Viewer line usernames (node/state lines-apply.ts usernamePattern). */
const lineNamePattern = /^[A-Za-z0-9._-]{1,64}$/;
/** Bound on a version or commit (node/version.ts: "0.1.0", "0.1.0-test2", "abc123-dirty"), in
 *  characters: any printable text is accepted, since a build may be given any version. */
const maxBuildTextChars = 128;

export const streamStatuses = ['starting', 'running', 'restarting', 'failed', 'stopped'] as const;
export type StreamStatus = (typeof streamStatuses)[number];

/** One stream's figures as its worker measures them. Only `id` is required, so the supervisor
 *  can fill in what it knows as it learns it. */
export interface StreamFigures {
  readonly id: string;
  readonly status?: StreamStatus;
  /** Its ffmpeg's cpu, percent of one core (can exceed 100 on several cores). */
  readonly cpuPct?: number;
  readonly memBytes?: number;
  readonly inKbps?: number;
  readonly outKbps?: number;
  /** The last segment number the worker wrote (or a gateway published). */
  readonly lastSegment?: number;
  readonly restarts?: number;
  /** Which of the stream's sources is in use (its index or name). */
  readonly source?: string;
}

/** What this node's HLS gateway published of a stream's epoch (docs/streams.md): the leader
 *  switches epochs at the highest number any gateway published, plus one. */
export interface GatewayFigures {
  readonly id: string;
  readonly epoch: number;
  /** The last public segment number published in that epoch; absent when none yet. */
  readonly lastPublished?: number;
  /** The gateway applied the epoch's seal: `lastPublished` is final. */
  readonly sealed?: boolean;
}

/** What the sampler measures on the host. Rates are per second over the last interval. */
export interface HostFigures {
  /** All cores together, 0-100. */
  readonly cpuPct: number;
  /** CPU cores the machine has (placement turns a stream's % of one core into % of the
   *  machine); absent in reports of older versions. */
  readonly cores?: number;
  readonly load1: number;
  readonly load5: number;
  readonly load15: number;
  readonly memUsedBytes: number;
  readonly memTotalBytes: number;
  /** memUsedBytes / memTotalBytes, 0-100. */
  readonly memPct: number;
  readonly netRxBytesPerS: number;
  readonly netTxBytesPerS: number;
  /** Free bytes (available to this user) on the file system holding the data dir. */
  readonly diskFreeBytes: number;
  /** This node's process resident set size. */
  readonly rssBytes: number;
}

export interface TelemetryReport extends HostFigures {
  readonly v: 1;
  /** The sender's libp2p peer id; must equal the gossip message's signer. */
  readonly nodeId: string;
  /** Increases with every report of a node, across restarts too (see {@link seqSeed}). */
  readonly seq: number;
  /** The sender's wall clock when it built the report (informational: clocks differ). */
  readonly sentAtMs: number;
  readonly streams: { readonly count: number; readonly items: readonly StreamFigures[] };
  /** Per stream, what this node's gateway published (absent from nodes of older versions). */
  readonly gateway?: { readonly items: readonly GatewayFigures[] };
  /** Viewers this node serves per viewer line (open .ts relays and live HLS sessions), lines
   *  with none left out; absent when none (and from older versions). Decoded into a
   *  null-prototype record: read it with Object.hasOwn. */
  readonly viewers?: Readonly<Record<string, number>>;
  /** The sender's build (node/version.ts buildInfo), so every node knows every node's version
   *  (a rolling upgrade waits for it); absent from older versions. */
  readonly version?: string;
  readonly commit?: string;
}

/**
 * The first `seq` of a process started at wall time `startMs`: `startMs * 1000`, then +1 per
 * report. A restarted node starts above anything it sent before, as long as it sent fewer than
 * 1000 reports per millisecond of uptime (it sends one a second) and the wall clock did not step
 * back across the restart. Stays below 2^53 until the year 2255.
 */
export function seqSeed(startMs: number): number {
  return Math.floor(startMs) * 1000;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes published on the topic. Throws RangeError if the report exceeds {@link maxReportBytes}
 *  (a bug in the caller: trim `streams.items`). */
export function encodeReport(report: TelemetryReport): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(report));
  if (bytes.byteLength > maxReportBytes) {
    throw new RangeError(`telemetry report of ${bytes.byteLength} bytes exceeds ${maxReportBytes}: send fewer stream items`);
  }
  return bytes;
}

export type DecodeResult =
  | { readonly ok: true; readonly report: TelemetryReport }
  | { readonly ok: false; readonly reason: string };

/** Parse and validate received bytes. Unknown fields are dropped (the result holds only the
 *  fields above); a wrong type or range anywhere rejects the whole report. */
export function decodeReport(bytes: Uint8Array): DecodeResult {
  if (bytes.byteLength > maxReportBytes) return fail(`too large: ${bytes.byteLength} bytes > ${maxReportBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    return fail(`not JSON: ${(err as Error).message}`);
  }
  try {
    return { ok: true, report: readReport(value) };
  } catch (err) {
    if (err instanceof InvalidReport) return fail(err.message);
    throw err;
  }
}

function fail(reason: string): DecodeResult {
  return { ok: false, reason };
}

/** Thrown inside validation only; decodeReport turns it into a reason. */
class InvalidReport extends Error {
  override readonly name = 'InvalidReport';
}

type Obj = Record<string, unknown>;

function readReport(value: unknown): TelemetryReport {
  const o = object(value, 'report');
  if (o['v'] !== 1) throw new InvalidReport(`unsupported version ${JSON.stringify(o['v'])} (expected 1)`);
  const streams = object(o['streams'], 'streams');
  const items = streams['items'];
  if (!Array.isArray(items)) throw new InvalidReport('streams.items: expected an array');
  if (items.length > maxStreamItems) throw new InvalidReport(`streams.items: ${items.length} entries > ${maxStreamItems}`);
  const gateway = o['gateway'] === undefined ? undefined : object(o['gateway'], 'gateway');
  const gatewayItems = gateway?.['items'] ?? [];
  if (!Array.isArray(gatewayItems)) throw new InvalidReport('gateway.items: expected an array');
  if (gatewayItems.length > maxStreamItems) throw new InvalidReport(`gateway.items: ${gatewayItems.length} entries > ${maxStreamItems}`);
  return {
    v: 1,
    ...(gateway === undefined ? {} : { gateway: { items: gatewayItems.map((item, i) => readGateway(item, `gateway.items[${i}]`)) } }),
    ...(o['viewers'] === undefined ? {} : { viewers: readViewers(o['viewers']) }),
    ...(o['version'] === undefined ? {} : { version: buildText(o['version'], 'version') }),
    ...(o['commit'] === undefined ? {} : { commit: buildText(o['commit'], 'commit') }),
    nodeId: id(o['nodeId'], 'nodeId'),
    seq: count(o['seq'], 'seq'),
    sentAtMs: count(o['sentAtMs'], 'sentAtMs'),
    cpuPct: pct(o['cpuPct'], 'cpuPct'),
    ...(o['cores'] === undefined ? {} : { cores: count(o['cores'], 'cores') }),
    load1: nonNegative(o['load1'], 'load1'),
    load5: nonNegative(o['load5'], 'load5'),
    load15: nonNegative(o['load15'], 'load15'),
    memUsedBytes: nonNegative(o['memUsedBytes'], 'memUsedBytes'),
    memTotalBytes: nonNegative(o['memTotalBytes'], 'memTotalBytes'),
    memPct: pct(o['memPct'], 'memPct'),
    netRxBytesPerS: nonNegative(o['netRxBytesPerS'], 'netRxBytesPerS'),
    netTxBytesPerS: nonNegative(o['netTxBytesPerS'], 'netTxBytesPerS'),
    diskFreeBytes: nonNegative(o['diskFreeBytes'], 'diskFreeBytes'),
    rssBytes: nonNegative(o['rssBytes'], 'rssBytes'),
    streams: { count: count(streams['count'], 'streams.count'), items: items.map((item, i) => readStream(item, `streams.items[${i}]`)) },
  };
}

function readStream(value: unknown, path: string): StreamFigures {
  const o = object(value, path);
  const out: { -readonly [K in keyof StreamFigures]: StreamFigures[K] } = { id: id(o['id'], `${path}.id`) };
  if (o['status'] !== undefined) {
    const status = o['status'];
    if (!streamStatuses.includes(status as StreamStatus)) throw new InvalidReport(`${path}.status: ${JSON.stringify(status)} is not one of ${streamStatuses.join(', ')}`);
    out.status = status as StreamStatus;
  }
  if (o['cpuPct'] !== undefined) out.cpuPct = nonNegative(o['cpuPct'], `${path}.cpuPct`);
  if (o['memBytes'] !== undefined) out.memBytes = nonNegative(o['memBytes'], `${path}.memBytes`);
  if (o['inKbps'] !== undefined) out.inKbps = nonNegative(o['inKbps'], `${path}.inKbps`);
  if (o['outKbps'] !== undefined) out.outKbps = nonNegative(o['outKbps'], `${path}.outKbps`);
  if (o['lastSegment'] !== undefined) out.lastSegment = count(o['lastSegment'], `${path}.lastSegment`);
  if (o['restarts'] !== undefined) out.restarts = count(o['restarts'], `${path}.restarts`);
  if (o['source'] !== undefined) out.source = id(o['source'], `${path}.source`);
  return out;
}

function readGateway(value: unknown, path: string): GatewayFigures {
  const o = object(value, path);
  const epoch = count(o['epoch'], `${path}.epoch`);
  const streamId = id(o['id'], `${path}.id`);
  const sealed = o['sealed'];
  if (sealed !== undefined && typeof sealed !== 'boolean') throw new InvalidReport(`${path}.sealed: expected true or false`);
  return {
    id: streamId, epoch,
    ...(o['lastPublished'] === undefined ? {} : { lastPublished: count(o['lastPublished'], `${path}.lastPublished`) }),
    ...(sealed === undefined ? {} : { sealed }),
  };
}

function readViewers(value: unknown): Record<string, number> {
  const entries = Object.entries(object(value, 'viewers'));
  if (entries.length > maxViewerLines) throw new InvalidReport(`viewers: ${entries.length} lines > ${maxViewerLines}`);
  const out = Object.create(null) as Record<string, number>;
  for (const [line, n] of entries) {
    if (!lineNamePattern.test(line)) throw new InvalidReport(`viewers: ${JSON.stringify(line.slice(0, 80))} is not a line username`);
    const viewers = count(n, `viewers.${line}`);
    if (viewers < 1 || viewers > maxViewersPerLine) throw new InvalidReport(`viewers.${line}: expected 1-${maxViewersPerLine}, got ${viewers}`);
    out[line] = viewers;
  }
  return out;
}

function buildText(value: unknown, path: string): string {
  const printable = typeof value === 'string' && [...value].every((c) => c.charCodeAt(0) >= 32 && c.charCodeAt(0) !== 127);
  if (!printable || value.length === 0 || value.length > maxBuildTextChars) throw new InvalidReport(`${path}: expected 1-${maxBuildTextChars} printable characters, got ${JSON.stringify(value)?.slice(0, 80)}`);
  return value;
}

function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidReport(`${path}: expected an object`);
  return value as Obj;
}

function nonNegative(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidReport(`${path}: expected a finite number >= 0, got ${JSON.stringify(value)}`);
  return value;
}

function count(value: unknown, path: string): number {
  const n = nonNegative(value, path);
  if (!Number.isSafeInteger(n)) throw new InvalidReport(`${path}: expected a safe integer, got ${n}`);
  return n;
}

function pct(value: unknown, path: string): number {
  const n = nonNegative(value, path);
  if (n > 100) throw new InvalidReport(`${path}: expected 0-100, got ${n}`);
  return n;
}

function id(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxIdChars) {
    throw new InvalidReport(`${path}: expected a string of 1-${maxIdChars} characters`);
  }
  return value;
}
