// The ssh2 package, loaded on first use: only a node that installs a server over SSH needs it,
// and loaded at start it would cost every node memory it never uses (docs/benchmarks.md, "Idle
// node").
import type ssh2 from 'ssh2';

export type Ssh2 = typeof ssh2;

let loading: Promise<Ssh2> | null = null;

export function loadSsh2(): Promise<Ssh2> {
  loading ??= import('ssh2').then((m) => m.default);
  return loading;
}
