// The interface between the chaos harness (lab, faults, schedule, run) and the chaos checks
// (observers and checkers). The harness builds a ChaosTarget and records FaultRecords; the
// checks observe the target while faults run and judge the records afterwards.

import type { ChildProcess } from 'node:child_process';

export interface ChaosNode {
  readonly name: string; // 'n1'..'n5'
  readonly httpUrl: string; // reachable from the observers
  readonly dataDir: string; // absolute path in this mount namespace
  /** pid of its node process now; null while it is down */
  pid(): number | null;
}

export interface ChaosTarget {
  readonly nodes: readonly ChaosNode[];
  readonly apiToken: string; // admin bearer token
  readonly streamIds: readonly string[];
  readonly segmentS: number;
  readonly fenceAfterMs: number;
  /** spawn a client program (ffmpeg viewer) where the nodes are reachable */
  spawnClient(command: string, args: readonly string[]): ChildProcess;
  readonly rng: () => number; // seeded, for observers' random choices
  readonly log: (line: string) => void;
  /** 'netns' (root, one namespace per host) or 'loopback' (processes on 127.0.0.1) */
  readonly mode: 'netns' | 'loopback';
  /** how many viewers the run asked for (--viewers) */
  readonly viewers: number;
}

export type FaultKind =
  | 'kill'
  | 'crash'
  | 'stop'
  | 'partition-minority'
  | 'partition-majority'
  | 'partition-one-way'
  | 'loss'
  | 'disk-full';

/** One fault as it happened (wall-clock ms); heal is null while it lasts. */
export interface FaultRecord {
  readonly id: number;
  readonly kind: FaultKind;
  readonly nodes: readonly string[]; // node names hit
  readonly role: 'leader' | 'worker' | 'any'; // what it was aimed at when drawn
  readonly injectedAtMs: number;
  healedAtMs: number | null;
  readonly detail: string;
}

export interface Observer {
  readonly name: string;
  stop(): Promise<void>;
}

export interface CheckResult {
  readonly name: string; // 'writes', 'fencing', 'recovery', 'gateways', 'stalls'
  readonly ok: boolean;
  readonly figures: Readonly<Record<string, number | string>>; // for the table/JSON
  readonly violations: readonly string[]; // each says what, where, when (ms from start)
}
