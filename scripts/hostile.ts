// npm run hostile -- [--iterations N] [--seed S] [--only REGEX] [--json]
// The hostile-input fuzz of test/hostile, run longer: every route of the in-process node fuzzed
// from its own schema (N requests per route), then N damaged playlists and the huge ones on the
// M3U import. The seed is printed first; a failure prints the request and the command that
// replays it. Exit code 1 on any finding. (The p2p garbage, path traversal, token and
// body-limit cases are fixed lists: npm test runs them, test/hostile/*.test.ts.)
import { parseArgs } from 'node:util';

import { hostileApp } from '../test/hostile/hostile-app.ts';
import { bigCases, fixedCases, mutatedCases, realPlaylists, runImportCase } from '../test/hostile/m3u-cases.ts';
import { blockOutgoing } from '../test/hostile/no-network.ts';
import { fuzzRoutes } from '../test/hostile/route-fuzz.ts';
import { deriveSeed, Rng } from '../test/sim/rng.ts';
import { integerOption } from './cli-options.ts';

const usage = 'usage: npm run hostile -- [--iterations N] [--seed S] [--only REGEX] [--json]';

function parse(): { iterations: number; seed: number; only: RegExp | undefined; json: boolean } {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, fallback: number, min: number): number => integerOption(name, v, fallback, min, usage);
  return {
    iterations: int('iterations', values.iterations, 200, 1),
    seed: int('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0),
    only: values.only === undefined ? undefined : new RegExp(values.only),
    json: values.json,
  };
}

async function main(): Promise<void> {
  const args = parse();
  const replay = `npm run hostile -- --seed ${args.seed} --iterations ${args.iterations}${args.only === undefined ? '' : ` --only '${args.only.source}'`}`;
  console.log(`seed ${args.seed}, ${args.iterations} requests per route (replay: ${replay})`);
  const guard = blockOutgoing();
  const failures: string[] = [];
  const h = await hostileApp();
  let fuzz: Awaited<ReturnType<typeof fuzzRoutes>>;
  try {
    fuzz = await fuzzRoutes(h, { seed: args.seed, casesPerRoute: args.iterations, ...(args.only === undefined ? {} : { only: args.only }) });
  } finally {
    await h.close();
  }
  for (const f of fuzz.findings) failures.push(`${f.route}: ${f.problem}\n    ${f.request}`);
  console.log(`routes: ${fuzz.routes}, requests: ${fuzz.cases}, valid ones answered 2xx: ${fuzz.accepted}, ${Math.round(fuzz.ms / 1000)} s`);
  console.log(`answers: ${Object.entries(fuzz.statuses).map(([s, n]) => `${s}×${n}`).join(' ')}`);
  console.log(`outgoing connections blocked: ${guard.refused.length}`);
  console.log(`routes taking input without a schema for it: ${fuzz.unschematized.join('; ') || 'none'}`);
  console.log(`slowest routes: ${fuzz.slowest.join('; ')}`);
  guard.restore();

  const imports = await hostileApp();
  const initial = imports.api.current;
  const rng = new Rng(deriveSeed(args.seed, 'm3u'));
  const cases = [...fixedCases(rng), ...mutatedCases(rng, args.iterations, realPlaylists()), ...(args.only === undefined ? bigCases(true) : [])];
  const started = performance.now();
  let slowest = { name: '', ms: 0 };
  let rssMiBMax = 0;
  try {
    for (const c of cases) {
      imports.api.current = initial;
      try {
        const outcome = await runImportCase(imports, c);
        if (outcome.ms > slowest.ms) slowest = { name: c.name, ms: outcome.ms };
        rssMiBMax = Math.max(rssMiBMax, outcome.rssGrowthMiB);
      } catch (err) {
        failures.push(`import ${c.name}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    await imports.close();
  }
  console.log(`playlists: ${cases.length} in ${Math.round((performance.now() - started) / 1000)} s; slowest ${slowest.ms} ms (${slowest.name}); largest RSS growth ${rssMiBMax} MiB`);

  for (const f of failures.slice(0, 50)) console.log(`FAIL ${f}`);
  if (failures.length > 50) console.log(`... and ${failures.length - 50} more`);
  console.log(failures.length === 0 ? 'no findings' : `${failures.length} findings; replay: ${replay}`);
  if (args.json) {
    console.log(JSON.stringify({ seed: args.seed, iterations: args.iterations, routes: fuzz.routes, requests: fuzz.cases, statuses: fuzz.statuses, playlists: cases.length, findings: failures.length }));
  }
  process.exitCode = failures.length === 0 ? 0 : 1;
}

await main();
