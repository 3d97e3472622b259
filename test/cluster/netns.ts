// A small network of Linux network namespaces for partition tests (root only): one namespace
// holds a bridge, and each host gets its own namespace joined to the bridge by a veth pair,
// with an address 10.231.1.x/24 that exists only inside the namespaces made here. The root
// namespace and the machine's interfaces are never touched. Cutting a host off detaches its
// veth from the bridge (both ends stay up, so the host still reaches its own address); healing
// attaches it again.
import { execFile, execFileSync } from 'node:child_process';
import type { Place } from './processes.ts';

/** Every namespace made here is named `otm-<pid>-<what>`, so that leftovers of a crashed run
 *  (its pid gone) can be found and removed. */
export const namespacePrefix = 'otm-';
const ipCommandTimeoutMs = 10_000;
const subnet = '10.231.1';
/** Each namespace has its own port space: fixed ports are fine. */
export const nsP2pPort = 7000;
export const nsHttpPort = 8080;

export interface NetHost extends Place {
  readonly ns: string;
  /** The bridge-side end of its veth, inside the bridge namespace. */
  readonly port: string;
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((ok, fail) => {
    execFile('ip', args, { timeout: ipCommandTimeoutMs }, (err, stdout, stderr) => {
      if (err !== null) fail(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else ok(stdout);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why namespaces cannot be used here, or null when they can. */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces): run the tests as root to include the partition test';
  const probe = `${namespacePrefix}${process.pid}-probe`;
  try {
    await ip(['netns', 'add', probe]);
    await ip(['netns', 'exec', probe, 'curl', '--version']);
  } catch (err) {
    return `network namespaces do not work here (${(err as Error).message.split('\n')[0]})`;
  } finally {
    await ip(['netns', 'del', probe]).catch(() => undefined);
  }
  return null;
}

/** Removes the namespaces (and with them their veths and bridge) of runs whose process is gone,
 *  after killing the node processes still running inside them (orphans of that run). */
export async function removeLeftovers(): Promise<string[]> {
  const names = (await ip(['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(namespacePrefix));
  const stale = names.filter((n) => {
    const pid = Number(n.slice(namespacePrefix.length).split('-')[0]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid);
  });
  for (const ns of stale) {
    const pids = (await ip(['netns', 'pids', ns])).split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await ip(['netns', 'del', ns]);
  }
  return stale;
}

export class NetnsLab {
  readonly #prefix = `${namespacePrefix}${process.pid}-`;
  readonly #bridgeNs = `${this.#prefix}br`;
  readonly #made: string[] = [];
  readonly hosts = new Map<string, NetHost>();

  /** If this process ends before destroy() (a test timed out, a crash), the namespaces go with
   *  it; removeLeftovers() covers a process killed outright. */
  readonly #onExit = () => {
    for (const ns of this.#made) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { timeout: ipCommandTimeoutMs, stdio: 'ignore' });
      } catch {
        // exiting anyway: the next run's removeLeftovers() retries
      }
    }
  };

  /** Creates the bridge's namespace; call destroy() in a finally. */
  async start(): Promise<void> {
    process.once('exit', this.#onExit);
    await this.#addNs(this.#bridgeNs);
    await ip(['-n', this.#bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', this.#bridgeNs, 'link', 'set', 'br0', 'up']);
  }

  /** A new host `name` (a few letters) in its own namespace, on the bridge. */
  async addHost(name: string): Promise<NetHost> {
    const ns = `${this.#prefix}${name}`;
    const port = `v-${name}`;
    const addr = `${subnet}.${10 + this.hosts.size}`;
    await this.#addNs(ns);
    await ip(['-n', this.#bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await ip(['-n', this.#bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
    await ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    const host: NetHost = { ns, port, host: addr, via: ['ip', 'netns', 'exec', ns], p2pPort: nsP2pPort, httpPort: nsHttpPort };
    this.hosts.set(name, host);
    return host;
  }

  /** Cuts host `name` off from every other host (its veth leaves the bridge). */
  async cut(name: string): Promise<void> {
    await ip(['-n', this.#bridgeNs, 'link', 'set', this.hosts.get(name)!.port, 'nomaster']);
  }

  async heal(name: string): Promise<void> {
    await ip(['-n', this.#bridgeNs, 'link', 'set', this.hosts.get(name)!.port, 'master', 'br0']);
  }

  /** `ip ARGS` inside host `name`'s namespace; what it printed. */
  ipIn(name: string, args: readonly string[]): Promise<string> {
    return ip(['-n', this.hosts.get(name)!.ns, ...args]);
  }

  /** The MAC address of host `name`'s eth0 (what its ARP answers carry). */
  async macOf(name: string): Promise<string> {
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(await this.ipIn(name, ['link', 'show', 'eth0']))?.[1];
    if (mac === undefined) throw new Error(`no MAC address on ${name}'s eth0`);
    return mac;
  }

  /** Runs `argv` inside host `name`'s namespace; its exit code and output (never throws). */
  execIn(name: string, argv: readonly string[], timeoutMs = ipCommandTimeoutMs): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((ok) => {
      execFile('ip', ['netns', 'exec', this.hosts.get(name)!.ns, ...argv], { timeout: timeoutMs }, (err, stdout, stderr) => {
        ok({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
      });
    });
  }

  /** Deletes every namespace made here; their veths and the bridge go with them. The processes
   *  running inside must be stopped first (a namespace lives on while a process uses it). */
  async destroy(): Promise<void> {
    process.off('exit', this.#onExit);
    const errors: string[] = [];
    for (const ns of this.#made.splice(0).reverse()) await ip(['netns', 'del', ns]).catch((err: unknown) => errors.push((err as Error).message));
    if (errors.length > 0) throw new Error(`could not remove network namespaces: ${errors.join('; ')}`);
  }

  async #addNs(ns: string): Promise<void> {
    await ip(['netns', 'add', ns]);
    this.#made.push(ns);
  }
}
