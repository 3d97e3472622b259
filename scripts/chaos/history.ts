// The API write history and its checker (pure). Client loops (workload.ts) send replicated
// writes to random nodes and record every request with its answer; after the run every node is
// read once more. The checker says whether the history is linearizable (Herlihy and Wing; the
// model Jepsen checks), and if not, what broke: an acknowledged write lost, a stale read, a
// value nobody wrote, a write the API refused applied anyway.
//
// The objects (cheap, replicated, and with no effect on the channels):
// - creates: node groups with unique names (POST /api/v1/groups), never changed afterwards;
// - registers: one service per client loop (only that loop writes it, one request at a time),
//   whose name carries a value that grows with every write: v0 by creating it (POST, retried
//   until 201, or 409 "exists already", which also proves it exists), then v1, v2... (PATCH
//   /api/v1/services/<id>); any loop reads any register (GET, a linearizable read-index read).
//
// The model. An acknowledged operation took effect at one instant between its request and its
// answer; a refused one never did; an indeterminate one (timeout, reset, 5xx) has no answer, so
// it took effect at one instant at ANY time after its request (even after later writes of the
// same loop were acknowledged, or after the run), or never. The final reads are reads like the
// others, sent after every recorded answer (the workload had stopped). Linearizability is local,
// so each group and each register is checked on its own; the rules below are exact for them.
//
// Groups: an acknowledged create is in every final read ("lost write" if not), a refused one in
// none, a name nobody created in none; an indeterminate one may be in some and not others.
//
// Registers. Each value is written at most once, so every value seen names its write. A value's
// `knownBy` is its first answer: its write's acknowledgment, or the end of a read that returned it
// (it had been written by then); `lastBegan` is the latest request among its write and those
// reads. The absent register (before v0) is a value with knownBy = lastBegan = -infinity. A
// value u was certainly the register's value at some moment in its window [min(lastBegan,
// knownBy), knownBy]. A read returning v, over [start, end], is impossible iff
//   1. no write of v was sent before the read ended ("never written": also a value from the
//      future), or only refused ones ("refused but applied"); or
//   2. some other value u has its window strictly inside (v.knownBy, start): v was the value from
//      v.knownBy until the read took effect, so nothing else was at any moment in between.
// Rule 2 on a read during the run is a "stale read"; on a final read, a "lost write". Every
// inequality is strict: at ms resolution a tie is never a violation. The history is
// linearizable iff no read fails rule 1 or 2: this is Gibbons and Korach's test for a register
// with unique values ("Testing shared memories", 1997: no two forward zones intersect and no
// backward zone lies in a forward one; each such intersection makes the latest read of a forward
// zone's value fail rule 2). The tests hold it to a brute-force search on random histories.
// In particular:
//   - a read returning v is stale when a write w acknowledged before the read began was sent
//     after v was known written (v's acknowledgment, or the end of a read that returned v, came
//     before w was sent): v's write took effect before w, and w before the read. If v's write is
//     indeterminate and nothing returned v before w was sent, v may have taken effect after w:
//     not stale (such writes are counted in "late indeterminate writes");
//   - once a read returned a late indeterminate value u (sent before v, read after v was
//     acknowledged), a read that began after that one ended may not return v: u overwrote it;
//   - the final value may be the last acknowledged one or any value whose write was
//     indeterminate, unless a write sent after that value was known written was acknowledged
//     (or read) before the final reads: then that write was lost.
// Nodes' final reads that differ are a violation only when no linearization explains the
// difference (an indeterminate write may take effect between two final reads).
import type { CheckResult } from './types.ts';
import { keptViolations, sinceStart } from './check-format.ts';

/** ok: acknowledged (2xx). fail: the API's answer proves it was not applied (a 4xx, or a 503
 *  with Retry-After, which node/http sends only for consensus errors raised before the command
 *  could be appended or after it was overwritten). unknown: no answer (timeout, reset), or an
 *  error that says it may have been applied (5xx without Retry-After: "check before retrying"). */
export type Outcome = 'ok' | 'fail' | 'unknown';

export interface OpRecord {
  readonly loop: number;
  readonly op: 'create' | 'write' | 'read';
  /** The group's name (create) or the register's id (write, read). */
  readonly key: string;
  /** write: the value sent; read: the value answered (null: the register was absent); create: null. */
  readonly value: number | null;
  /** The node the request went to. */
  readonly node: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: Outcome;
  /** HTTP status; null when there was no answer. */
  readonly status: number | null;
  /** Why, in a few words (the error, or the API's message). */
  readonly detail: string;
}

