// Placement policies: the built-in defaults, resolution global -> service -> stream (a field set
// at a lower level wins), and the check of operator-given values. Pure.
import { policyProblem } from '../state/stream-rules.ts';
import type { Policy, PolicyOverride } from '../state/stream-types.ts';

/** What a cluster runs with before an operator sets anything. The ceilings leave room for a
 *  node's own work (gateway, Raft, gossip) and for a stream's cost to grow before a rebalance
 *  catches it; stickiness 0.1 means a running stream moves only for 10 points more headroom. */
export const defaultPolicy: Policy = Object.freeze({
  strategy: 'spread',
  groups: Object.freeze([]) as readonly string[],
  cpuCeilPct: 85,
  memCeilPct: 90,
  maxStreamsPerNode: 0,
  stickiness: 0.1,
  rebalanceMovesPerMin: 6,
  hotStandby: false,
});

const policyFields = Object.keys(defaultPolicy) as ReadonlyArray<keyof Policy>;

/** The policy a stream runs under: the defaults, overridden by the cluster-wide policy, then by
 *  its service's, then by its own. A field absent (or undefined) at a level inherits. The
 *  overrides are not validated here (see policyOverrideProblem; apply() refuses bad ones). */
export function resolvePolicy(global: PolicyOverride, service?: PolicyOverride | null, stream?: PolicyOverride | null): Policy {
  const out: Record<string, unknown> = { ...defaultPolicy };
  for (const level of [global, service, stream]) {
    if (level === undefined || level === null) continue;
    for (const field of policyFields) {
      const value = level[field];
      if (value !== undefined) out[field] = value;
    }
  }
  return out as unknown as Policy;
}

/** Why these override values are not acceptable, or null: the state's rules (the same ones
 *  apply() runs), plus what they leave to the type system (hotStandby a boolean, no unknown
 *  field, groups listed once). The message names the field and the allowed values. */
export function policyOverrideProblem(policy: PolicyOverride): string | null {
  for (const key of Object.keys(policy)) {
    if (!(policyFields as readonly string[]).includes(key)) return `policy has no field "${key}": use ${policyFields.join(', ')}`;
  }
  const problem = policyProblem(policy);
  if (problem !== null) return problem;
  if (policy.hotStandby !== undefined && typeof policy.hotStandby !== 'boolean') return `policy hotStandby must be true or false, not ${String(policy.hotStandby)}`;
  if (policy.groups !== undefined && new Set(policy.groups).size !== policy.groups.length) return `policy groups list a group twice: [${policy.groups.join(', ')}]`;
  return null;
}
