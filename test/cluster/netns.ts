// A small network of Linux network namespaces for partition tests (root only): one namespace
// holds a bridge, and each host gets its own namespace joined to the bridge by a veth pair,
// with an address 10.231.1.x/24 that exists only inside the namespaces made here. The root
// namespace and the machine's interfaces are never touched. Cutting a host off detaches its
// veth from the bridge (both ends stay up, so the host still reaches its own address); healing
// attaches it again. Finer faults (the chaos suite, scripts/chaos): blackhole routes inside a
// host (it drops what it sends to one address: a partition, or one direction of it), and a
// LinkSwitch that detaches and attaches a host's veth many times a second (emulated packet loss:
// there is no netem here). A process can control a lab another process made (attach()).
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
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

/** Whether process `pid` exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
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
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
  });
  for (const ns of stale) {
    const pids = (await ip(['netns', 'pids', ns])).split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await ip(['netns', 'del', ns]);
  }
  return stale;
}

/** Everything another process needs to control a lab: see NetnsLab.describe() and attach(). */
export interface LabDescription {
  readonly bridgeNs: string;
  readonly hosts: Readonly<Record<string, NetHost>>;
}

export class NetnsLab {
  readonly #prefix = `${namespacePrefix}${process.pid}-`;
  readonly #bridgeNs: string;
  readonly #made: string[] = [];
  readonly hosts = new Map<string, NetHost>();

  /** A new lab (start() makes it), or, given a description, control of a lab another process
   *  made and owns: destroy() then removes nothing. */
  constructor(attachTo?: LabDescription) {
    this.#bridgeNs = attachTo?.bridgeNs ?? `${this.#prefix}br`;
    for (const [name, host] of Object.entries(attachTo?.hosts ?? {})) this.hosts.set(name, host);
  }

  static attach(description: LabDescription): NetnsLab {
    return new NetnsLab(description);
  }

  /** What attach() takes, as plain JSON (for a process started inside one of the hosts). */
  describe(): LabDescription {
    return { bridgeNs: this.#bridgeNs, hosts: Object.fromEntries(this.hosts) };
  }

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

  /** A new host `name` (a few letters) in its own namespace, on the bridge; its address is
   *  10.231.1.<octet> (default: 10, 11, ... in the order hosts are added). */
  async addHost(name: string, options: { octet?: number } = {}): Promise<NetHost> {
    const ns = `${this.#prefix}${name}`;
    const port = `v-${name}`;
    const octet = options.octet ?? 10 + this.hosts.size;
    if (!Number.isInteger(octet) || octet < 2 || octet > 254) throw new Error(`host address octet must be 2-254, not ${octet}`);
    const addr = `${subnet}.${octet}`;
    if ([...this.hosts.values()].some((h) => h.host === addr)) throw new Error(`${addr} is taken in this lab`);
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

  /** Host `name` drops every packet it sends to `toAddr` (a blackhole route), until
   *  unblackhole(): its side of a partition. Packets sent to it still arrive. */
  async blackhole(name: string, toAddr: string): Promise<void> {
    await this.ipIn(name, ['route', 'add', 'blackhole', `${toAddr}/32`]);
  }

  async unblackhole(name: string, toAddr: string): Promise<void> {
    await this.ipIn(name, ['route', 'del', 'blackhole', `${toAddr}/32`]);
  }

  /** The blackhole routes host `name` has now (the addresses it drops). */
  async blackholes(name: string): Promise<string[]> {
    const out = await this.ipIn(name, ['route', 'show', 'type', 'blackhole']);
    return out.split('\n').map((l) => /^blackhole (\S+)/.exec(l.trim())?.[1]?.replace(/\/32$/, '')).filter((a): a is string => a !== undefined);
  }

  /** A switch for detaching and attaching hosts' veths many times a second: one `ip -batch`
   *  process in the bridge's namespace, fed a line per change (an `ip` process per change
   *  would cost 5-20 ms of a busy core each). close() it when done. */
  linkSwitch(): LinkSwitch {
    return new LinkSwitch(this.#bridgeNs, (name) => this.hosts.get(name)!.port);
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

/** See NetnsLab.linkSwitch(). Changes are applied in the order given, as soon as `ip` reads
 *  them; set() does not wait for them. */
export class LinkSwitch {
  readonly #ip: ChildProcess;
  readonly #portOf: (name: string) => string;
  #stderr = '';

  constructor(bridgeNs: string, portOf: (name: string) => string) {
    this.#portOf = portOf;
    // -force: a failed line (already attached) must not end the batch.
    this.#ip = spawn('ip', ['-n', bridgeNs, '-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#ip.stderr!.on('data', (b: Buffer) => (this.#stderr = (this.#stderr + b.toString()).slice(-2_000)));
    this.#ip.stdin!.on('error', () => undefined); // ip gone: close() reports it
  }

  /** Attaches (true) or detaches (false) host `name`'s veth. */
  set(name: string, attached: boolean): void {
    const port = this.#portOf(name);
    this.#ip.stdin!.write(attached ? `link set ${port} master br0\n` : `link set ${port} nomaster\n`);
  }

  /** Ends the batch after the changes given so far; what ip complained about ('' if nothing). */
  async close(): Promise<string> {
    if (this.#ip.exitCode === null && this.#ip.signalCode === null) {
      const exited = new Promise((resolve) => this.#ip.once('exit', resolve));
      this.#ip.stdin!.end();
      await exited;
    }
    return this.#stderr.trim();
  }
}
