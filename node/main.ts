// The ottmesh executable: parse the command line, run the command. init, start and join run a
// node in the foreground (node/runtime.ts wires it); token create and status talk to the API.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CorruptLogError } from '../consensus/log-store.ts';
import { decodeJoinToken, generatePassword, hashPassword, InvalidJoinTokenError, newApiToken } from './auth/index.ts';
import { CommandError, parseCommandLine, UsageError } from './cli.ts';
import type { NodeFlags } from './cli.ts';
import { statusCommand } from './commands/status.ts';
import { completePendingJoin, hasPendingJoin } from './commands/pending-join.ts';
import { upgradeCommand } from './commands/upgrade.ts';
import { tokenCreateCommand } from './commands/token-create.ts';
import { checkNodeOptions, ConfigError, configVersion, isLoopback, parseConfig } from './config.ts';
import type { KnownMember, NodeConfig } from './config.ts';
import { dataDirPaths } from './data-dir.ts';
import type { DataDirPaths } from './data-dir.ts';
import { createNodeKey, decodeNetworkKey, encodeNetworkKey, generateNetworkKey, loadNodeKey, peerIdOf, requestJoin } from './p2p/index.ts';
import type { JoinResponse } from './p2p/index.ts';
import { NodeRuntime } from './runtime.ts';
import { versionText } from './version.ts';
import { keepMallocArenaSettingToOurselves, reexecWithOneMallocArena } from './malloc-arenas.ts';

const out = (line: string) => console.log(line);
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
/** How long `init` waits for its single-node cluster to elect itself and commit. */
const initCommitTimeoutMs = 30_000;
/** How long `join` keeps trying the token's addresses (OTTMESH_JOIN_TIMEOUT_S overrides). */
const defaultJoinTimeoutS = 60;

function joinTimeoutMs(): number {
  const text = process.env['OTTMESH_JOIN_TIMEOUT_S'];
  if (text === undefined) return defaultJoinTimeoutS * 1000;
  const s = Number(text);
  if (!Number.isFinite(s) || s < 1 || s > 3600) throw new UsageError(`OTTMESH_JOIN_TIMEOUT_S=${text} must be a number of seconds from 1 to 3600`);
  return s * 1000;
}

async function main(argv: string[]): Promise<void> {
  const inv = parseCommandLine(argv);
  if (inv.command === 'init' || inv.command === 'join' || inv.command === 'start') reexecWithOneMallocArena();
  keepMallocArenaSettingToOurselves();
  switch (inv.command) {
    case 'help':
      out(inv.text);
      return;
    case 'version':
      out(versionText());
      return;
    case 'init':
      return runUntilSignal(await initCommand(inv.node));
    case 'join':
      return runUntilSignal(await joinCommand(inv.token!, inv.node));
    case 'start':
      if (hasPendingJoin(inv.dataDir)) return runUntilSignal(await completePendingJoin(inv.dataDir, joinCommand, log));
      return runUntilSignal(await startCommand(inv.dataDir));
    case 'token-create':
      return tokenCreateCommand(inv.api, inv, out);
    case 'status':
      return statusCommand(inv.api, out);
    case 'upgrade':
      return upgradeCommand(inv, out);
  }
}

/** Refuses a data dir that already holds a node, and checks the flags. */
async function prepareDataDir(flags: NodeFlags, command: 'init' | 'join'): Promise<{ paths: DataDirPaths; name: string }> {
  const paths = dataDirPaths(flags.dataDir);
  if (existsSync(paths.config) || existsSync(paths.raftLog)) {
    throw new CommandError(`${paths.root} is already initialized: run 'ottmesh start --data-dir ${flags.dataDir}' to run that node, or give an empty --data-dir to ${command} a new one`);
  }
  const name = flags.name ?? hostname().split('.')[0] ?? 'node';
  const problem = checkNodeOptions({ name, host: flags.host, p2pPort: flags.p2pPort, httpPort: flags.httpPort });
  if (problem !== null) throw new UsageError(problem);
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  return { paths, name };
}

