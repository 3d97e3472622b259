// The simulated disk: how long one Ready's synced write takes. The write is the window in which a
// crash loses data: until it completes nothing of that Ready is durable and none of its messages
// has left the node (persist before send).
import type { Rng } from './rng.ts';

export interface DiskFaults {
  writeMsMin: number;
  writeMsMax: number;
  /** Probability of a slow write (a stalled fsync), up to `slowWriteMsMax`. */
  slowWriteRate: number;
  slowWriteMsMax: number;
}

export const healthyDisk: DiskFaults = { writeMsMin: 1, writeMsMax: 3, slowWriteRate: 0, slowWriteMsMax: 0 };

/** Simulated duration of a synced write. A Ready with nothing to sync takes no time. */
export function writeLatencyMs(rng: Rng, disk: DiskFaults, mustSync: boolean): number {
  if (!mustSync) return 0;
  if (rng.chance(disk.slowWriteRate)) return rng.int(disk.writeMsMax, Math.max(disk.writeMsMax, disk.slowWriteMsMax));
  return rng.int(disk.writeMsMin, disk.writeMsMax);
}
