// npm run sim -- [--seeds N] [--start S0] [--seed S] [--nodes K] [--json] [--verbose]
// Runs the deterministic cluster simulator (test/sim) over seeds S0..S0+N-1 (or one seed), prints
// every failure with the command that replays it, then a summary; with --json the last line is
// one JSON object. Exit code 1 if any seed broke a safety property or failed liveness.
import { parseArgs } from 'node:util';
import type { SeedResult } from '../test/sim/runner.ts';
import { runSeed } from '../test/sim/runner.ts';
import { integerOption } from './cli-options.ts';

const usage = 'usage: npm run sim -- [--seeds N] [--start S0] [--seed S] [--nodes K] [--json] [--verbose]';

function parse(): { seeds: number; start: number; nodes: number; json: boolean; verbose: boolean } {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      start: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, fallback: number, min: number): number => integerOption(name, v, fallback, min, usage);
  const single = values.seed !== undefined;
  return {
    seeds: single ? 1 : int('seeds', values.seeds, 100, 1),
    start: single ? int('seed', values.seed, 0, 0) : int('start', values.start, 1, 0),
    nodes: int('nodes', values.nodes, 3, 1),
    json: values.json,
    verbose: values.verbose,
  };
}

function replay(seed: number, nodes: number): string {
  return `npm run sim -- --seed ${seed}${nodes === 3 ? '' : ` --nodes ${nodes}`} --verbose`;
}

function reportFailure(r: SeedResult): void {
  console.log(`FAIL seed ${r.seed} (${r.nodes} nodes):`);
  console.log(`  setup: ${r.setup}`);
  for (const v of r.violations) console.log(`  ${v.kind} at ${v.atMs}ms on ${v.node}: ${v.detail}`);
  if (r.violationCount > r.violations.length) console.log(`  ... and ${r.violationCount - r.violations.length} more violations`);
  if (r.livenessFailure !== null) console.log(`  liveness: ${r.livenessFailure}`);
  console.log(`  replay: ${replay(r.seed, r.nodes)}`);
}

function main(): void {
  const args = parse();
  const t0 = performance.now();
  const last = args.start + args.seeds - 1;
  console.log(args.seeds === 1 ? `sim: seed ${args.start}, ${args.nodes} nodes` : `sim: seeds ${args.start}..${last}, ${args.nodes} nodes`);
  const totals = { violations: 0, liveness_failures: 0, failing_seeds: 0, commits: 0, elections: 0, snapshots_sent: 0, crashes: 0, lost_writes: 0, messages: 0, simulated_s: 0 };
  let firstFailing: number | null = null;
  const progressEvery = 1000;
  for (let seed = args.start; seed <= last; seed++) {
    const r = runSeed({ seed, nodes: args.nodes, trace: args.verbose ? (line) => console.log(line) : null });
    totals.violations += r.violationCount;
    totals.liveness_failures += r.livenessFailure === null ? 0 : 1;
    totals.commits += r.stats.commits;
    totals.elections += r.stats.elections;
    totals.snapshots_sent += r.stats.snapshotsSent;
    totals.crashes += r.stats.crashes;
    totals.lost_writes += r.stats.lostWrites;
    totals.messages += r.stats.messages;
    totals.simulated_s += r.stats.simulatedMs / 1000;
    if (r.violationCount > 0 || r.livenessFailure !== null) {
      totals.failing_seeds++;
      firstFailing ??= seed;
      reportFailure(r);
    }
    const done = seed - args.start + 1;
    if (!args.json && args.seeds >= 2 * progressEvery && done % progressEvery === 0) {
      console.log(`  ${done}/${args.seeds} seeds, ${totals.failing_seeds} failing, ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    }
  }
  const elapsedS = (performance.now() - t0) / 1000;
  console.log(`sim: ${args.seeds} seeds x ${args.nodes} nodes in ${elapsedS.toFixed(1)}s (${totals.simulated_s.toFixed(0)}s simulated): ` +
    `${totals.violations} violations, ${totals.liveness_failures} liveness failures; ` +
    `${totals.commits} commits, ${totals.elections} elections, ${totals.crashes} crashes (${totals.lost_writes} lost writes), ` +
    `${totals.snapshots_sent} snapshots sent, ${totals.messages} messages`);
  if (firstFailing !== null) console.log(`first failing seed: ${firstFailing}; replay: ${replay(firstFailing, args.nodes)}`);
  if (args.json) {
    console.log(JSON.stringify({
      seeds: args.seeds,
      start: args.start,
      nodes: args.nodes,
      violations: totals.violations,
      liveness_failures: totals.liveness_failures,
      failing_seeds: totals.failing_seeds,
      first_failing_seed: firstFailing,
      elapsed_s: Number(elapsedS.toFixed(2)),
      simulated_s: Math.round(totals.simulated_s),
      commits: totals.commits,
      elections: totals.elections,
      snapshots_sent: totals.snapshots_sent,
      crashes: totals.crashes,
      lost_writes: totals.lost_writes,
      messages: totals.messages,
    }));
  }
  process.exitCode = totals.violations > 0 || totals.liveness_failures > 0 ? 1 : 0;
}

main();