async function writeConfig(paths: DataDirPaths, config: NodeConfig): Promise<void> {
  await writeFile(`${paths.config}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await rename(`${paths.config}.tmp`, paths.config); // all or nothing
}

function warnIfLoopback(host: string): void {
  if (isLoopback(host)) log(`note: this node advertises ${host}, which other servers cannot reach; pass --host <this server's address> to build a multi-server cluster`);
}

async function initCommand(flags: NodeFlags): Promise<NodeRuntime> {
  const { paths, name } = await prepareDataDir(flags, 'init');
  return startInFreshDir(paths, async () => {
    const privateKey = await createNodeKey(paths.nodeKey);
    const peerId = peerIdOf(privateKey);
    const networkKey = generateNetworkKey();
    const config: NodeConfig = {
      version: configVersion, clusterId: randomUUID(), name, host: flags.host, p2pPort: flags.p2pPort, httpPort: flags.httpPort,
      networkKey: encodeNetworkKey(networkKey), founder: true, joinedVia: [],
    };
    const runtime = await NodeRuntime.start({ config, paths, privateKey, peerId, networkKey, bootstrap: { voters: [peerId], learners: [] }, log });
    return { runtime, ready: () => foundCluster(runtime, paths, config) };
  });
}

/** Starts a node in a directory init or join just made, then finishes with `ready`; if either
 *  fails, stops the node and removes what it made, so nothing half-made is left behind. */
async function startInFreshDir(paths: DataDirPaths, start: () => Promise<{ runtime: NodeRuntime; ready: () => Promise<void> }>): Promise<NodeRuntime> {
  let runtime: NodeRuntime | null = null;
  const held = new Set(await readdir(paths.root)); // e.g. an installer's log: not ours to remove
  try {
    const started = await start();
    runtime = started.runtime;
    await started.ready();
    return runtime;
  } catch (err) {
    await runtime?.stop();
    await removeMade(paths.root, held);
    throw err;
  }
}

/** Removes the entries of `root` that are not in `held`, then `root` itself if it held nothing
 *  before. A service user may not remove its data directory (/var/lib is root's): emptied is
 *  enough then, and the reason the command failed is what must reach the operator. */
async function removeMade(root: string, held: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(root)) if (!held.has(name)) await rm(join(root, name), { recursive: true, force: true });
  if (held.size === 0) await rmdir(root).catch((err: NodeJS.ErrnoException) => log(`could not remove the empty ${root} (${err.code}): remove it or reuse it`));
}