/** What one node answered to the final consistent reads, after every fault healed. */
export interface FinalRead {
  readonly node: string;
  readonly atMs: number;
  /** null: no consistent read was answered before the deadline (then `error` says why). */
  readonly groups: readonly string[] | null;
  readonly registers: Readonly<Record<string, number | null>> | null;
  readonly error: string | null;
}

/** How an HTTP answer (status, and whether it carried Retry-After) classifies a write. */
export function outcomeOf(status: number | null, retryAfter: boolean): Outcome {
  if (status === null) return 'unknown';
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 400 && status < 500) return 'fail';
  if (status === 503 && retryAfter) return 'fail';
  return 'unknown';
}

/** The value a register's service name carries ("... v12" -> 12); null when it carries none. */
export function registerValue(name: string): number | null {
  const m = /\bv(\d+)$/.exec(name);
  return m === null ? null : Number(m[1]);
}

/** One register's write of one value, as the model sees it: the attempts that may have taken
 *  effect (v0 may take several: the create is retried). */
interface ValueWrite {
  readonly value: number;
  /** The first attempt that may have taken effect (acknowledged or indeterminate). */
  readonly sent: OpRecord;
  /** The first answer proving it took effect (2xx; for v0 also 409 "exists already"); null: indeterminate. */
  readonly acked: OpRecord | null;
}

interface RegisterWrites {
  readonly byValue: Map<number, ValueWrite>;
  /** Every attempt, refused ones too (for "was this value ever sent before the read ended"). */
  readonly attempts: OpRecord[];
}

/** Whether an answer proves the value took effect. A 409 to the create of v0 says the register
 *  exists, and nothing but v0 was sent before the loop saw that answer. */
function provesApplied(op: OpRecord): boolean {
  return op.outcome === 'ok' || (op.value === 0 && op.status === 409);
}

function registersOf(ops: readonly OpRecord[]): Map<string, RegisterWrites> {
  const attemptsByKey = new Map<string, Map<number, OpRecord[]>>();
  for (const op of ops) {
    if (op.op !== 'write' || op.value === null) continue;
    const byValue = attemptsByKey.get(op.key) ?? new Map<number, OpRecord[]>();
    attemptsByKey.set(op.key, byValue.set(op.value, [...(byValue.get(op.value) ?? []), op]));
  }
  const out = new Map<string, RegisterWrites>();
  for (const [key, attemptsByValue] of attemptsByKey) {
    const r: RegisterWrites = { byValue: new Map(), attempts: [...attemptsByValue.values()].flat() };
    for (const [value, attempts] of attemptsByValue) {
      const sent = attempts.filter((a) => a.outcome !== 'fail').sort((a, b) => a.startMs - b.startMs)[0];
      if (sent === undefined) continue; // refused every time: never took effect
      const acked = attempts.filter(provesApplied).sort((a, b) => a.endMs - b.endMs)[0] ?? null;
      r.byValue.set(value, { value, sent, acked });
    }
    out.set(key, r);
  }
  return out;
}

/** A value seen in a register: a read during the run, or one node's final read. */
interface Observation {
  readonly value: number | null;
  readonly startMs: number;
  readonly endMs: number;
  /** The read; null for a final read (then `finalNode` says whose). */
  readonly read: OpRecord | null;
  readonly finalNode: string | null;
}

/** An instant of the history and what happened then (for a violation's text). */
interface Moment {
  readonly atMs: number;
  readonly what: string;
}

/** One value's write and the observations that returned it (its "cluster"). */
interface Cluster {
  readonly value: number | null;
  /** The first answer among them: the value had been written by then. */
  knownBy: Moment;
  /** The latest request among them. */
  lastBegan: Moment;
}

const absentCluster = (): Cluster => ({ value: null, knownBy: { atMs: -Infinity, what: 'before its creation' }, lastBegan: { atMs: -Infinity, what: 'before its creation' } });

function clustersOf(r: RegisterWrites | undefined, valid: readonly Observation[]): Map<number | null, Cluster> {
  const clusters = new Map<number | null, Cluster>([[null, absentCluster()]]);
  for (const w of r?.byValue.values() ?? []) {
    const acked = w.acked;
    clusters.set(w.value, {
      value: w.value,
      knownBy: acked === null
        ? { atMs: Infinity, what: 'its write was never acknowledged' }
        : { atMs: acked.endMs, what: acked.outcome === 'ok' ? `its write was acknowledged through ${acked.node}` : `a retried create through ${acked.node} found it (${acked.status})` },
      lastBegan: { atMs: w.sent.startMs, what: `its write was sent through ${w.sent.node}` },
    });
  }
  for (const o of valid) {
    const c = clusters.get(o.value)!;
    if (o.endMs < c.knownBy.atMs) c.knownBy = { atMs: o.endMs, what: o.read === null ? `${o.finalNode}'s final read returned it` : `a read through ${o.read.node} returned it` };
    if (o.startMs > c.lastBegan.atMs) c.lastBegan = { atMs: o.startMs, what: o.read === null ? 'the final reads began' : `a read through ${o.read.node} that returned it began` };
  }
  return clusters;
}

