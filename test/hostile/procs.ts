// What node processes run: their descendants (ffmpeg through setpriv, anything else) read from
// /proc, and a watcher that samples them often enough to see short-lived ones (a shell would
// live for milliseconds), so a test can say what was never started.
import { readdir, readFile } from 'node:fs/promises';

export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** argv as the kernel holds it (one element per argument). */
  readonly argv: readonly string[];
}

async function readProc(pid: number): Promise<Proc | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields after it start after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    const cmdline = await readFile(`/proc/${pid}/cmdline`);
    const argv = cmdline.toString('utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return { pid, ppid, comm, argv };
  } catch {
    return null; // gone meanwhile
  }
}

/** Every process below `roots` (not the roots themselves). */
export async function descendants(roots: readonly number[]): Promise<Proc[]> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const all = (await Promise.all(pids.map(readProc))).filter((p): p is Proc => p !== null);
  const children = new Map<number, Proc[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Samples the descendants of `roots()` every `everyMs` until stopped; keeps every process seen. */
export class ProcessWatcher {
  readonly seen = new Map<number, Proc>();
  #timer: NodeJS.Timeout | null = null;
  #sampling: Promise<void> = Promise.resolve();

  constructor(roots: () => readonly number[], everyMs = 100) {
    const sample = async () => {
      for (const p of await descendants(roots())) if (!this.seen.has(p.pid) || this.seen.get(p.pid)!.argv.length === 0) this.seen.set(p.pid, p);
    };
    this.#timer = setInterval(() => {
      this.#sampling = this.#sampling.then(sample, sample);
    }, everyMs);
  }

  async stop(): Promise<Proc[]> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#sampling;
    return [...this.seen.values()];
  }
}