/** Elect this node, commit InitCluster (admin account and token), write config and token files. */
async function foundCluster(runtime: NodeRuntime, paths: DataDirPaths, config: NodeConfig): Promise<void> {
  runtime.driver.campaign();
  const password = generatePassword();
  const apiToken = newApiToken();
  const atMs = Date.now();
  const self = { id: runtime.peerId, name: config.name, groups: [], addrs: runtime.host.listenAddrs(), httpUrl: runtime.httpUrl, enabled: true, joinedAtMs: atMs };
  const deadline = Date.now() + initCommitTimeoutMs;
  for (;;) {
    try {
      const result = await runtime.propose({
        type: 'InitCluster', atMs, clusterId: config.clusterId, node: self,
        admin: { name: 'admin', passwordHash: await hashPassword(password), role: 'admin' },
        adminToken: { id: apiToken.id, name: 'admin-token', secretHash: apiToken.secretHash, user: 'admin', role: 'admin', createdAtMs: atMs },
      });
      if (!result.ok) throw new CommandError(`could not create the cluster: ${result.reason}`);
      break;
    } catch (err) {
      if (Date.now() > deadline || !(err instanceof Error) || err.name !== 'NotLeaderError') throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await writeFile(paths.adminToken, `${apiToken.token}\n`, { mode: 0o600 });
  await chmod(paths.adminToken, 0o600);
  await writeConfig(paths, { ...config, p2pPort: portOf(runtime.host.listenAddrs(), config.p2pPort), httpPort: Number(new URL(runtime.httpUrl).port) });
  out(`cluster ${config.clusterId} created; this node is ${config.name} (${runtime.peerId})`);
  out(`admin user: admin   password: ${password}   (shown once; only its hash is stored)`);
  out(`admin API token: ${paths.adminToken} (mode 0600)`);
  out(`add a server:  ottmesh token create --data-dir ${paths.root}   then on the new server:  ottmesh join <token> --data-dir DIR --host <its address>`);
  out(`dashboard and API: ${runtime.httpUrl}/`);
  warnIfLoopback(config.host);
}

function portOf(addrs: readonly string[], fallback: number): number {
  const m = addrs.map((a) => /\/tcp\/(\d+)/.exec(a)?.[1]).find((p) => p !== undefined);
  return m === undefined ? fallback : Number(m);
}

async function startCommand(dataDir: string): Promise<NodeRuntime> {
  const paths = dataDirPaths(dataDir);
  let text: string;
  try {
    text = await readFile(paths.config, 'utf8');
  } catch {
    throw new CommandError(`${paths.root} holds no node: create one with 'ottmesh init --data-dir ${dataDir}' or 'ottmesh join TOKEN --data-dir ${dataDir}'`);
  }
  const config = parseConfig(paths.config, text);
  const privateKey = await loadNodeKey(paths.nodeKey);
  const runtime = await NodeRuntime.start({
    config, paths, privateKey, peerId: peerIdOf(privateKey), networkKey: decodeNetworkKey(config.networkKey), bootstrap: null, log,
  });
  out(`node ${config.name} (${runtime.peerId}) running; API ${runtime.httpUrl}/`);
  return runtime;
}

async function joinCommand(tokenText: string, flags: NodeFlags): Promise<NodeRuntime> {
  let token;
  try {
    token = decodeJoinToken(tokenText);
  } catch (err) {
    if (err instanceof InvalidJoinTokenError) throw new CommandError(err.message);
    throw err;
  }
  const { paths, name } = await prepareDataDir(flags, 'join');
  return startInFreshDir(paths, async () => {
    const privateKey = await createNodeKey(paths.nodeKey);
    const peerId = peerIdOf(privateKey);
    // Until the replicated state arrives, the token's nodes are the ones to trust and dial.
    const bootstrapMembers: KnownMember[] = token.addrs.map((a) => ({ id: /\/p2p\/([^/]+)/.exec(a)?.[1] ?? '', addrs: [a], httpUrl: '' })).filter((m) => m.id !== '');
    const config: NodeConfig = {
      version: configVersion, clusterId: token.clusterId, name, host: flags.host, p2pPort: flags.p2pPort, httpPort: flags.httpPort,
      networkKey: token.networkKey, founder: false, joinedVia: bootstrapMembers,
    };
    const networkKey = decodeNetworkKey(token.networkKey);
    const runtime = await NodeRuntime.start({ config, paths, privateKey, peerId, networkKey, bootstrap: null, log });
    const ready = async () => {
      const response = await askToJoin(runtime, token.addrs, { tokenId: token.tokenId, secret: token.secret, name, addrs: runtime.host.listenAddrs(), httpUrl: runtime.httpUrl });
      await writeConfig(paths, {
        ...config, joinedVia: response.members, p2pPort: portOf(runtime.host.listenAddrs(), config.p2pPort), httpPort: Number(new URL(runtime.httpUrl).port),
      });
      out(`joined cluster ${response.clusterId} as ${name} (${peerId}); API ${runtime.httpUrl}/`);
      warnIfLoopback(flags.host);
    };
    return { runtime, ready };
  });
}

/** Tries the token's addresses until one node (the leader, or one that names it) admits us. */
async function askToJoin(runtime: NodeRuntime, addrs: readonly string[], request: Parameters<typeof requestJoin>[2]): Promise<Extract<JoinResponse, { ok: true }>> {
  const timeoutMs = joinTimeoutMs();
  const deadline = Date.now() + timeoutMs;
  let lastReason = 'no node of the cluster answered';
  let queue = [...addrs];
  while (Date.now() < deadline) {
    const addr = queue.shift();
    if (addr === undefined) {
      queue = [...addrs];
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      const response = await requestJoin(runtime.host, addr, request);
      if (response.ok) return response;
      lastReason = response.reason;
      // A refusal about the token is final; "not the leader" points to where to ask next.
      const redirect = /not the leader: ask (.+)$/.exec(response.reason);
      if (redirect) queue.unshift(...redirect[1]!.split(' or '));
      else if (!/no leader is elected/.test(response.reason)) throw new CommandError(`the cluster refused this node: ${response.reason}`);
    } catch (err) {
      if (err instanceof CommandError) throw err;
      lastReason = (err as Error).message;
    }
  }
  throw new CommandError(`could not join within ${timeoutMs / 1000} s: ${lastReason}. Is the cluster running and reachable from here (${addrs.join(', ')})?`);
}

/** A node stopping after a fatal error exits by then even if a part hangs in its stop. */
const fatalStopMs = 10_000;

/** Runs until SIGINT or SIGTERM, then stops cleanly; or until Raft stops on a fatal error (a full
 *  disk), then stops and exits 1 (main's caller), so that the service manager starts it again: a
 *  process left running without Raft would hold its port and serve nothing. */
async function runUntilSignal(runtime: NodeRuntime): Promise<void> {
  const fatal = await new Promise<Error | null>((resolve) => {
    const stop = () => resolve(null);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void runtime.fatal.then(resolve);
  });
  if (fatal === null) {
    log('stopping');
    await runtime.stop();
    return;
  }
  log(`stopping after a fatal error; exit 1 (${fatal.message})`);
  process.exitCode = 1;
  const timer = setTimeout(() => {
    log(`still stopping after ${fatalStopMs / 1000} s: exiting all the same`);
    process.exit(1);
  }, fatalStopMs);
  await runtime.stop();
  clearTimeout(timer);
}

/** Every expected failure ends in one line; anything else is a bug and shows its stack. */
function explain(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError) return { message: `${err.message}`, code: 2 };
  const known = ['CommandError', 'ConfigError', 'CorruptLogError', 'LogLockedError', 'PortInUseError', 'AddressUnavailableError', 'ListenError', 'KeyFilePermissionsError',
    'KeyFileDamagedError', 'InvalidNetworkKeyError', 'InvalidJoinTokenError'];
  if (err instanceof Error && (known.includes(err.name) || err instanceof CorruptLogError || err instanceof ConfigError)) return { message: err.message, code: 1 };
  return { message: err instanceof Error ? (err.stack ?? err.message) : String(err), code: 1 };
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    const { message, code } = explain(err);
    console.error(`ottmesh: ${message}`);
    process.exit(code);
  },
);