/** Rule 2: a value other than v's that was the register's value at some moment strictly after
 *  v was known written and strictly before `beforeMs` (the latest known such one); null: none. */
function overwriter(clusters: ReadonlyMap<number | null, Cluster>, v: Cluster, beforeMs: number): Cluster | null {
  let found: Cluster | null = null;
  for (const u of clusters.values()) {
    if (u === v || !(u.knownBy.atMs < beforeMs)) continue;
    if (!(Math.min(u.lastBegan.atMs, u.knownBy.atMs) > v.knownBy.atMs)) continue;
    if (found === null || u.knownBy.atMs > found.knownBy.atMs) found = u;
  }
  return found;
}

/** Why v cannot be seen after u: "v3 took effect after v2<when>: v2 had been written by ...". */
function overwrittenText(v: Cluster, u: Cluster, when: string, at: (ms: number) => string): string {
  const window = u.lastBegan.atMs < u.knownBy.atMs
    ? `at some moment between ${at(u.lastBegan.atMs)} (${u.lastBegan.what}) and ${at(u.knownBy.atMs)} (${u.knownBy.what})`
    : `by ${at(u.knownBy.atMs)} (${u.knownBy.what})`;
  if (v.value === null) return `v${u.value} had been written${when}: it was the value ${window}`;
  return `v${u.value} took effect after v${v.value}${when}: v${v.value} had been written by ${at(v.knownBy.atMs)} (${v.knownBy.what}), and v${u.value} was the value ${window}`;
}

/** What the checker found (the figures count these; each set holds distinct findings). */
interface Findings {
  readonly violations: string[];
  readonly lost: Set<string>;
  readonly stale: Set<OpRecord>;
  readonly neverWritten: Set<string>;
  readonly refusedApplied: Set<string>;
  /** `<register> v<n>`: indeterminate writes seen after a later write was acknowledged. */
  readonly late: Set<string>;
  /** `<node> <register>`: final reads found impossible (a difference there is not explained). */
  readonly impossibleFinals: Set<string>;
}

type ValueProblem = { readonly kind: 'never-written' } | { readonly kind: 'refused-but-applied'; readonly refused: OpRecord };

/** Rule 1: null when a write of `value` that may have taken effect was sent before `endMs`. */
function valueProblem(r: RegisterWrites | undefined, value: number, endMs: number): ValueProblem | null {
  const w = r?.byValue.get(value);
  if (w !== undefined && w.sent.startMs < endMs) return null;
  const refused = r?.attempts.find((a) => a.value === value && a.outcome === 'fail' && a.startMs < endMs);
  return refused === undefined ? { kind: 'never-written' } : { kind: 'refused-but-applied', refused };
}

function reportValueProblem(key: string, o: Observation, problem: ValueProblem, at: (ms: number) => string, found: Findings): void {
  const id = `register ${key} v${o.value}`;
  if (o.read !== null) {
    if (problem.kind === 'never-written') {
      found.neverWritten.add(`read ${key} v${o.value} ${o.startMs}`);
      found.violations.push(`register ${key} read through ${o.read.node} at ${at(o.startMs)} answered v${o.value}, a value no client had sent by then`);
    } else {
      found.refusedApplied.add(id);
      found.violations.push(`refused write applied: register ${key} read through ${o.read.node} at ${at(o.startMs)} answered v${o.value}, whose write answered ${problem.refused.status}`);
    }
    return;
  }
  found.impossibleFinals.add(`${o.finalNode} ${key}`);
  const seen = problem.kind === 'never-written' ? found.neverWritten : found.refusedApplied;
  if (seen.has(id)) return;
  seen.add(id);
  found.violations.push(problem.kind === 'never-written'
    ? `register ${key} is v${o.value} on ${o.finalNode} after the run, a value no client wrote`
    : `refused write applied: register ${key} is v${o.value} on ${o.finalNode}, but that write answered ${problem.refused.status} (${problem.refused.detail})`);
}

