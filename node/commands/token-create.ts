// `ottmesh token create`: POST /api/v1/join-tokens; the token is the last line of output.
import type { ApiFlags } from '../cli.ts';
import { callApi, resolveTarget } from './api-client.ts';

interface Created {
  readonly token: string;
  readonly id: string;
  readonly expiresAt: string;
  readonly uses: number;
  readonly groups: readonly string[];
}

export async function tokenCreateCommand(flags: ApiFlags, o: { ttlS: number; uses: number; groups: string[] }, out: (line: string) => void): Promise<void> {
  const created = await callApi<Created>(await resolveTarget(flags), 'POST', '/api/v1/join-tokens', { ttlS: o.ttlS, uses: o.uses, groups: o.groups });
  out(`join token ${created.id}: valid until ${created.expiresAt}, ${created.uses} use${created.uses === 1 ? '' : 's'}${created.groups.length ? `, groups ${created.groups.join(', ')}` : ''}`);
  out(`on the new server: ottmesh join <token> --data-dir DIR --host <its address>`);
  out(created.token);
}
