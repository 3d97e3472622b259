// One continuous MPEG-TS out of a gateway's HLS segments, for the Xtream `.ts` relay
// (node/hls/ts-relay.ts). Segments of one ffmpeg run continue each other; at a worker switch (or
// an ffmpeg restart, or a jump past lost segments) the next segment starts a new timestamp line
// (usually near 0 again) and new continuity counters. Concatenated as they are, players see time
// go backwards and count lost packets: ffmpeg copes, VLC and set-top boxes often stall. So the
// restamper shifts every PTS, DTS and PCR after such a point by one offset that makes the new
// run start where the previous segment ended (its EXTINF duration later), and renumbers the
// continuity counters to go on from the last ones sent (../shared/IPTV-CONVENTIONS.md 4.4 item 8).
// Pure: bytes in, bytes out. Only packets are touched, never their payload beyond the PES header.

export const tsPacketBytes = 188;
const syncByte = 0x47;
/** PTS, DTS and PCR base are 33-bit counts of a 90 kHz clock. */
const tsModulus = 2 ** 33;
export const tsClockHz = 90_000;
/** An unmarked timestamp this far (s) from where the previous segment said the next one starts
 *  is treated as a new run too: a source whose timestamps jumped inside one ffmpeg run. */
export const unmarkedJumpS = 10;
const nullPid = 0x1fff;
/** PES stream ids without the optional header (no PTS/DTS): program_stream_map, padding,
 *  private_stream_2, ECM, EMM, directory, DSMCC, H.222.1 type E. */
const pesWithoutHeader = new Set([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xff, 0xf2, 0xf8]);

export interface RelaySegment {
  readonly bytes: Uint8Array;
  readonly durationS: number;
  /** The segment starts a new run (the playlist's DISCONTINUITY, or a jump the relay made). */
  readonly discontinuity: boolean;
}

export interface RestamperStats {
  segments: number;
  /** Segments that were copied and rewritten (the others went out as they were). */
  rewritten: number;
  /** Times a new run was joined to the previous one. */
  joins: number;
  /** Segments that were not whole 188-byte packets: sent unchanged. */
  unparsable: number;
}

/** Where the timestamps and counters of one segment are, found by scan(). */
interface Scan {
  /** Earliest PCR base, PTS or DTS (90 kHz, modulo 2^33); null when the segment has none. */
  readonly earliest: number | null;
  /** Per clock (a PES PID's decode times, or a PID's PCRs): its first, last and second-to-last
   *  value in the segment. */
  readonly clocks: Map<string, Clock>;
  /** Per PID: its first packet's continuity counter and whether that packet carries payload. */
  readonly firstCc: Map<number, { cc: number; payload: boolean }>;
  /** Per PID: the last packet's continuity counter. */
  readonly lastCc: Map<number, number>;
}

interface Clock {
  first: number;
  last: number;
  beforeLast: number | null;
}

/** What was sent last on one clock, and its usual step (a frame, or the PCR interval). */
interface SentClock {
  last: number;
  stepTicks: number;
}

/** One per relay (per viewer): it remembers what the output has sent so far. next() never
 *  throws; it returns the input itself when nothing needs to change (no copy), else a copy. */
export class TsRestamper {
  readonly stats: RestamperStats = { segments: 0, rewritten: 0, joins: 0, unparsable: 0 };
  /** Added to every timestamp of the current run (90 kHz, in [0, 2^33)). */
  #offset = 0;
  /** Where the next segment should start in output time; null before the first. */
  #expected: number | null = null;
  /** Per PID: the counter delta of the current run, and the last counter sent. */
  readonly #ccDelta = new Map<number, number>();
  readonly #ccSent = new Map<number, number>();
  /** PMT PIDs learned from PATs: their packets are tables, not PES. */
  readonly #pmtPids = new Set<number>();
  /** Per clock, the last value sent (output time): a joined run must start after each. */
  readonly #sent = new Map<string, SentClock>();

