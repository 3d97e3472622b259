// Scenario transcripts (testdata/*.txt): every command is run against a fresh in-process
// cluster and its output compared with the expected text below `----`.
//   node --test test/consensus/scenarios.test.ts                       check
//   npm run scenarios:rewrite   (or REWRITE=1 node --test ...)         rewrite the expected outputs
// then review the rewrite with `git diff testdata/`: the diff is the behaviour change.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import test from 'node:test';
import { InteractionEnv } from './scenario/env.ts';
import { runCommand } from './scenario/commands.ts';
import { lineDiff, normalizeOutput, parseTranscript, rewriteTranscript } from './scenario/datadriven.ts';
import { parentArgs } from './scenario/rewrite-flag.ts';

const root = join(import.meta.dirname, '..', '..');
const testdata = join(root, 'testdata');
const rewrite = process.env['REWRITE'] === '1' || process.argv.includes('--rewrite') || parentArgs().includes('--rewrite');
/** How many mismatches one failure message lists in full; the rest are counted. */
const MISMATCHES_SHOWN_MAX = 5;

interface Mismatch {
  readonly where: string;
  readonly diff: string;
  /** The command threw: a core panic or an authoring error, which no rewrite can fix. */
  readonly panic: boolean;
}

function runFile(path: string): { actual: string[]; mismatches: Mismatch[]; rewritten: string } {
  const file = relative(root, path);
  const chunks = parseTranscript(readFileSync(path, 'utf8'), file);
  const env = new InteractionEnv();
  const actual: string[] = [];
  const mismatches: Mismatch[] = [];
  for (const chunk of chunks) {
    if (chunk.kind === 'text') continue;
    const d = chunk.directive;
    const where = `${file}:${d.line}: ${d.command}`;
    let output: string;
    try {
      output = normalizeOutput(runCommand(env, d.command));
    } catch (e) {
      // A panic or an authoring error: nothing after it can be trusted. In rewrite mode it is
      // written into the transcript (so the reviewer sees it) and the test still fails.
      if (!rewrite) throw new Error(`${where}\n${String(e)}`, { cause: e });
      actual.push(`panic: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      mismatches.push({ where, diff: e instanceof Error ? (e.stack ?? e.message) : String(e), panic: true });
      break;
    }
    actual.push(output);
    if (output !== d.expected) mismatches.push({ where, diff: lineDiff(d.expected, output), panic: false });
  }
  return { actual, mismatches, rewritten: rewriteTranscript(chunks, actual) };
}

const files = readdirSync(testdata)
  .filter((f) => f.endsWith('.txt'))
  .sort();

test('there are scenario transcripts', () => {
  assert.ok(files.length > 0, `no testdata/*.txt in ${testdata}`);
});

for (const name of files) {
  test(`scenario ${name}`, () => {
    const path = join(testdata, name);
    const { mismatches, rewritten } = runFile(path);
    if (rewrite) {
      writeFileSync(path, rewritten);
      // A rewrite cannot fix a panic: those still fail.
      const panics = mismatches.filter((m) => m.panic);
      assert.equal(panics.length, 0, panics.map((m) => `${m.where}\n${m.diff}`).join('\n\n'));
      return;
    }
    if (mismatches.length === 0) return;
    const shown = mismatches.slice(0, MISMATCHES_SHOWN_MAX).map((m) => `${m.where}\n${m.diff}`);
    const more = mismatches.length > MISMATCHES_SHOWN_MAX ? `\n\n... and ${mismatches.length - MISMATCHES_SHOWN_MAX} more` : '';
    assert.fail(`${mismatches.length} output(s) differ (- expected, + actual); rewrite with \`npm run scenarios:rewrite\` and review the git diff:\n\n${shown.join('\n\n')}${more}`);
  });
}
