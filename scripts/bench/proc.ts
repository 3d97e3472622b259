// A process's CPU time from /proc (Linux), for the benchmarks that account their processes.
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc counts CPU time in hundredths of a second. */
export const ticksPerS = 100;
export const usPerTick = 1_000_000 / ticksPerS;

/** User + system CPU of process `pid` (all its threads) so far, in clock ticks; null once it
 *  is gone. */
export function cpuTicks(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