  next(segment: RelaySegment): Uint8Array {
    this.stats.segments++;
    const { bytes } = segment;
    if (bytes.byteLength === 0 || bytes.byteLength % tsPacketBytes !== 0 || !allSynced(bytes)) {
      this.stats.unparsable++;
      // Its counters are unknown: join the next segment afresh.
      this.#ccSent.clear();
      this.#ccDelta.clear();
      if (this.#expected !== null) this.#expected = mod(this.#expected + Math.round(segment.durationS * tsClockHz));
      return bytes;
    }
    const scan = this.#scan(bytes);
    const join = this.#startsNewRun(segment, scan.earliest);
    if (join) {
      this.stats.joins++;
      if (scan.earliest !== null && this.#expected !== null) this.#offset = this.#joinOffset(mod(this.#expected - scan.earliest), scan.clocks);
      for (const [pid, first] of scan.firstCc) {
        const sent = this.#ccSent.get(pid);
        this.#ccDelta.set(pid, sent === undefined ? 0 : (sent + (first.payload ? 1 : 0) - first.cc) & 0x0f);
      }
    }
    const start = scan.earliest === null ? this.#expected : mod(scan.earliest + this.#offset);
    if (start !== null) this.#expected = mod(start + Math.round(segment.durationS * tsClockHz));
    for (const [pid, cc] of scan.lastCc) this.#ccSent.set(pid, (cc + (this.#ccDelta.get(pid) ?? 0)) & 0x0f);
    for (const [key, clock] of scan.clocks) {
      const step = clock.beforeLast === null ? 0 : signedDiff(clock.last, clock.beforeLast);
      const previous = this.#sent.get(key);
      this.#sent.set(key, { last: mod(clock.last + this.#offset), stepTicks: step > 0 && step < tsClockHz ? step : previous?.stepTicks ?? 1 });
    }
    const ccChanges = [...scan.lastCc.keys()].some((pid) => (this.#ccDelta.get(pid) ?? 0) !== 0);
    if (this.#offset === 0 && !ccChanges) return bytes;
    this.stats.rewritten++;
    return this.#rewrite(bytes);
  }

  /** The offset that puts the segment's start at the expected time (`offset`), moved later as
   *  far as needed for every clock to go on after the last value it sent (audio often runs a
   *  frame past the segment's nominal end). */
  #joinOffset(offset: number, clocks: ReadonlyMap<string, Clock>): number {
    let later = 0;
    for (const [key, clock] of clocks) {
      const sent = this.#sent.get(key);
      if (sent !== undefined) later = Math.max(later, signedDiff(mod(sent.last + sent.stepTicks), mod(clock.first + offset)));
    }
    return mod(offset + later);
  }

  /** True when this segment must be joined to the output: the first one is taken as it is (it
   *  starts the output), later ones when marked, or when their time is far from the expected. */
  #startsNewRun(segment: RelaySegment, earliest: number | null): boolean {
    if (this.#expected === null) return false;
    if (segment.discontinuity) return true;
    if (earliest === null) return false;
    return Math.abs(signedDiff(mod(earliest + this.#offset), this.#expected)) > unmarkedJumpS * tsClockHz;
  }

  #scan(bytes: Uint8Array): Scan {
    let reference: number | null = null;
    let earliestRel = 0;
    const seen = (ts: number): void => {
      if (reference === null) reference = ts;
      else earliestRel = Math.min(earliestRel, signedDiff(ts, reference));
    };
    const firstCc = new Map<number, { cc: number; payload: boolean }>();
    const lastCc = new Map<number, number>();
    const clocks = new Map<string, Clock>();
    const tick = (key: string, ts: number): void => {
      const clock = clocks.get(key);
      if (clock === undefined) clocks.set(key, { first: ts, last: ts, beforeLast: null });
      else {
        clock.beforeLast = clock.last;
        clock.last = ts;
      }
    };
    for (let at = 0; at < bytes.byteLength; at += tsPacketBytes) {
      const packet = readPacket(bytes, at);
      if (packet.pid === nullPid) continue;
      if (!firstCc.has(packet.pid)) firstCc.set(packet.pid, { cc: packet.cc, payload: packet.payloadAt !== null });
      lastCc.set(packet.pid, packet.cc);
      if (packet.pcrAt !== null) {
        const pcr = readPcrBase(bytes, packet.pcrAt);
        seen(pcr);
        tick(`pcr:${packet.pid}`, pcr);
      }
      if (packet.payloadAt === null || !packet.unitStart) continue;
      if (packet.pid === 0) this.#learnPat(bytes, packet.payloadAt, at + tsPacketBytes);
      else if (this.#isPesPid(packet.pid)) {
        const fields = pesTimestampFields(bytes, packet.payloadAt, at + tsPacketBytes);
        for (const field of fields) seen(readTimestamp(bytes, field));
        // Decode order: the DTS when there is one, else the PTS.
        if (fields.length > 0) tick(`pes:${packet.pid}`, readTimestamp(bytes, fields.at(-1)!));
      }
    }
    return { earliest: reference === null ? null : mod(reference + earliestRel), clocks, firstCc, lastCc };
  }

  /** A copy with the run's offset added to every timestamp and its counter deltas applied. */
  #rewrite(input: Uint8Array): Uint8Array {
    const bytes = input.slice();
    const offset = this.#offset;
    for (let at = 0; at < bytes.byteLength; at += tsPacketBytes) {
      const packet = readPacket(bytes, at);
      if (packet.pid === nullPid) continue;
      const delta = this.#ccDelta.get(packet.pid) ?? 0;
      if (delta !== 0) bytes[at + 3] = (bytes[at + 3]! & 0xf0) | ((packet.cc + delta) & 0x0f);
      if (offset === 0) continue;
      if (packet.pcrAt !== null) writePcrBase(bytes, packet.pcrAt, mod(readPcrBase(bytes, packet.pcrAt) + offset));
      if (packet.payloadAt === null || !packet.unitStart || !this.#isPesPid(packet.pid)) continue;
      for (const field of pesTimestampFields(bytes, packet.payloadAt, at + tsPacketBytes)) writeTimestamp(bytes, field, mod(readTimestamp(bytes, field) + offset));
    }
    return bytes;
  }

  /** Program association: remembers the PMT PIDs (section syntax per ISO/IEC 13818-1 2.4.4.3). */
  #learnPat(bytes: Uint8Array, payloadAt: number, end: number): void {
    const section = payloadAt + 1 + bytes[payloadAt]!;
    if (section + 8 > end || bytes[section] !== 0x00) return;
    const sectionLength = ((bytes[section + 1]! & 0x0f) << 8) | bytes[section + 2]!;
    const programsEnd = Math.min(section + 3 + sectionLength - 4, end);
    for (let p = section + 8; p + 4 <= programsEnd; p += 4) {
      const programNumber = (bytes[p]! << 8) | bytes[p + 1]!;
      if (programNumber !== 0) this.#pmtPids.add(((bytes[p + 2]! & 0x1f) << 8) | bytes[p + 3]!);
    }
  }

  /** PAT, CAT, the reserved and DVB table PIDs (up to 0x1f) and PMTs carry tables. */
  #isPesPid(pid: number): boolean {
    return pid > 0x1f && !this.#pmtPids.has(pid);
  }
}

interface Packet {
  readonly pid: number;
  readonly unitStart: boolean;
  readonly cc: number;
  /** Offset of the payload in the buffer; null when the packet has none. */
  readonly payloadAt: number | null;
  /** Offset of the PCR field (6 bytes); null when the packet carries none. */
  readonly pcrAt: number | null;
}

function readPacket(bytes: Uint8Array, at: number): Packet {
  const pid = ((bytes[at + 1]! & 0x1f) << 8) | bytes[at + 2]!;
  const unitStart = (bytes[at + 1]! & 0x40) !== 0;
  const control = (bytes[at + 3]! >> 4) & 0x03;
  const cc = bytes[at + 3]! & 0x0f;
  let payloadAt: number | null = at + 4;
  let pcrAt: number | null = null;
  if (control & 0x02) {
    const length = bytes[at + 4]!;
    // PCR_flag, and room for the 6-byte PCR after the flags byte.
    if (length >= 7 && (bytes[at + 5]! & 0x10) !== 0) pcrAt = at + 6;
    payloadAt = at + 5 + length;
  }
  if (!(control & 0x01) || payloadAt >= at + tsPacketBytes) payloadAt = null;
  return { pid, unitStart, cc, payloadAt, pcrAt };
}

/** Offsets of the PTS and DTS fields of the PES header starting at `p` (ISO/IEC 13818-1
 *  2.4.3.6), when the whole field lies before `end`. */
function pesTimestampFields(bytes: Uint8Array, p: number, end: number): number[] {
  if (p + 9 > end || bytes[p] !== 0 || bytes[p + 1] !== 0 || bytes[p + 2] !== 1) return [];
  if (pesWithoutHeader.has(bytes[p + 3]!) || (bytes[p + 6]! & 0xc0) !== 0x80) return [];
  const flags = bytes[p + 7]! >> 6;
  const fields: number[] = [];
  if ((flags === 2 || flags === 3) && p + 14 <= end) fields.push(p + 9);
  if (flags === 3 && p + 19 <= end) fields.push(p + 14);
  return fields;
}

/** A 33-bit timestamp in its 5-byte field: 3 + 15 + 15 bits, each followed by a marker bit. */
export function readTimestamp(bytes: Uint8Array, at: number): number {
  const high = (bytes[at]! >> 1) & 0x07;
  const middle = (bytes[at + 1]! << 7) | (bytes[at + 2]! >> 1);
  const low = (bytes[at + 3]! << 7) | (bytes[at + 4]! >> 1);
  return high * 2 ** 30 + middle * 2 ** 15 + low;
}

function writeTimestamp(bytes: Uint8Array, at: number, ts: number): void {
  const high = Math.floor(ts / 2 ** 30) & 0x07;
  const middle = Math.floor(ts / 2 ** 15) & 0x7fff;
  const low = ts & 0x7fff;
  // The prefix nibble and the marker bits are kept as they were.
  bytes[at] = (bytes[at]! & 0xf1) | (high << 1);
  bytes[at + 1] = middle >> 7;
  bytes[at + 2] = ((middle & 0x7f) << 1) | (bytes[at + 2]! & 0x01);
  bytes[at + 3] = low >> 7;
  bytes[at + 4] = ((low & 0x7f) << 1) | (bytes[at + 4]! & 0x01);
}

/** The 33-bit base of a PCR (the 9-bit extension is left alone: it is the 27 MHz remainder). */
export function readPcrBase(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 2 ** 25 + bytes[at + 1]! * 2 ** 17 + bytes[at + 2]! * 2 ** 9 + bytes[at + 3]! * 2 + (bytes[at + 4]! >> 7);
}

function writePcrBase(bytes: Uint8Array, at: number, base: number): void {
  bytes[at] = Math.floor(base / 2 ** 25) & 0xff;
  bytes[at + 1] = Math.floor(base / 2 ** 17) & 0xff;
  bytes[at + 2] = Math.floor(base / 2 ** 9) & 0xff;
  bytes[at + 3] = Math.floor(base / 2) & 0xff;
  bytes[at + 4] = ((base % 2) << 7) | (bytes[at + 4]! & 0x7f);
}

function allSynced(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.byteLength; at += tsPacketBytes) if (bytes[at] !== syncByte) return false;
  return true;
}

function mod(ts: number): number {
  return ((ts % tsModulus) + tsModulus) % tsModulus;
}

/** a - b on the 33-bit circle, in (-2^32, 2^32]. */
export function signedDiff(a: number, b: number): number {
  const d = mod(a - b);
  return d > tsModulus / 2 ? d - tsModulus : d;
}
