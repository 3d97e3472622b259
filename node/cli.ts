// argv -> commands. Every command has --help; a bad invocation prints one line that says what
// to do and exits 2; an expected failure (token expired, port in use ...) prints one line and exits 1.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { defaultHost, defaultHttpPort, defaultP2pPort } from './config.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An expected failure: its message is the whole story for the operator. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

const nodeFlags = {
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  host: { type: 'string' },
  'p2p-port': { type: 'string' },
  'http-port': { type: 'string' },
} as const satisfies Options;

const apiFlags = {
  'data-dir': { type: 'string' },
  api: { type: 'string' },
  'api-token': { type: 'string' },
} as const satisfies Options;

const nodeFlagHelp = `  --data-dir DIR     where this node keeps its keys, config and Raft log (required)
  --name NAME        the node's name in the cluster (default: the host name)
  --host ADDR        the address to listen on and advertise to other nodes (default ${defaultHost};
                     give the server's LAN address when other servers must reach it)
  --p2p-port N       cluster traffic port (default ${defaultP2pPort}; 0 picks a free one)
  --http-port N      HTTP API, dashboard and HLS port (default ${defaultHttpPort}; 0 picks a free one)`;

const apiFlagHelp = `  --data-dir DIR     use this node's local API and its admin token (DIR/admin-token), or
  --api URL          any node's HTTP address, e.g. http://10.0.0.5:${defaultHttpPort}, with
  --api-token T      an API token (or set OTTMESH_API_TOKEN)`;

export const help: Record<string, string> = {
  main: `ottmesh: a self-hosted cluster for live IPTV stream processing

usage: ottmesh <command> [options]

commands:
  init           create a new cluster and run its first node
  start          run an initialized or joined node again
  join TOKEN     join a cluster with a join token and run
  token create   create a join token for a new node
  status         show the cluster as a table
  upgrade        roll a new executable out to every node, one at a time

Run 'ottmesh <command> --help' for a command's options; 'ottmesh --version' prints the version
and the commit it was built from.`,
  init: `usage: ottmesh init --data-dir DIR [--name NAME] [--host ADDR] [--p2p-port N] [--http-port N]

Creates a new cluster (cluster id, network key, node key, an admin account whose password is
printed once) and runs its first node in the foreground. Writes DIR/admin-token (mode 0600), an
API token with admin rights that every node accepts.

${nodeFlagHelp}`,
  start: `usage: ottmesh start --data-dir DIR

Runs a node that was initialized or joined before, with its data. A directory that holds no
node yet but a join request (join.json, left there by install.sh) is joined with it first, once:
the process that joins is the one that goes on running the node.

  --data-dir DIR     the node's data directory (required)`,
  join: `usage: ottmesh join TOKEN --data-dir DIR [--name NAME] [--host ADDR] [--p2p-port N] [--http-port N]

Joins the cluster the token is for, then runs in the foreground. Get a token with
'ottmesh token create' on any node of the cluster.

${nodeFlagHelp}`,
  token: `usage: ottmesh token create [--data-dir DIR | --api URL --api-token T] [--ttl 1h] [--uses 1] [--group NAME]... [--install]

Creates a join token and prints it as the last line of output (with --install, the one-line
install command for a new server instead, after the token).

${apiFlagHelp}
  --ttl DURATION     how long the token is valid: 30m, 1h, 2d, or seconds (default 1h)
  --uses N           how many nodes may join with it (default 1)
  --group NAME       put nodes joining with it in this group (repeatable)
  --install          end with 'curl -fsSL http://NODE/install.sh | sh -s -- TOKEN', which installs
                     ottmesh on a new server from the node asked and joins it (docs/install.md)`,
  status: `usage: ottmesh status [--data-dir DIR | --api URL --api-token T]

Prints the cluster as a table: every node, its role, health and load.

${apiFlagHelp}`,
  upgrade: `usage: ottmesh upgrade [--data-dir DIR | --api URL --api-token T] [--executable PATH] [--health-timeout 60s] [--yes]

Rolling upgrade: every node in turn moves its streams away, hands over leadership if it leads,
replaces its executable with the new one (keeping the old one as <executable>.previous) and
restarts; the next node starts once it is healthy again. The node asked coordinates and
upgrades itself last. Prints the plan, asks, then prints the progress until the end (exit 0 when
every node runs the new build, 1 when a step failed: the message says what to do).

${apiFlagHelp}
  --executable PATH  the ottmesh executable to roll out (uploaded to the node asked first);
                     without it, the node asked rolls out the executable it runs itself
  --health-timeout D how long each restarted node may take to be healthy again before the
                     rollout stops: 90s, 5m or seconds, from 10 s to 1 h (default 60s)
  --yes              start without asking`,
};

export type Invocation =
  | { readonly command: 'help'; readonly text: string }
  | { readonly command: 'version' }
  | { readonly command: 'init' | 'join'; readonly token: string | null; readonly node: NodeFlags }
  | { readonly command: 'start'; readonly dataDir: string }
  | { readonly command: 'token-create'; readonly api: ApiFlags; readonly ttlS: number; readonly uses: number; readonly groups: string[]; readonly install?: boolean }
  | { readonly command: 'status'; readonly api: ApiFlags }
  | { readonly command: 'upgrade'; readonly api: ApiFlags; readonly executable: string | null; readonly healthTimeoutS: number | null; readonly yes: boolean };

export interface NodeFlags {
  readonly dataDir: string;
  readonly name: string | null;
  readonly host: string;
  readonly p2pPort: number;
  readonly httpPort: number;
}

