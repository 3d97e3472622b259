// The CLI's side of the REST API: find the node and the token (--data-dir, or --api and
// --api-token / OTTMESH_API_TOKEN), call, and turn failures into one line that says what to do.
import { readFile } from 'node:fs/promises';

import { CommandError, UsageError } from '../cli.ts';
import type { ApiFlags } from '../cli.ts';
import { httpUrlOf, parseConfig } from '../config.ts';
import { dataDirPaths } from '../data-dir.ts';

const requestTimeoutMs = 15_000;

export interface ApiTarget {
  readonly baseUrl: string;
  readonly token: string;
}

export async function resolveTarget(flags: ApiFlags): Promise<ApiTarget> {
  if (flags.dataDir !== null) {
    const paths = dataDirPaths(flags.dataDir);
    const config = parseConfig(paths.config, await readOrExplain(paths.config, `is ${flags.dataDir} a node's data directory? ('ottmesh init' or 'ottmesh join' create one)`));
    const token = (await readOrExplain(paths.adminToken, 'only the node created by \'ottmesh init\' has an admin token: use --api URL --api-token T instead')).trim();
    // A node bound to every interface is still reached locally through loopback.
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    return { baseUrl: httpUrlOf(host, config.httpPort), token };
  }
  const token = flags.apiToken ?? process.env['OTTMESH_API_TOKEN'] ?? null;
  if (token === null || token === '') throw new UsageError('--api needs --api-token T (or OTTMESH_API_TOKEN in the environment)');
  let url: URL;
  try {
    url = new URL(flags.api!);
  } catch {
    throw new UsageError(`--api ${flags.api} is not a URL: give e.g. http://10.0.0.5:8080`);
  }
  return { baseUrl: url.origin, token };
}

async function readOrExplain(path: string, hint: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(code === 'ENOENT' ? `${path} does not exist: ${hint}` : `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Calls the API; resolves with the JSON body of a 2xx answer, throws CommandError otherwise. */
export async function callApi<T>(target: ApiTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const url = `${target.baseUrl}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new CommandError(`cannot reach the cluster at ${target.baseUrl} (${cause}): is the node running, and is the address right?`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: the message below shows the text.
  }
  if (!res.ok) {
    const message = (json as { message?: string } | null)?.message ?? text.slice(0, 200);
    throw new CommandError(`${method} ${url} failed with ${res.status}: ${message}`);
  }
  return json as T;
}

