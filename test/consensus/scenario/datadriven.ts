// The transcript file format (after cockroachdb/datadriven, as etcd-io/raft uses it):
//
//   # comment lines and blank lines are kept verbatim
//   command arg key=value
//   optional input lines
//   ----
//   expected output (no blank lines)
//   <blank line or end of file>
//
// Parsing keeps every byte that is not expected output, so a rewrite changes only outputs
// and `git diff` shows exactly what behaviour moved.

export interface Directive {
  /** 1-based line of the command, for error messages. */
  readonly line: number;
  readonly command: string;
  readonly input: readonly string[];
  readonly expected: string;
}

/** A file is verbatim text interleaved with directives. */
export type Chunk = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'directive'; readonly directive: Directive; readonly header: string };

const SEPARATOR = '----';

export class FormatError extends Error {
  override readonly name = 'FormatError';
}

export function parseTranscript(text: string, file: string): Chunk[] {
  const lines = text.split('\n');
  // A trailing newline yields one empty last element that is not a line of its own.
  if (lines.at(-1) === '') lines.pop();
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      chunks.push({ kind: 'text', text: `${line}\n` });
      i++;
      continue;
    }
    const start = i;
    const input: string[] = [];
    i++;
    while (i < lines.length && lines[i] !== SEPARATOR) input.push(lines[i++]!);
    if (i >= lines.length) throw new FormatError(`${file}:${start + 1}: command "${line}" has no "${SEPARATOR}" line`);
    i++; // the separator
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
    const header = [line, ...input, SEPARATOR].map((l) => `${l}\n`).join('');
    chunks.push({ kind: 'directive', header, directive: { line: start + 1, command: line, input, expected: expected.join('\n') } });
  }
  return chunks;
}

/** The file with each directive's expected output replaced by `actual` (same order). */
export function rewriteTranscript(chunks: readonly Chunk[], actual: readonly string[]): string {
  let n = 0;
  let out = '';
  for (const chunk of chunks) {
    if (chunk.kind === 'text') {
      out += chunk.text;
      continue;
    }
    out += chunk.header;
    const produced = actual[n++];
    out += produced === undefined ? `${chunk.directive.expected}\n` : `${produced}\n`;
  }
  return out;
}

/** Outputs may not contain blank lines: a blank line ends the expected block in the file. */
export function normalizeOutput(output: string): string {
  const lines = output.split('\n').map((l) => l.replace(/\s+$/, ''));
  const kept = lines.filter((l) => l !== '');
  return kept.length === 0 ? 'ok' : kept.join('\n');
}

const DIFF_LINES_MAX = 400; // beyond this the diff falls back to showing both sides whole

/** A unified-style line diff (LCS), `-` expected, `+` actual. Outputs are small. */
export function lineDiff(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  if (a.length > DIFF_LINES_MAX || b.length > DIFF_LINES_MAX) {
    return ['--- expected', ...a.map((l) => `- ${l}`), '+++ actual', ...b.map((l) => `+ ${l}`)].join('\n');
  }
  // lcs[i][j] = length of the longest common subsequence of a[i..] and b[j..].
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${a[i++]}`);
    } else {
      out.push(`+ ${b[j++]}`);
    }
  }
  return out.join('\n');
}
