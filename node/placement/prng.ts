// A small seeded generator (mulberry32): placement breaks ties with it so that a seed gives the
// same plan on every leader, and different seeds do not always favour the same node. Not for
// anything secret.

/** Returns a function giving uniform floats in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

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
