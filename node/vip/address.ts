// The floating address's I/O: read this node's interfaces, and run `ip addr add|del` and
// `arping` (iputils) with timeouts. Every failure comes back as an outcome saying what went
// wrong; nothing here throws, so a missing tool or capability never stops the node.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

import type { InterfaceTable } from './decide.ts';

/** `ip` answers in milliseconds; this bounds a wedged one. */
export const ipCommandTimeoutMs = 5_000;
/** arping sends one packet a second and waits a second after the last. */
const arpingGraceMs = 3_000;

export type CommandOutcome =
  | { readonly ok: true }
  /** `permission`: the process lacks CAP_NET_ADMIN (ip) or CAP_NET_RAW (arping). */
  | { readonly ok: false; readonly permission: boolean; readonly message: string };

/** What the floating address loop needs from the machine (a fake in unit tests). */
export interface AddressSystem {
  /** os.networkInterfaces(): addresses by device, or by label. */
  interfaces(): InterfaceTable;
  /** Every network device, with an address or not; null when that cannot be read. */
  devices(): readonly string[] | null;
  add(device: string, cidr: string, label: string | null): Promise<CommandOutcome>;
  del(device: string, cidr: string): Promise<CommandOutcome>;
  /** Sends `count` gratuitous ARPs, a second apart; `signal` ends it early. */
  announce(device: string, address: string, count: number, signal: AbortSignal): Promise<CommandOutcome>;
}

export const permissionHint = 'the floating address needs root or CAP_NET_ADMIN; add AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW to the unit';

/** The real machine, through `ip` and `arping`. */
export const linuxAddressSystem: AddressSystem = {
  interfaces: () => networkInterfaces(),
  devices: () => {
    try {
      return readdirSync('/sys/class/net');
    } catch {
      return null; // no sysfs: decide() falls back to the devices that have addresses
    }
  },
  add: async (device, cidr, label) => {
    const outcome = await run('ip', ['addr', 'add', cidr, 'dev', device, ...(label === null ? [] : ['label', label])], ipCommandTimeoutMs);
    // Already there (a race with a check, or added by hand): what was wanted.
    return !outcome.ok && /already assigned|File exists/i.test(outcome.message) ? { ok: true } : outcome;
  },
  del: async (device, cidr) => {
    const outcome = await run('ip', ['addr', 'del', cidr, 'dev', device], ipCommandTimeoutMs);
    return !outcome.ok && /not found|Cannot assign requested address|Cannot find device/i.test(outcome.message) ? { ok: true } : outcome;
  },
  announce: (device, address, count, signal) => run('arping', ['-U', '-c', String(count), '-I', device, address], count * 1000 + arpingGraceMs, signal),
};

/** Runs `command`, reporting its failure (exit code, timeout, not installed) as an outcome. */
export function run(command: string, args: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', ...(signal === undefined ? {} : { signal }) }, (err, _stdout, stderr) => {
      if (err === null) return resolve({ ok: true });
      const code = (err as NodeJS.ErrnoException).code;
      const line = `${command} ${args.join(' ')}`;
      if (code === 'ENOENT') return resolve({ ok: false, permission: false, message: `${command} is not installed: install ${command === 'ip' ? 'iproute2' : 'iputils-arping'} for the floating address` });
      if (code === 'ABORT_ERR') return resolve({ ok: false, permission: false, message: `${line}: stopped` });
      if (err.killed === true) return resolve({ ok: false, permission: false, message: `${line}: no answer within ${timeoutMs} ms` });
      const said = stderr.trim().split('\n').filter((l) => l !== '').at(-1) ?? err.message;
      resolve({ ok: false, permission: isPermissionError(said), message: `${line}: ${said}` });
    });
  });
}

/** `ip` says "RTNETLINK answers: Operation not permitted"; arping "socket: Operation not permitted". */
export function isPermissionError(stderr: string): boolean {
  return /Operation not permitted|Permission denied/i.test(stderr);
}
