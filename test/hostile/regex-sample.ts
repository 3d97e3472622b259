// Strings that match a JSON Schema `pattern`, drawn with a seeded generator: the fuzzer's valid
// values for fields such as ids, names and fingerprints. Pure. It knows the regular-expression
// subset the route schemas use (anchors, literals, escapes, classes with ranges, groups,
// alternation, quantifiers); lookarounds are skipped, so a sample may miss: callers treat a
// sample as a candidate and let the server's validator decide.
import type { Rng } from '../sim/rng.ts';

type Node =
  | { readonly kind: 'chars'; readonly set: readonly string[] }
  | { readonly kind: 'seq'; readonly items: readonly Node[] }
  | { readonly kind: 'alt'; readonly options: readonly Node[] }
  | { readonly kind: 'repeat'; readonly node: Node; readonly min: number; readonly max: number };

/** Unbounded quantifiers (`*`, `+`, `{n,}`) draw at most this many more than their minimum. */
export const openRepeatExtraMax = 8;

const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
const digits = range('0', '9');
const word = [...range('a', 'z'), ...range('A', 'Z'), ...digits, '_'];
const spaces = [' ', '\t'];

function range(from: string, to: string): string[] {
  const out: string[] = [];
  for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c++) out.push(String.fromCharCode(c));
  return out;
}

/** A string meant to match `pattern`; `long` draws bounded repeats at their maximum (length edges). */
export function samplePattern(pattern: string, rng: Rng, long = false): string {
  const parser = new Parser(pattern);
  const node = parser.alternation();
  return emit(node, rng, long);
}

function emit(node: Node, rng: Rng, long: boolean): string {
  switch (node.kind) {
    case 'chars': return node.set.length === 0 ? '' : rng.pick(node.set);
    case 'seq': return node.items.map((n) => emit(n, rng, long)).join('');
    case 'alt': return emit(rng.pick(node.options), rng, long);
    case 'repeat': {
      const max = Number.isFinite(node.max) ? node.max : node.min + openRepeatExtraMax;
      const count = long ? max : rng.int(node.min, Math.min(max, node.min + openRepeatExtraMax));
      let out = '';
      for (let i = 0; i < count; i++) out += emit(node.node, rng, long);
      return out;
    }
  }
}

class Parser {
  readonly #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  alternation(): Node {
    const options: Node[] = [this.#sequence()];
    while (this.#peek() === '|') {
      this.#pos++;
      options.push(this.#sequence());
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  }

  #peek(): string | undefined {
    return this.#src[this.#pos];
  }

  #sequence(): Node {
    const items: Node[] = [];
    for (let c = this.#peek(); c !== undefined && c !== '|' && c !== ')'; c = this.#peek()) {
      if (c === '^' || c === '$') {
        this.#pos++;
        continue;
      }
      const atom = this.#atom();
      if (atom !== null) items.push(this.#quantified(atom));
    }
    return { kind: 'seq', items };
  }

  /** One atom; null for a lookaround (skipped). */
  #atom(): Node | null {
    const c = this.#src[this.#pos++]!;
    if (c === '(') {
      let lookaround = false;
      if (this.#src.startsWith('?:', this.#pos)) this.#pos += 2;
      else if (/^\?<?[=!]/.test(this.#src.slice(this.#pos, this.#pos + 3))) {
        lookaround = true;
        this.#pos += this.#src[this.#pos + 1] === '<' ? 3 : 2;
      }
      const inner = this.alternation();
      this.#pos++; // ')'
      return lookaround ? null : inner;
    }
    if (c === '[') return this.#charClass();
    if (c === '.') return { kind: 'chars', set: printable };
    if (c === '\\') return { kind: 'chars', set: this.#escape() };
    return { kind: 'chars', set: [c] };
  }

  #escape(): string[] {
    const e = this.#src[this.#pos++]!;
    if (e === 'd') return digits;
    if (e === 'w') return word;
    if (e === 's') return spaces;
    if (e === 'D' || e === 'W' || e === 'S') return ['-'];
    return [e];
  }

  #charClass(): Node {
    const negated = this.#peek() === '^';
    if (negated) this.#pos++;
    const set: string[] = [];
    let first = true;
    while (this.#peek() !== undefined && (this.#peek() !== ']' || first)) {
      first = false;
      let c = this.#src[this.#pos++]!;
      let chars: string[] = [c];
      if (c === '\\') chars = this.#escape();
      c = chars.length === 1 ? chars[0]! : '';
      if (c !== '' && this.#peek() === '-' && this.#src[this.#pos + 1] !== ']' && this.#src[this.#pos + 1] !== undefined) {
        this.#pos++;
        let to = this.#src[this.#pos++]!;
        if (to === '\\') to = this.#escape()[0]!;
        chars = range(c, to);
      }
      set.push(...chars);
    }
    this.#pos++; // ']'
    return { kind: 'chars', set: negated ? printable.filter((p) => !set.includes(p)) : set };
  }

  #quantified(atom: Node): Node {
    const c = this.#peek();
    let min: number;
    let max: number;
    if (c === '?') [min, max] = [0, 1];
    else if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.#src.slice(this.#pos));
      if (m === null) return atom;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      this.#pos += m[0].length - 1;
    } else return atom;
    this.#pos++;
    if (this.#peek() === '?') this.#pos++; // lazy: same strings
    return { kind: 'repeat', node: atom, min, max };
  }
}
