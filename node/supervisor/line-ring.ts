// The last lines of ffmpeg's stderr, kept per stream for troubleshooting (why did the source
// fail?). Bounded in lines and in characters per line; chunks are split into lines as they come.

/** Default number of lines kept. */
export const stderrLinesDefault = 200;
/** A longer line is cut to this many characters (a binary dump must not fill memory). */
export const lineCharsMax = 1000;

export class LineRing {
  readonly capacity: number;
  readonly #lines: string[] = [];
  #next = 0;
  #partial = '';
  readonly #skip: RegExp | null;

  /** `skip`: lines to drop (routine noise that would push out the lines that explain a failure). */
  constructor(capacity: number = stderrLinesDefault, skip: RegExp | null = null) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`line ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#skip = skip;
  }

  /** Feed a chunk of text; complete lines (ended by \n or \r) are kept. */
  write(text: string): void {
    const parts = (this.#partial + text).split(/\r\n|\n|\r/);
    this.#partial = (parts.pop() ?? '').slice(0, lineCharsMax);
    for (const part of parts) this.push(part);
  }

  /** Keep the unfinished last line too (call when the stream ends). */
  flush(): void {
    if (this.#partial !== '') this.push(this.#partial);
    this.#partial = '';
  }

  push(line: string): void {
    if (line === '' || (this.#skip !== null && this.#skip.test(line))) return;
    const kept = line.length > lineCharsMax ? `${line.slice(0, lineCharsMax)}...` : line;
    if (this.#lines.length < this.capacity) this.#lines.push(kept);
    else this.#lines[this.#next] = kept;
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Oldest first. A copy: the caller owns it. */
  lines(): string[] {
    if (this.#lines.length < this.capacity) return this.#lines.slice();
    return [...this.#lines.slice(this.#next), ...this.#lines.slice(0, this.#next)];
  }
}
