// The working copy of the cluster that one placement run changes: per-node load in flat typed
// arrays (so checking and scoring a node allocates nothing), the copies each node holds, and the
// nodes each kind of stream may use at all. Built from a PlacementInput; the input is not changed.
import type { NodeView, PlacementInput, StreamDemand } from './types.ts';
import { tieBreakRanks } from './prng.ts';

/** A copy of stream k: 2k is its active copy, 2k + 1 its standby. */
export type CopyId = number;

/** A stream's numbers in the form the hot loop reads. */
export interface Demand {
  readonly stream: StreamDemand;
  readonly index: number;
  /** % of one core, bytes. */
  readonly cpuPct: number;
  readonly memBytes: number;
  readonly cpuCeilPct: number;
  readonly memCeilPct: number;
  /** Infinity when the policy sets no limit (0). */
  readonly maxStreams: number;
  readonly spread: boolean;
  readonly stickiness: number;
}

export class ClusterLoad {
  /** Nodes sorted by id: index i everywhere below. */
  readonly nodes: readonly NodeView[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** Streams in input order, with their numbers. */
  readonly demands: readonly Demand[];
  /** Demand indices in placement order (priority descending, then id). */
  readonly order: readonly number[];
  readonly cores: Float64Array;
  /** 100 / memTotalBytes: bytes to % of the node's memory. */
  readonly memPctPerByte: Float64Array;
  readonly weight: Float64Array;
  readonly tieBreak: Int32Array;
  /** Planned load: background (measured minus the input's copies there) plus planned copies. */
  readonly cpuPct: Float64Array;
  readonly memPct: Float64Array;
  readonly count: Int32Array;
  /** The lowest ceilings among the copies a node holds: a node is never given a copy that
   *  would take it past the ceiling of a stream already there (Infinity: holds none). */
  readonly cpuCeilPct: Float64Array;
  readonly memCeilPct: Float64Array;
  readonly maxStreams: Float64Array;
  /** Copies on each node (CopyId). */
  readonly copies: number[][];
  /** Where each copy is planned (-1: nowhere), by CopyId. */
  readonly nodeOfCopy: Int32Array;

  constructor(input: PlacementInput, seed: number) {
    const nodes = [...input.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const n = nodes.length;
    this.nodes = nodes;
    this.indexOf = new Map(nodes.map((node, i) => [node.id, i]));
    this.demands = input.streams.map((stream, index) => toDemand(stream, index));
    this.order = this.demands.map((d) => d.index).sort((a, b) => compareDemands(this.demands[a]!, this.demands[b]!));
    this.cores = Float64Array.from(nodes, (x) => x.cores);
    this.memPctPerByte = Float64Array.from(nodes, (x) => 100 / x.memTotalBytes);
    this.weight = Float64Array.from(nodes, (x) => x.weight);
    this.tieBreak = tieBreakRanks(n, seed);
    this.cpuPct = Float64Array.from(nodes, (x) => x.cpuPct);
    this.memPct = Float64Array.from(nodes, (x) => x.memPct);
    this.count = Int32Array.from(nodes, (x) => x.streams);
    this.cpuCeilPct = new Float64Array(n).fill(Infinity);
    this.memCeilPct = new Float64Array(n).fill(Infinity);
    this.maxStreams = new Float64Array(n).fill(Infinity);
    this.copies = Array.from({ length: n }, () => []);
    this.nodeOfCopy = new Int32Array(this.demands.length * 2).fill(-1);
    // Take out what the measured figures already hold (see types.ts: the accounting rule):
    // summed in placement order and clamped once, so the input's order changes nothing.
    const cpuHeld = new Float64Array(n);
    const memHeld = new Float64Array(n);
    const countHeld = new Int32Array(n);
    for (const k of this.order) {
      const d = this.demands[k]!;
      for (const id of [d.stream.currentNode, d.stream.standbyNode ?? null]) {
        const i = id === null ? undefined : this.indexOf.get(id);
        if (i === undefined) continue;
        cpuHeld[i] = cpuHeld[i]! + d.cpuPct / this.cores[i]!;
        memHeld[i] = memHeld[i]! + d.memBytes * this.memPctPerByte[i]!;
        countHeld[i] = countHeld[i]! + 1;
      }
    }
    for (let i = 0; i < n; i++) {
      this.cpuPct[i] = Math.max(0, this.cpuPct[i]! - cpuHeld[i]!);
      this.memPct[i] = Math.max(0, this.memPct[i]! - memHeld[i]!);
      this.count[i] = Math.max(0, this.count[i]! - countHeld[i]!);
    }
  }

  add(copy: CopyId, i: number): void {
    const d = this.demands[copy >> 1]!;
    this.cpuPct[i] = this.cpuPct[i]! + d.cpuPct / this.cores[i]!;
    this.memPct[i] = this.memPct[i]! + d.memBytes * this.memPctPerByte[i]!;
    this.count[i] = this.count[i]! + 1;
    if (d.cpuCeilPct < this.cpuCeilPct[i]!) this.cpuCeilPct[i] = d.cpuCeilPct;
    if (d.memCeilPct < this.memCeilPct[i]!) this.memCeilPct[i] = d.memCeilPct;
    if (d.maxStreams < this.maxStreams[i]!) this.maxStreams[i] = d.maxStreams;
    this.copies[i]!.push(copy);
    this.nodeOfCopy[copy] = i;
  }

  remove(copy: CopyId): void {
    const i = this.nodeOfCopy[copy]!;
    if (i < 0) return;
    const d = this.demands[copy >> 1]!;
    this.cpuPct[i] = Math.max(0, this.cpuPct[i]! - d.cpuPct / this.cores[i]!);
    this.memPct[i] = Math.max(0, this.memPct[i]! - d.memBytes * this.memPctPerByte[i]!);
    this.count[i] = this.count[i]! - 1;
    const list = this.copies[i]!;
    list.splice(list.indexOf(copy), 1);
    this.nodeOfCopy[copy] = -1;
    // The lowest ceilings are recomputed from the copies that remain.
    this.cpuCeilPct[i] = Infinity;
    this.memCeilPct[i] = Infinity;
    this.maxStreams[i] = Infinity;
    for (const other of list) {
      const o = this.demands[other >> 1]!;
      this.cpuCeilPct[i] = Math.min(this.cpuCeilPct[i]!, o.cpuCeilPct);
      this.memCeilPct[i] = Math.min(this.memCeilPct[i]!, o.memCeilPct);
      this.maxStreams[i] = Math.min(this.maxStreams[i]!, o.maxStreams);
    }
  }

  /** How far node i is past its tightest limit: 1 is at a ceiling, above 1 overloaded. */
  pressure(i: number): number {
    const cpu = this.cpuPct[i]! / Math.min(100, this.cpuCeilPct[i]!);
    const mem = this.memPct[i]! / Math.min(100, this.memCeilPct[i]!);
    const max = this.maxStreams[i]!;
    return Math.max(cpu, mem, max === Infinity ? 0 : this.count[i]! / max);
  }
}

/** Placement order: priority descending, then id. */
export function compareDemands(a: Demand, b: Demand): number {
  return b.stream.priority - a.stream.priority || (a.stream.id < b.stream.id ? -1 : a.stream.id > b.stream.id ? 1 : 0);
}

function toDemand(stream: StreamDemand, index: number): Demand {
  const p = stream.policy;
  return {
    stream, index,
    cpuPct: stream.cost.cpuPct, memBytes: stream.cost.memBytes,
    cpuCeilPct: p.cpuCeilPct, memCeilPct: p.memCeilPct,
    maxStreams: p.maxStreamsPerNode > 0 ? p.maxStreamsPerNode : Infinity,
    spread: p.strategy === 'spread', stickiness: p.stickiness,
  };
}
