// `ottmesh status`: the cluster as a table, from GET /api/v1/cluster.
import type { ApiFlags } from '../cli.ts';
import { callApi, resolveTarget } from './api-client.ts';

export interface ClusterView {
  readonly clusterId: string;
  readonly term: number;
  readonly leader: { readonly id: string; readonly name: string } | null;
  readonly nodes: readonly {
    readonly id: string; readonly name: string; readonly role: 'voter' | 'learner'; readonly state: 'alive' | 'suspect' | 'down';
    readonly enabled: boolean; readonly groups: readonly string[]; readonly cpuPct: number | null; readonly memPct: number | null;
    readonly streams: number; readonly httpUrl: string;
  }[];
}

export async function statusCommand(flags: ApiFlags, out: (line: string) => void): Promise<void> {
  const view = await callApi<ClusterView>(await resolveTarget(flags), 'GET', '/api/v1/cluster');
  for (const line of renderStatus(view)) out(line);
}

const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(0)}%`);

/** Pure: the table's lines. */
export function renderStatus(view: ClusterView): string[] {
  const header = ['NAME', 'ID', 'ROLE', 'STATE', 'ENABLED', 'CPU', 'MEM', 'STREAMS', 'GROUPS', 'HTTP'];
  const rows = view.nodes.map((n) => [
    n.name + (view.leader?.id === n.id ? ' *' : ''), shortId(n.id), n.role, n.state, n.enabled ? 'yes' : 'no',
    pct(n.cpuPct), pct(n.memPct), String(n.streams), n.groups.join(',') || '-', n.httpUrl,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `cluster ${view.clusterId}, term ${view.term}, leader ${view.leader ? view.leader.name : 'none (election under way?)'}`,
    line(header),
    ...rows.map(line),
    '* = leader (the main server)',
  ];
}

function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id;
}
