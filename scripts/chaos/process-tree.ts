// A process and everything it started (pure parts): a paused node must be paused with its
// ffmpeg children, as a frozen VM would be (faults.ts reads /proc and sends the signals).

/** The parent pid in the text of /proc/<pid>/stat, or null when it is not one. The command
 *  name (field 2, in parentheses) may itself hold spaces and parentheses: read after the last
 *  ')'. */
export function parentPidOfStat(stat: string): number | null {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) && ppid >= 0 ? ppid : null;
}

/** `root` and every process below it, parents before their children, from a pid -> parent pid
 *  table (a snapshot of /proc). */
export function treeOf(root: number, parentOf: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentOf) {
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [pid]);
    else list.push(pid);
  }
  const out: number[] = [];
  const queue = [root];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue; // a table read while pids were reused may hold a loop
    seen.add(pid);
    out.push(pid);
    queue.push(...(children.get(pid) ?? []).sort((a, b) => a - b));
  }
  return out;
}
