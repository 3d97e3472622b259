// The observers' records: one JSON object a line (JSONL) in the run's output directory, appended
// while the run goes on, so a failing run can be examined afterwards and the checkers (pure) can
// be fed the same records in unit tests. Writes are ordered per file; nothing is dropped.
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The files the observers write (one concept each), under the run's output directory. */
export const recordFiles = {
  writes: 'writes.jsonl',
  finalReads: 'final-reads.jsonl',
  processes: 'processes.jsonl',
  assignments: 'assignments.jsonl',
  listings: 'listings.jsonl',
  segments: 'segments.jsonl',
  viewers: 'viewers.jsonl',
} as const;

export type RecordFile = keyof typeof recordFiles;

export function recordPath(outDir: string, file: RecordFile): string {
  return join(outDir, recordFiles[file]);
}

/** Appends records to one JSONL file. `close()` resolves once everything is on disk. */
export class JsonlWriter<T> {
  readonly path: string;
  readonly #stream: WriteStream;
  #error: Error | null = null;
  #closed = false;

  constructor(path: string) {
    this.path = path;
    this.#stream = createWriteStream(path, { flags: 'a' });
    this.#stream.on('error', (err) => (this.#error = err));
  }

  /** Queues one record (never blocks; the stream buffers until the disk takes it). Throws the
   *  stream's error if an earlier write failed: a history with a hole must not pass as whole.
   *  After close() (the observer stopped; a poll still under way answers late) it does nothing. */
  write(record: T): void {
    if (this.#closed) return;
    if (this.#error !== null) throw new Error(`cannot write ${this.path}: ${this.#error.message}`);
    this.#stream.write(`${JSON.stringify(record)}\n`);
  }

  close(): Promise<void> {
    this.#closed = true;
    return new Promise((resolve, reject) => {
      this.#stream.end(() => (this.#error === null ? resolve() : reject(this.#error)));
    });
  }
}

/** Every record of a JSONL file ([] when it does not exist). A last line cut short (the run was
 *  killed mid-write) is left out; a bad line elsewhere throws, naming the file and line. */
export async function readJsonl<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n');
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (err) {
      if (i >= lines.length - 2 && !text.endsWith('\n')) break;
      throw new Error(`${path}:${i + 1} is not JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}
