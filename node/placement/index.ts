// The placement package's public face (pure: no I/O, no clock; randomness from a seed). The
// leader builds a PlacementInput from the replicated state and gossip, calls place() (and
// rebalance() within its per-minute budget), and proposes diff()'s moves; the API runs the same
// for explain and for dry-run plans.
export type * from './types.ts';
export { reasonCodes } from './types.ts';
export { defaultPolicy, policyOverrideProblem, resolvePolicy } from './policy.ts';
export { place } from './place.ts';
export { explain } from './explain.ts';
export { currentAssignments, diff } from './diff.ts';
export { rebalance, rebalanceMarginPressure, rebalanceNodesSearchedMax } from './rebalance.ts';
export type { RebalanceResult } from './rebalance.ts';
export { seededRandom } from './prng.ts';
