// A node's local configuration: what `init` or `join` decided, stored in DATA_DIR/config.json.
// Everything the cluster agrees on lives in the replicated state instead; this file only says
// who this node is and how to reach the others until it has the state.
import type { NodeId } from '../consensus/core/index.ts';

export const configVersion = 1;
export const defaultP2pPort = 7600;
export const defaultHttpPort = 8080;
export const defaultHost = '127.0.0.1';

export interface KnownMember {
  readonly id: NodeId;
  readonly addrs: readonly string[];
  readonly httpUrl: string;
}

export interface NodeConfig {
  readonly version: typeof configVersion;
  readonly clusterId: string;
  readonly name: string;
  /** The address this node listens on and advertises. */
  readonly host: string;
  readonly p2pPort: number;
  readonly httpPort: number;
  /** The cluster's pre-shared libp2p network key (encoded). */
  readonly networkKey: string;
  /** Whether this node founded the cluster (its Raft log starts with itself as the only voter). */
  readonly founder: boolean;
  /** Members this node learned of when it joined: whom to trust and dial until the replicated
   *  state arrives (then the state is the authority). */
  readonly joinedVia: readonly KnownMember[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const limits = { nameLengthMax: 64 };

/** Checks a name, host and ports given on the command line; returns the problem or null. */
export function checkNodeOptions(o: { name: string; host: string; p2pPort: number; httpPort: number }): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.name) || o.name.length > limits.nameLengthMax) {
    return `--name "${o.name}" is not a valid node name: use letters, digits, '.', '_' and '-' (at most ${limits.nameLengthMax} characters)`;
  }
  if (o.host.trim() === '' || /[\s/]/.test(o.host)) return `--host "${o.host}" is not an address: give an IP address or a host name`;
  for (const [flag, port] of [['--p2p-port', o.p2pPort], ['--http-port', o.httpPort]] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return `${flag} ${port} is not a port: use 1-65535 (0 picks a free one)`;
  }
  if (o.p2pPort !== 0 && o.p2pPort === o.httpPort) return `--p2p-port and --http-port are both ${o.p2pPort}: give them different ports`;
  return null;
}

/** Parses config.json's text; a damaged or foreign file is a ConfigError naming the path and what to do. */
export function parseConfig(path: string, text: string): NodeConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON (${(err as Error).message}): restore it from a backup, or move the data directory aside and join the node again`);
  }
  const c = value as Partial<NodeConfig> | null;
  if (c === null || typeof c !== 'object') throw new ConfigError(`${path} does not hold a configuration object`);
  if (c.version !== configVersion) {
    throw new ConfigError(`${path} has configuration version ${String(c.version)}, this ottmesh reads version ${configVersion}: use the ottmesh release that wrote it`);
  }
  const expected: Record<string, string> = { clusterId: 'string', name: 'string', host: 'string', networkKey: 'string', p2pPort: 'number', httpPort: 'number', founder: 'boolean' };
  const bad = Object.keys(expected).filter((k) => typeof (c as Record<string, unknown>)[k] !== expected[k]);
  if (!Array.isArray(c.joinedVia)) bad.push('joinedVia');
  if (bad.length > 0) throw new ConfigError(`${path} is missing or has wrong ${bad.join(', ')}: restore it from a backup`);
  return c as NodeConfig;
}

/** The advertised HTTP base URL (IPv6 literals in brackets). */
export function httpUrlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
