// `npm run chaos -- --minutes M --seed S [--json] [--out DIR] [--nodes 5] [--channels 20]
// [--viewers 10] [--mode auto|netns|loopback]`: the chaos suite (scripts/chaos/run.ts): a
// cluster of real node processes with live channels and viewers under a fault schedule drawn
// from the seed; the checks afterwards; a report with the seed and the line that replays it.
// Exit code 0 when every check is ok, 1 when one is not, 2 for bad options.
import { finalCheck, startObservers } from './chaos/checks.ts';
import { parseChaosArgs, usage } from './chaos/options.ts';
import { runChaos } from './chaos/run.ts';

const options = parseChaosArgs(process.argv.slice(2), Date.now());
if (typeof options === 'string') {
  console.error(`chaos: ${options}\n${usage}`);
  process.exitCode = 2;
} else {
  process.exitCode = await runChaos(options, { startObservers, finalCheck });
}
