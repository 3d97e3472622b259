// Seeded tie-breaks: placement breaks ties with the Raft core's generator (mulberry32) so that
// a seed gives the same plan on every leader, and different seeds do not always favour the same
// node. Not for anything secret.
import { seededRandom } from '../../consensus/core/rand.ts';

export { seededRandom };

/** A permutation of 0..n-1 (Fisher-Yates) from `seed`: entry i is node i's tie-break rank. */
export function tieBreakRanks(n: number, seed: number): Int32Array {
  const random = seededRandom(seed);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]!] = i;
  return rank;
}