/** Rules 1 and 2 on every observation of one register (final reads first). */
function checkRegister(key: string, r: RegisterWrites | undefined, observations: readonly Observation[], at: (ms: number) => string, found: Findings): void {
  const valid: Observation[] = [];
  for (const o of observations) {
    const problem = o.value === null ? null : valueProblem(r, o.value, o.endMs);
    if (problem === null) valid.push(o);
    else reportValueProblem(key, o, problem, at, found);
  }
  const clusters = clustersOf(r, valid);
  for (const o of valid) {
    const v = clusters.get(o.value)!;
    const u = overwriter(clusters, v, o.startMs);
    if (u === null) continue;
    const seen = v.value === null ? 'no register' : `v${v.value}`;
    if (o.read !== null) {
      found.stale.add(o.read);
      found.violations.push(`stale read: register ${key} read through ${o.read.node} at ${at(o.startMs)} answered ${seen}, but ${overwrittenText(v, u, ' and before the read began', at)}`);
      continue;
    }
    found.impossibleFinals.add(`${o.finalNode} ${key}`);
    if (!found.lost.has(`register ${key}`)) found.violations.push(`lost write: register ${key} is ${v.value === null ? 'missing' : seen} on ${o.finalNode} after the run, but ${overwrittenText(v, u, '', at)}`);
    found.lost.add(`register ${key}`);
  }
  countLate(key, r, clusters, found);
}

/** Indeterminate writes seen by a read (or a final read) that began after a later write was
 *  acknowledged: they took effect after it, as the model allows (the loop's writes are
 *  sequential, so only a read can make a value's lastBegan later than a later write's answer). */
function countLate(key: string, r: RegisterWrites | undefined, clusters: ReadonlyMap<number | null, Cluster>, found: Findings): void {
  let laterAckedMs = Infinity;
  for (const w of [...(r?.byValue.values() ?? [])].sort((a, b) => b.value - a.value)) {
    if (w.acked === null && clusters.get(w.value)!.lastBegan.atMs > laterAckedMs) found.late.add(`${key} v${w.value}`);
    if (w.acked !== null) laterAckedMs = Math.min(laterAckedMs, w.acked.endMs);
  }
}

function checkCreates(creates: readonly OpRecord[], answered: readonly FinalRead[], at: (ms: number) => string, found: Findings): void {
  const created = new Set(creates.map((c) => c.key));
  for (const f of answered) {
    const present = new Set(f.groups);
    for (const c of creates) {
      if (c.outcome === 'ok' && !present.has(c.key) && !found.lost.has(`create ${c.key}`)) {
        found.lost.add(`create ${c.key}`);
        found.violations.push(`lost write: group ${c.key}, created through ${c.node} (acknowledged at ${at(c.endMs)}), is missing on ${f.node}`);
      }
      if (c.outcome === 'fail' && present.has(c.key) && !found.refusedApplied.has(`create ${c.key}`)) {
        found.refusedApplied.add(`create ${c.key}`);
        found.violations.push(`refused write applied: group ${c.key} exists on ${f.node}, but its create through ${c.node} at ${at(c.startMs)} answered ${c.status} (${c.detail})`);
      }
    }
    for (const name of present) {
      if (!created.has(name) && !found.neverWritten.has(`group ${name}`)) {
        found.neverWritten.add(`group ${name}`);
        found.violations.push(`group ${name} exists on ${f.node}, but no client created it`);
      }
    }
  }
}

