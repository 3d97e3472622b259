// The replicated application: a running hash chain over every applied entry, plus a count of
// applied commands. Its snapshot is 20 bytes, and two nodes at the same index hold the same state
// exactly when they applied the same entries, so comparing states is exact and cheap.
import type { Entry, Snapshot } from '../../consensus/core/types.ts';

export interface AppState {
  /** Index of the last entry folded in (the snapshot index after a restore). */
  readonly index: number;
  /** Applied commands (normal entries with data; no-ops and conf changes do not count). */
  readonly commands: number;
  /** Two 32-bit FNV-1a lanes with different offsets: a 64-bit chain. */
  readonly hashHi: number;
  readonly hashLo: number;
}

export const initialAppState: AppState = { index: 0, commands: 0, hashHi: 0x811c9dc5, hashLo: 0x01000193 };

function fold(h: number, byte: number): number {
  return Math.imul(h ^ (byte & 0xff), 0x01000193) >>> 0;
}

function foldNumber(h: number, n: number): number {
  let x = h;
  for (let i = 0; i < 4; i++) x = fold(x, n >>> (8 * i));
  return x;
}

/** Fold one entry in; `entry.index` must follow `state.index` (the caller checks). */
export function applyEntry(state: AppState, entry: Entry): AppState {
  let hi = foldNumber(foldNumber(state.hashHi, entry.index), entry.term);
  let lo = foldNumber(foldNumber(state.hashLo ^ 0x5bd1e995, entry.index), entry.term);
  hi = fold(hi, entry.type === 'normal' ? 1 : 2);
  lo = fold(lo, entry.type === 'normal' ? 3 : 4);
  for (const b of entry.data) {
    hi = fold(hi, b);
    lo = fold(lo, b ^ 0xa5);
  }
  const command = entry.type === 'normal' && entry.data.byteLength > 0;
  return { index: entry.index, commands: state.commands + (command ? 1 : 0), hashHi: hi, hashLo: lo };
}

export function encodeAppState(s: AppState): Uint8Array {
  const out = new Uint8Array(20);
  const v = new DataView(out.buffer);
  v.setFloat64(0, s.index);
  v.setUint32(8, s.commands);
  v.setUint32(12, s.hashHi);
  v.setUint32(16, s.hashLo);
  return out;
}

/** A snapshot's data back to a state. The bootstrap snapshot (and the empty log of a member
 *  that has not joined yet) has empty data: the initial state, at that snapshot's index. */
export function appStateFromSnapshot(snap: Snapshot): AppState {
  if (snap.data.byteLength === 0) return { ...initialAppState, index: snap.meta.index };
  const s = decodeAppState(snap.data);
  if (s.index !== snap.meta.index) throw new Error(`app snapshot holds index ${s.index} but is filed at ${snap.meta.index}`);
  return s;
}

function decodeAppState(data: Uint8Array): AppState {
  if (data.byteLength !== 20) throw new Error(`app snapshot of ${data.byteLength} bytes, expected 20`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { index: v.getFloat64(0), commands: v.getUint32(8), hashHi: v.getUint32(12), hashLo: v.getUint32(16) };
}

export function sameAppState(a: AppState, b: AppState): boolean {
  return a.index === b.index && a.commands === b.commands && a.hashHi === b.hashHi && a.hashLo === b.hashLo;
}

export function describeAppState(s: AppState): string {
  return `#${s.index} cmds=${s.commands} h=${s.hashHi.toString(16)}${s.hashLo.toString(16)}`;
}

const decoder = new TextDecoder();

/** Entry data as text for traces and violation messages (workload data is ASCII). */
export function entryText(e: Entry): string {
  if (e.type === 'conf-change') return `conf:${decoder.decode(e.data).slice(0, 40)}`;
  return e.data.byteLength === 0 ? '(no-op)' : decoder.decode(e.data).slice(0, 40);
}
