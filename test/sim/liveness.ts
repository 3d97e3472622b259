// The liveness condition after healing: a leader exists, every liveness proposal is committed,
// and every voter in the leader's configuration has applied all of them.
import type { Cluster } from './cluster.ts';
import type { Workload } from './workload.ts';
import { livenessProposals } from './workload.ts';

/** null when the cluster made the required progress, else what is still missing. */
export function checkLiveness(cluster: Cluster, workload: Workload): string | null {
  const leaders = cluster.members().filter((n) => n.up && n.raw!.status().role === 'leader');
  if (leaders.length === 0) return 'no leader';
  const leader = leaders.reduce((a, b) => (a.raw!.status().term >= b.raw!.status().term ? a : b));
  const committed = workload.livenessIndex.size;
  if (committed < livenessProposals) {
    const missing = [...workload.pendingLiveness.keys()];
    return `leader ${leader.id} (t${leader.raw!.status().term}); ${committed}/${livenessProposals} liveness proposals committed, missing ${missing.join(',') || '(not yet proposed)'}`;
  }
  const target = Math.max(...workload.livenessIndex.values());
  const conf = leader.raw!.status().conf;
  const behind: string[] = [];
  for (const id of conf.voters) {
    const node = cluster.nodes.get(id);
    if (node === undefined || cluster.retired.has(id)) continue;
    if (!node.up || node.app.index < target) behind.push(`${id}@${node.up ? node.app.index : 'down'}`);
  }
  if (behind.length > 0) return `leader ${leader.id}; voters behind index ${target}: ${behind.join(', ')}`;
  return null;
}
