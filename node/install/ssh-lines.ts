// Output of a remote command as whole lines, as they arrive (pure: no I/O). Chunks split lines
// anywhere, including inside a UTF-8 character; a line longer than the bound is cut, so a
// command printing without newlines cannot grow memory without limit.

/** A line longer than this is passed on in pieces of this many characters. */
export const lineCharsMax = 2000;

export class LineSplitter {
  readonly #decoder = new TextDecoder('utf-8');
  #partial = '';
  readonly #onLine: (line: string) => void;

  /** `onLine` gets each line without its newline (and without a trailing \r). */
  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Uint8Array): void {
    this.#take(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The rest, when the output ended without a newline. */
  end(): void {
    this.#take(this.#decoder.decode());
    if (this.#partial !== '') this.#emit(this.#partial);
    this.#partial = '';
  }

  #take(text: string): void {
    const parts = (this.#partial + text).split('\n');
    this.#partial = parts.pop()!;
    for (const line of parts) this.#emit(line);
    while (this.#partial.length > lineCharsMax) {
      this.#emit(this.#partial.slice(0, lineCharsMax));
      this.#partial = this.#partial.slice(lineCharsMax);
    }
  }

  #emit(line: string): void {
    const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let at = 0; at < clean.length || at === 0; at += lineCharsMax) {
      this.#onLine(clean.slice(at, at + lineCharsMax));
      if (clean.length === 0) break;
    }
  }
}
