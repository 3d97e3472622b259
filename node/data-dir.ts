// Where a node keeps what it owns, in one place so every command agrees.
import { join, resolve } from 'node:path';

export interface DataDirPaths {
  readonly root: string;
  readonly config: string;
  readonly nodeKey: string;
  readonly adminToken: string;
  readonly raftLog: string;
}

export function dataDirPaths(dir: string): DataDirPaths {
  const root = resolve(dir);
  return {
    root,
    config: join(root, 'config.json'),
    nodeKey: join(root, 'node.key'),
    adminToken: join(root, 'admin-token'),
    raftLog: join(root, 'raft'),
  };
}
