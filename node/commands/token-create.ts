// `ottmesh token create`: POST /api/v1/join-tokens; the token is the last line of output, or with
// --install the one-line install command (the token on the line before it).
import type { ApiFlags } from '../cli.ts';
import { CommandError } from '../cli.ts';
import { isLoopback } from '../config.ts';
import { callApi, resolveTarget } from './api-client.ts';

interface Created {
  readonly token: string;
  readonly id: string;
  readonly expiresAt: string;
  readonly uses: number;
  readonly groups: readonly string[];
  /** Absent from nodes older than issue 6. */
  readonly installCommand?: string;
}

export async function tokenCreateCommand(flags: ApiFlags, o: { ttlS: number; uses: number; groups: string[]; install?: boolean }, out: (line: string) => void): Promise<void> {
  const created = await callApi<Created>(await resolveTarget(flags), 'POST', '/api/v1/join-tokens', { ttlS: o.ttlS, uses: o.uses, groups: o.groups });
  out(`join token ${created.id}: valid until ${created.expiresAt}, ${created.uses} use${created.uses === 1 ? '' : 's'}${created.groups.length ? `, groups ${created.groups.join(', ')}` : ''}`);
  if (o.install !== true) {
    out(`on the new server: ottmesh join <token> --data-dir DIR --host <its address>`);
    out(created.token);
    return;
  }
  if (created.installCommand === undefined) throw new CommandError(`the node answered without an install command (it runs an ottmesh older than this one): upgrade it, or join with 'ottmesh join ${created.token} --data-dir DIR'`);
  out(`token: ${created.token}`);
  const host = installHost(created.installCommand);
  if (host !== null && isLoopback(host)) {
    out(`note: the command names ${host}, which only this machine reaches: on another server, put this node's address there (or run token create with --api http://<its address>:<port>)`);
  }
  out('on the new server, as root or a user with sudo (installs ottmesh and ffmpeg, creates the user ottmesh and a systemd service, joins):');
  out(created.installCommand);
}

/** The host the install command downloads from, or null when it cannot be read. */
function installHost(command: string): string | null {
  const url = /(https?:\/\/\S+)\/install\.sh/.exec(command)?.[1];
  if (url === undefined) return null;
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null; // not a URL: no note, the command is printed as the node gave it
  }
}