/** Checks a history against the final reads. `startedAtMs` dates the violations. */
export function checkHistory(ops: readonly OpRecord[], finals: readonly FinalRead[], startedAtMs: number): CheckResult {
  const at = (ms: number) => sinceStart(ms, startedAtMs);
  const found: Findings = { violations: [], lost: new Set(), stale: new Set(), neverWritten: new Set(), refusedApplied: new Set(), late: new Set(), impossibleFinals: new Set() };
  const answered = finals.filter((f) => f.groups !== null && f.registers !== null);
  const creates = ops.filter((o) => o.op === 'create');
  checkCreates(creates, answered, at, found);

  // The final reads were sent after the workload stopped, so after every recorded answer: half a
  // millisecond after the last one puts their start strictly after it at ms resolution.
  const finalsStartMs = ops.reduce((latest, o) => Math.max(latest, o.endMs), -Infinity) + 0.5;
  const registers = registersOf(ops);
  const readsByKey = new Map<string, OpRecord[]>();
  for (const o of ops) {
    if (o.op !== 'read' || o.outcome !== 'ok') continue;
    const list = readsByKey.get(o.key) ?? [];
    readsByKey.set(o.key, list);
    list.push(o);
  }
  const keys = new Set([...registers.keys(), ...readsByKey.keys(), ...answered.flatMap((f) => Object.keys(f.registers!))]);
  for (const key of keys) {
    const observations: Observation[] = [
      ...answered.map((f) => ({ value: f.registers![key] ?? null, startMs: Math.min(finalsStartMs, f.atMs), endMs: f.atMs, read: null, finalNode: f.node })),
      ...(readsByKey.get(key) ?? []).map((o) => ({ value: o.value, startMs: o.startMs, endMs: o.endMs, read: o, finalNode: null })),
    ];
    checkRegister(key, registers.get(key), observations, at, found);
  }

  const agreement = agreementOf(finals, answered, new Map(creates.map((c) => [c.key, c.outcome])), found.impossibleFinals);
  const writes = ops.filter((o) => o.op !== 'read');
  const count = (list: readonly OpRecord[], outcome: Outcome) => list.filter((o) => o.outcome === outcome).length;
  const allReads = ops.filter((o) => o.op === 'read');
  const violations = [...agreement.violations, ...found.violations];
  return {
    name: 'writes',
    ok: violations.length === 0,
    figures: {
      'writes attempted': writes.length,
      acknowledged: count(writes, 'ok'),
      indeterminate: count(writes, 'unknown'),
      refused: count(writes, 'fail'),
      lost: found.lost.size,
      'reads answered': count(allReads, 'ok'),
      'reads attempted': allReads.length,
      'stale reads': found.stale.size,
      'never written': found.neverWritten.size,
      'refused but applied': found.refusedApplied.size,
      'late indeterminate writes': found.late.size,
      'nodes read after': `${answered.length}/${finals.length}`,
      'nodes disagreeing': agreement.disagreeing,
      'nodes differing on indeterminate writes': agreement.explainedOnly,
    },
    violations: keptViolations(violations),
  };
}

/** The final reads compared with the first node's. A difference is explained (not a violation)
 *  when an indeterminate write may have taken effect between the two reads: a group whose create
 *  is indeterminate, or a register whose value in both reads is possible (no rule failed). */
function agreementOf(finals: readonly FinalRead[], answered: readonly FinalRead[], createOutcome: ReadonlyMap<string, Outcome>, impossibleFinals: ReadonlySet<string>): { violations: string[]; disagreeing: number; explainedOnly: number } {
  const violations: string[] = [];
  for (const f of finals) if (f.groups === null || f.registers === null) violations.push(`${f.node} answered no consistent read after the run (${f.error ?? 'no answer'})`);
  const first = answered[0];
  let disagreeing = 0;
  let explainedOnly = 0;
  for (const f of answered.slice(1)) {
    const d = differences(first!, f, (group) => createOutcome.get(group) === 'unknown', (key) => !impossibleFinals.has(`${first!.node} ${key}`) && !impossibleFinals.has(`${f.node} ${key}`));
    if (d.unexplained.length > 0) {
      disagreeing++;
      violations.push(`${f.node} and ${first!.node} disagree after the run: ${d.unexplained.join('; ')}`);
    } else if (d.explained > 0) {
      explainedOnly++;
    }
  }
  return { violations, disagreeing, explainedOnly };
}

/** How two final reads differ: the first few unexplained differences, spelled out, and how many
 *  differences are explained by indeterminate writes. */
function differences(a: FinalRead, b: FinalRead, groupExplained: (name: string) => boolean, registerExplained: (key: string) => boolean): { unexplained: string[]; explained: number } {
  const ga = new Set(a.groups);
  const gb = new Set(b.groups);
  const unexplained: string[] = [];
  let explained = 0;
  const groupsOnly = (on: FinalRead, mine: Set<string>, other: Set<string>) => {
    const only = [...mine].filter((g) => !other.has(g));
    const shown = only.filter((g) => !groupExplained(g));
    explained += only.length - shown.length;
    if (shown.length > 0) unexplained.push(`groups only on ${on.node}: ${shown.slice(0, 3).join(', ')}${shown.length > 3 ? ` (+${shown.length - 3})` : ''}`);
  };
  groupsOnly(a, ga, gb);
  groupsOnly(b, gb, ga);
  const shown = (v: number | null) => (v === null ? 'missing' : `v${v}`);
  for (const key of new Set([...Object.keys(a.registers!), ...Object.keys(b.registers!)])) {
    const va = a.registers![key] ?? null;
    const vb = b.registers![key] ?? null;
    if (va === vb) continue;
    if (registerExplained(key)) explained++;
    else unexplained.push(`register ${key}: ${shown(va)} vs ${shown(vb)}`);
  }
  return { unexplained, explained };
}
