// The chaos CLI's options: checked, with a clear message for each bad one (pure but for the
// default records dir, which is derived from the clock given).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';

export interface ChaosOptions {
  readonly minutes: number;
  readonly seed: number;
  /** Print the report as one JSON object on the last line too. */
  readonly json: boolean;
  /** Where the records go (made if missing). */
  readonly outDir: string;
  readonly nodes: number;
  readonly channels: number;
  /** ffmpeg viewers the observers run. */
  readonly viewers: number;
  /** auto: netns when root and namespaces work, else loopback. */
  readonly mode: 'auto' | 'netns' | 'loopback';
}

export const defaultViewers = 10;

export const usage = 'usage: npm run chaos -- --minutes M --seed S [--json] [--out DIR] [--nodes 5] [--channels 20] [--viewers 10] [--mode auto|netns|loopback]';

/** The options, or why they are not acceptable. */
export function parseChaosArgs(args: readonly string[], nowMs: number): ChaosOptions | string {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args], strict: true, allowPositionals: false,
      options: {
        minutes: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean', default: false }, out: { type: 'string' },
        nodes: { type: 'string', default: '5' }, channels: { type: 'string', default: '20' }, viewers: { type: 'string', default: String(defaultViewers) },
        mode: { type: 'string', default: 'auto' },
      },
    }));
  } catch (err) {
    return (err as Error).message;
  }
  if (values.minutes === undefined || values.seed === undefined) return '--minutes and --seed are required';
  const minutes = Number(values.minutes);
  if (!(minutes >= 0.5 && minutes <= 24 * 60)) return `--minutes must be a number from 0.5 to 1440 (got ${values.minutes})`;
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) return `--seed must be a whole number from 0 to 4294967295 (got ${values.seed})`;
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 3 || nodes > 9) return `--nodes must be 3 to 9 (got ${values.nodes})`;
  const channels = Number(values.channels);
  if (!Number.isInteger(channels) || channels < 1 || channels > 99) return `--channels must be 1 to 99 (got ${values.channels})`;
  const viewers = Number(values.viewers);
  if (!Number.isInteger(viewers) || viewers < 0 || viewers > 200) return `--viewers must be 0 to 200 (got ${values.viewers})`;
  const mode = values.mode;
  if (mode !== 'auto' && mode !== 'netns' && mode !== 'loopback') return `--mode must be auto, netns or loopback (got ${mode})`;
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
  const outDir = values.out ?? join(tmpdir(), 'ottmesh-chaos-runs', `${stamp}-seed${seed}`);
  return { minutes, seed, json: values.json, outDir, nodes, channels, viewers, mode };
}

