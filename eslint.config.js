// Lint rules, and the import boundaries that keep logic pure (see DESIGN.md, STYLE.md habit 1):
// pure folders take no I/O, so they may not import Node built-ins or the I/O libraries.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = ['node:*', 'level', 'classic-level', 'libp2p', '@libp2p/*', '@chainsafe/*', 'execa', 'fastify', '@fastify/*', 'undici'];
// Bare built-in names (`fs`, `net`) are the same modules as `node:fs`; forbid them too.
const bareBuiltins = ['fs', 'fs/*', 'path', 'os', 'net', 'dgram', 'http', 'https', 'http2', 'child_process', 'crypto', 'timers', 'timers/*', 'worker_threads', 'cluster', 'process', 'stream', 'stream/*', 'dns', 'tls', 'readline'];

// Pure logic: folders, and pure files inside adapter folders.
const pureFolders = [
  'consensus/core/**', 'node/placement/**', 'node/state/**', 'node/iptv/**',
  'node/leader/autopilot.ts', 'node/leader/stream-decisions.ts', 'node/gossip/membership.ts', 'node/gossip/report.ts',
  // Issue 4: the decisions of the supervisor and the gateway (their adapters sit beside them).
  'node/supervisor/ffmpeg-args.ts', 'node/supervisor/restart-policy.ts', 'node/supervisor/source-choice.ts', 'node/supervisor/reconcile.ts',
  'node/hls/playlist.ts', 'node/hls/worker-playlist.ts', 'node/hls/timeline.ts', 'node/hls/date-time.ts',
  // Issue 6: the install script's rendering and the floating address's decisions.
  'node/install/install-script.ts', 'node/vip/decide.ts', 'node/upgrade/plan.ts', 'node/upgrade/rollout.ts',
  // Issue 7: the node's fence, and the chaos suite's schedule and checkers.
  'node/fence.ts', 'scripts/chaos/schedule.ts',
  'scripts/chaos/history.ts', 'scripts/chaos/fencing.ts', 'scripts/chaos/recovery.ts', 'scripts/chaos/gateways.ts', 'scripts/chaos/stalls.ts', 'scripts/chaos/check-format.ts',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'ui/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The dashboard runs in the browser (plain script, no modules).
    files: ['ui/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', FormData: 'readonly', EventSource: 'readonly', Node: 'readonly', Hls: 'readonly', alert: 'readonly', console: 'readonly' },
    },
  },
  {
    files: pureFolders,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: [...ioModules, ...bareBuiltins],
          message: 'This folder is pure logic (no I/O): take what you need as a parameter, and do the I/O in an adapter.',
        }],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'Pure code takes configuration as parameters.' },
        { name: 'setTimeout', message: 'Pure code has no clock: count ticks.' },
        { name: 'setInterval', message: 'Pure code has no clock: count ticks.' },
        { name: 'Date', message: 'Pure code has no clock: take nowMs as a parameter.' },
        { name: 'performance', message: 'Pure code has no clock.' },
        { name: 'Buffer', message: 'Use Uint8Array in pure code.' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Take a seeded random source as a parameter.' }],
    },
  },
);
