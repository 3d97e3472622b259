// Benchmarks: `npm run bench -- <suite> [--json] [suite options]`. Each suite prints a readable
// table; with --json its last line of output is one JSON object. Later issues add suites here.
type Suite = (args: readonly string[]) => Promise<void>;

const suites: Record<string, { readonly about: string; readonly load: () => Promise<Suite> }> = {
  raft: {
    about: '3 Raft drivers in one process over synced level stores: commits/s under load, commit latency, core rate',
    load: async () => (await import('./bench/raft.ts')).run,
  },
  failover: {
    about: 'ottmesh node processes: kill -9 the leader, time until a write succeeds through a survivor (and etcd, if installed)',
    load: async () => (await import('./bench/failover.ts')).run,
  },
  placement: {
    about: 'pure placement: 10,000 streams onto 1,000 nodes, placements/s, and re-placement after a node fails (ms)',
    load: async () => (await import('./bench/placement.ts')).run,
  },
  'worker-failover': {
    about: '3 nodes and a live stream: kill -9 the worker, time until a new segment at the stable URL, and the longest stall of an ffmpeg viewer',
    load: async () => (await import('./bench/worker-failover.ts')).run,
  },
  gateway: {
    about: 'HLS gateway routes vs nginx (1 worker) on the same files: playlist requests/s, 1 MB segment bytes/s, ratios',
    load: async () => (await import('./bench/gateway.ts')).run,
  },
  writes: {
    about: '3 ottmesh node processes, 64 clients writing through the API for 10 s: writes/s, p50, p99 (and etcd, if installed)',
    load: async () => (await import('./bench/writes.ts')).run,
  },
  idle: {
    about: 'a cluster of ottmesh node processes left idle: cpu (% of a core) and rss per node',
    load: async () => (await import('./bench/idle.ts')).run,
  },
  gossip: {
    about: 'telemetry gossip: time for a report to reach every node, cpu and memory idle and with gossip',
    load: async () => (await import('./bench/gossip.ts')).run,
  },
};

function usage(): string {
  const lines = Object.entries(suites).map(([name, s]) => `  ${name.padEnd(8)} ${s.about}`);
  return `usage: npm run bench -- <suite> [--json] [options]\nsuites:\n${lines.join('\n')}`;
}

const [name, ...rest] = process.argv.slice(2);
const suite = name === undefined ? undefined : suites[name];
if (suite === undefined) {
  console.error(name === undefined ? usage() : `unknown bench suite "${name}"\n${usage()}`);
  process.exit(2);
}
await (await suite.load())(rest);
