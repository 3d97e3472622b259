// A scenario command line: `name pos1 (a,b) key=value key=(x,y) "quoted text"`.
// Arguments are checked strictly: a key the command did not read is an authoring error,
// so a typo (`voter=` for `voters=`) fails the test instead of silently meaning nothing.

/** The transcript is wrong (unknown command, bad argument): the test fails at that line. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Split on blanks, keeping `( ... )` groups and `"..."` strings whole. */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let depth = 0;
  let quoted = false;
  for (const ch of line) {
    if (quoted) {
      current += ch;
      if (ch === '"') quoted = false;
    } else if (ch === '"') {
      current += ch;
      quoted = true;
    } else if (ch === '(') {
      depth++;
      current += ch;
    } else if (ch === ')') {
      depth--;
      current += ch;
    } else if (/\s/.test(ch) && depth === 0) {
      if (current !== '') tokens.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted || depth !== 0) throw new ScenarioError(`unbalanced quotes or parentheses in: ${line}`);
  if (current !== '') tokens.push(current);
  return tokens;
}

/** `(1,2, 3)` -> ['1','2','3']; `()` -> []; a bare `4` -> ['4']. */
export function parseList(raw: string): string[] {
  const inner = raw.startsWith('(') && raw.endsWith(')') ? raw.slice(1, -1) : raw;
  return inner.split(/[\s,]+/).filter((s) => s !== '');
}

/** `"a b"` -> `a b`; anything else unchanged. */
export function unquote(raw: string): string {
  return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
}

export class CommandArgs {
  readonly name: string;
  readonly positional: readonly string[];
  readonly #keyed = new Map<string, string>();
  readonly #used = new Set<string>();

  constructor(line: string) {
    const tokens = tokenize(line);
    const [name, ...rest] = tokens;
    if (name === undefined) throw new ScenarioError('empty command line');
    this.name = name;
    const positional: string[] = [];
    for (const token of rest) {
      const eq = token.indexOf('=');
      // `key=value` only when the key is a plain word; `"a=b"` stays positional.
      if (eq > 0 && /^[a-z][a-z0-9-]*$/.test(token.slice(0, eq))) this.#keyed.set(token.slice(0, eq), token.slice(eq + 1));
      else positional.push(token);
    }
    this.positional = positional;
  }

  has(key: string): boolean {
    return this.#keyed.has(key);
  }

  str(key: string): string | undefined {
    this.#used.add(key);
    const raw = this.#keyed.get(key);
    return raw === undefined ? undefined : unquote(raw);
  }

  requireStr(key: string): string {
    const value = this.str(key);
    if (value === undefined) throw new ScenarioError(`${this.name}: missing ${key}=`);
    return value;
  }

  int(key: string, fallback: number): number {
    const raw = this.str(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n)) throw new ScenarioError(`${this.name}: ${key}=${raw} is not an integer`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const raw = this.str(key);
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false') throw new ScenarioError(`${this.name}: ${key}=${raw} is not true/false`);
    return raw === 'true';
  }

  list(key: string): string[] {
    const raw = this.str(key);
    return raw === undefined ? [] : parseList(raw);
  }

  /** The n-th positional argument as an integer. */
  posInt(n: number): number {
    const raw = this.positional[n];
    const value = Number(raw);
    if (raw === undefined || !Number.isInteger(value)) throw new ScenarioError(`${this.name}: argument ${n + 1} must be an integer`);
    return value;
  }

  /** The n-th positional argument, required. */
  pos(n: number): string {
    const raw = this.positional[n];
    if (raw === undefined) throw new ScenarioError(`${this.name}: missing argument ${n + 1}`);
    return unquote(raw);
  }

  /** Throws when a key=value was given that the command never read (a typo). */
  checkAllUsed(): void {
    const unused = [...this.#keyed.keys()].filter((k) => !this.#used.has(k));
    if (unused.length > 0) throw new ScenarioError(`${this.name}: unknown argument(s) ${unused.join(', ')}`);
  }
}
