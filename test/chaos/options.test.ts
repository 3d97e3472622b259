// The chaos CLI's options (scripts/chaos/options.ts): defaults, and a message naming the flag
// for each bad value.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseChaosArgs } from '../../scripts/chaos/options.ts';

const nowMs = Date.parse('2025-01-02T03:04:05.678Z');

test('--minutes and --seed, the rest defaults', () => {
  const options = parseChaosArgs(['--minutes', '3', '--seed', '1'], nowMs);
  assert.deepEqual(options, {
    minutes: 3, seed: 1, json: false, nodes: 5, channels: 20, viewers: 10, mode: 'auto',
    outDir: (options as { outDir: string }).outDir,
  });
  assert.match((options as { outDir: string }).outDir, /ottmesh-chaos-runs\/2025-01-02T03-04-05-678Z-seed1$/);
  assert.deepEqual(parseChaosArgs(['--minutes', '0.5', '--seed', '7', '--json', '--out', '/x', '--nodes', '3', '--channels', '4', '--viewers', '0', '--mode', 'loopback'], nowMs), {
    minutes: 0.5, seed: 7, json: true, outDir: '/x', nodes: 3, channels: 4, viewers: 0, mode: 'loopback',
  });
});

test('bad options are refused with what to pass', () => {
  const refused = (args: string[]): string => {
    const got = parseChaosArgs(args, nowMs);
    assert.equal(typeof got, 'string', args.join(' '));
    return got as string;
  };
  assert.match(refused([]), /--minutes and --seed are required/);
  assert.match(refused(['--minutes', '3']), /required/);
  assert.match(refused(['--minutes', 'x', '--seed', '1']), /--minutes must be a number from 0.5/);
  assert.match(refused(['--minutes', '0', '--seed', '1']), /--minutes/);
  assert.match(refused(['--minutes', '3', '--seed=-1']), /--seed must be a whole number/);
  assert.match(refused(['--minutes', '3', '--seed', '1.5']), /--seed/);
  assert.match(refused(['--minutes', '3', '--seed', '1', '--nodes', '2']), /--nodes must be 3 to 9/);
  assert.match(refused(['--minutes', '3', '--seed', '1', '--channels', '0']), /--channels must be 1 to 99/);
  assert.match(refused(['--minutes', '3', '--seed', '1', '--viewers', 'many']), /--viewers/);
  assert.match(refused(['--minutes', '3', '--seed', '1', '--mode', 'vm']), /--mode must be auto, netns or loopback/);
  assert.match(refused(['--minutes', '3', '--seed', '1', '--frobnicate']), /Unknown option '--frobnicate'/);
  assert.match(refused(['--minutes', '3', '--seed', '1', 'extra']), /positional/);
});