export interface ApiFlags {
  readonly dataDir: string | null;
  readonly api: string | null;
  readonly apiToken: string | null;
}

const helpFlag = { help: { type: 'boolean', short: 'h' } } as const satisfies Options;

function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function port(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`${flag} ${value} is not a port: use 1-65535 (0 picks a free one)`);
  return n;
}

function required(flag: string, value: string | undefined, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command} needs ${flag}: see 'ottmesh ${command} --help'`);
  return value;
}

/** Parses `ttl` as 30s / 30m / 1h / 2d or plain seconds. */
export function parseDurationS(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--ttl ${text} is not a duration: use e.g. 30m, 1h, 2d or a number of seconds`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(m[1]) * unit;
  if (seconds < 1 || seconds > 365 * 86400) throw new UsageError(`--ttl ${text} is out of range: from 1 second to 365 days`);
  return seconds;
}

export function parseCommandLine(argv: string[]): Invocation {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { command: 'help', text: help.main! };
  if (command === '--version' || command === '-V' || command === 'version') return { command: 'version' };
  switch (command) {
    case 'init':
    case 'join': {
      const { values, positionals } = parse({ args: rest, options: { ...nodeFlags, ...helpFlag }, allowPositionals: true, strict: true });
      if (values.help) return { command: 'help', text: help[command]! };
      const token = command === 'join' ? positionals[0] ?? null : null;
      if (command === 'join' && token === null) throw new UsageError(`join needs a TOKEN: get one with 'ottmesh token create' on a node of the cluster`);
      if (positionals.length > (command === 'join' ? 1 : 0)) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
      return {
        command, token,
        node: {
          dataDir: required('--data-dir', values['data-dir'], command),
          name: values.name ?? null,
          host: values.host ?? defaultHost,
          p2pPort: port('--p2p-port', values['p2p-port'], defaultP2pPort),
          httpPort: port('--http-port', values['http-port'], defaultHttpPort),
        },
      };
    }
    case 'start': {
      const { values } = parse({ args: rest, options: { 'data-dir': { type: 'string' }, ...helpFlag }, strict: true });
      if (values.help) return { command: 'help', text: help.start! };
      return { command: 'start', dataDir: required('--data-dir', values['data-dir'], 'start') };
    }
    case 'token': {
      const [sub, ...tail] = rest;
      if (sub === '--help' || sub === '-h' || sub === undefined) return { command: 'help', text: help.token! };
      if (sub !== 'create') throw new UsageError(`unknown token command "${sub}": the one there is, is 'ottmesh token create'`);
      const { values } = parse({ args: tail, options: { ...apiFlags, ttl: { type: 'string' }, uses: { type: 'string' }, group: { type: 'string', multiple: true }, install: { type: 'boolean' }, ...helpFlag }, strict: true });
      if (values.help) return { command: 'help', text: help.token! };
      const uses = values.uses === undefined ? 1 : Number(values.uses);
      if (!Number.isInteger(uses) || uses < 1 || uses > 10_000) throw new UsageError(`--uses ${values.uses} must be a whole number from 1 to 10000`);
      return { command: 'token-create', api: apiOf(values), ttlS: parseDurationS(values.ttl ?? '1h'), uses, groups: values.group ?? [], ...(values.install === true ? { install: true } : {}) };
    }
    case 'status': {
      const { values } = parse({ args: rest, options: { ...apiFlags, ...helpFlag }, strict: true });
      if (values.help) return { command: 'help', text: help.status! };
      return { command: 'status', api: apiOf(values) };
    }
    case 'upgrade': {
      const { values, positionals } = parse({
        args: rest, options: { ...apiFlags, executable: { type: 'string' }, 'health-timeout': { type: 'string' }, yes: { type: 'boolean', short: 'y' }, ...helpFlag }, allowPositionals: true, strict: true,
      });
      if (values.help) return { command: 'help', text: help.upgrade! };
      if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')} (the executable goes after --executable)`);
      const timeout = values['health-timeout'];
      const healthTimeoutS = timeout === undefined ? null : /^(\d+)(s|m)?$/.exec(timeout.trim());
      if (healthTimeoutS === null && timeout !== undefined) throw new UsageError(`--health-timeout ${timeout} is not a duration: use e.g. 90s, 5m or a number of seconds`);
      const seconds = healthTimeoutS === null ? null : Number(healthTimeoutS[1]) * (healthTimeoutS[2] === 'm' ? 60 : 1);
      if (seconds !== null && (seconds < 10 || seconds > 3600)) throw new UsageError(`--health-timeout ${timeout} is out of range: from 10 s to 1 h`);
      return { command: 'upgrade', api: apiOf(values), executable: values.executable ?? null, healthTimeoutS: seconds, yes: values.yes === true };
    }
    default:
      throw new UsageError(`unknown command "${command}": run 'ottmesh --help' for the list`);
  }
}

function apiOf(values: { 'data-dir'?: string | undefined; api?: string | undefined; 'api-token'?: string | undefined }): ApiFlags {
  const dataDir = values['data-dir'] ?? null;
  const api = values.api ?? null;
  if (dataDir === null && api === null) throw new UsageError('say which cluster: --data-dir DIR of a local node, or --api URL with --api-token T');
  if (dataDir !== null && api !== null) throw new UsageError('give either --data-dir or --api, not both');
  return { dataDir, api, apiToken: values['api-token'] ?? null };
}
