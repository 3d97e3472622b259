// What an install over SSH runs on the server and what it makes of the answers (pure: no I/O).
// One small script reports the facts (uid, sudo, kernel and machine, curl or wget, host name,
// /etc/os-release); decideInstall() turns them into a plan or a failure that says what to do;
// installCommandLine() is the `curl -fsSL URL/install.sh | sh -s -- TOKEN ...` the server runs;
// installOutcome() reads install.sh's exit code and its `ottmesh-install: ` lines.
import { nameProblem } from '../state/index.ts';
import { installExitCodes } from './install-script.ts';
import { InstallFailure } from './ssh-errors.ts';

/** Lines of the facts script start with this; anything else (a login banner, a shell's
 *  greeting) is ignored. */
const factPrefix = 'ottmesh-facts: ';
const osPrefix = 'ottmesh-os: ';

/** POSIX sh, run as `sh -c '<script>'` whatever the user's login shell is. sudo is asked with
 *  -n: a sudo that wants a password counts as none (nobody can type it). */
export const factsScript = [
  `u=$(id -u); echo "${factPrefix}uid=$u"`,
  `if [ "$u" != 0 ]; then if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then echo "${factPrefix}sudo=yes"; else echo "${factPrefix}sudo=no"; fi; fi`,
  `echo "${factPrefix}uname=$(uname -sm)"`,
  `echo "${factPrefix}hostname=$(uname -n)"`,
  `for c in curl wget; do if command -v $c >/dev/null 2>&1; then echo "${factPrefix}downloader=$c"; fi; done`,
  `if [ -r /etc/os-release ]; then sed 's/^/${osPrefix}/' /etc/os-release; fi`,
].join('\n');

export type Downloader = 'curl' | 'wget';

export interface RemoteFacts {
  readonly uid: number;
  /** null when root (not asked). */
  readonly sudo: boolean | null;
  readonly kernel: string;
  readonly machine: string;
  readonly hostname: string;
  readonly downloaders: readonly Downloader[];
  /** /etc/os-release fields (quotes removed); null when the file is missing. */
  readonly osRelease: Readonly<Record<string, string>> | null;
}

/** The facts in the script's output; null when it did not run (no uid line: a login shell
 *  such as nologin that runs no commands). */
export function parseFacts(stdout: string): RemoteFacts | null {
  const facts = new Map<string, string[]>();
  const os: Record<string, string> = {};
  let sawOs = false;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(factPrefix)) {
      const [key, ...rest] = line.slice(factPrefix.length).split('=');
      facts.set(key!, [...(facts.get(key!) ?? []), rest.join('=')]);
    } else if (line.startsWith(osPrefix)) {
      sawOs = true;
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.slice(osPrefix.length));
      if (match !== null) os[match[1]!] = match[2]!.replace(/^["']|["']$/g, '');
    }
  }
  const uid = Number(facts.get('uid')?.[0]);
  if (!Number.isInteger(uid) || uid < 0) return null;
  const [kernel = '', machine = ''] = (facts.get('uname')?.[0] ?? '').split(' ');
  const sudo = facts.get('sudo')?.[0];
  return {
    uid,
    sudo: sudo === undefined ? null : sudo === 'yes',
    kernel,
    machine,
    hostname: facts.get('hostname')?.[0] ?? '',
    downloaders: (facts.get('downloader') ?? []).filter((d): d is Downloader => d === 'curl' || d === 'wget'),
    osRelease: sawOs ? os : null,
  };
}

/** Distribution ids (ID and ID_LIKE of /etc/os-release) install.sh knows a package manager for. */
const supportedIds = new Set(['debian', 'ubuntu', 'fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'arch']);
export const supportedSystems = 'Debian 10+, Ubuntu 20.04+, Fedora, RHEL/Rocky/AlmaLinux/CentOS Stream 8+ or Arch Linux, on x86_64';

export interface InstallPlan {
  /** How install.sh gets root: it is root, or through `sudo -n`. */
  readonly privilege: 'root' | 'sudo';
  readonly downloader: Downloader;
  /** What the server is, for the progress ("Debian GNU/Linux 12 (bookworm), x86_64"). */
  readonly system: string;
}

/** The plan for a server with these facts, or the failure that stops the install (no root, an
 *  unsupported system, nothing to download with). `who` is "USER@HOST". */
export function decideInstall(facts: RemoteFacts, who: { user: string; host: string }): InstallPlan | InstallFailure {
  const privilege = facts.uid === 0 ? 'root' : facts.sudo === true ? 'sudo' : null;
  if (privilege === null) {
    return new InstallFailure('no-root', `${who.user} is not root on ${who.host} (uid ${facts.uid}) and has no passwordless sudo: log in as root, ` +
      `or give ${who.user} passwordless sudo (a line "${who.user} ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/ottmesh)`);
  }
  const name = facts.osRelease?.['PRETTY_NAME'] || facts.osRelease?.['NAME'] || facts.osRelease?.['ID'] || 'an unknown Linux distribution (no /etc/os-release)';
  if (facts.kernel !== 'Linux') {
    return new InstallFailure('unsupported-os', `${who.host} runs ${facts.kernel || 'an unknown system'}${facts.machine === '' ? '' : ` on ${facts.machine}`}: ottmesh installs on ${supportedSystems}`);
  }
  if (facts.machine !== 'x86_64' && facts.machine !== 'amd64') {
    return new InstallFailure('unsupported-os', `${who.host} is ${name} on ${facts.machine || 'an unknown machine'}: the ottmesh executable is built for x86_64 only`);
  }
  const ids = [facts.osRelease?.['ID'] ?? '', ...(facts.osRelease?.['ID_LIKE'] ?? '').split(/\s+/)].filter((id) => id !== '');
  if (ids.includes('alpine')) return new InstallFailure('unsupported-os', `${who.host} runs ${name}, which uses musl libc; the ottmesh executable needs glibc: install on ${supportedSystems}`);
  if (!ids.some((id) => supportedIds.has(id))) return new InstallFailure('unsupported-os', `${who.host} runs ${name}: ottmesh installs on ${supportedSystems}`);
  const downloader = facts.downloaders[0];
  if (downloader === undefined) {
    const how = ids.includes('arch') ? 'pacman -S curl' : ids.some((id) => id === 'debian' || id === 'ubuntu') ? 'apt-get install curl' : 'dnf install curl';
    return new InstallFailure('no-downloader', `neither curl nor wget is installed on ${who.host}: install one (${how}) and try again`);
  }
  return { privilege, downloader, system: `${name}, ${facts.machine}` };
}

/** The node name for the server: the one asked for, else its host name when that is a valid
 *  node name. */
export function nodeNameFor(asked: string | null, hostname: string): string | InstallFailure {
  const name = asked ?? hostname.split('.')[0] ?? '';
  const problem = nameProblem('node name', name);
  if (problem === null) return name;
  return new InstallFailure('bad-name', asked === null
    ? `the server's host name "${hostname}" is not a usable node name (${problem}): give the new server a name`
    : problem);
}

/** install.sh's options (docs/install.md) as the job passes them through. */
export interface InstallScriptOptions {
  readonly name: string;
  readonly dataDir?: string | undefined;
  readonly binDir?: string | undefined;
  readonly serviceUser?: string | undefined;
  readonly nodeHost?: string | undefined;
  readonly p2pPort?: number | undefined;
  readonly httpPort?: number | undefined;
  readonly noService?: boolean | undefined;
}

/** The arguments after the token. */
export function installScriptArgs(options: InstallScriptOptions): string[] {
  const args = ['--name', options.name];
  if (options.dataDir !== undefined) args.push('--data-dir', options.dataDir);
  if (options.binDir !== undefined) args.push('--bin-dir', options.binDir);
  if (options.serviceUser !== undefined) args.push('--user', options.serviceUser);
  if (options.nodeHost !== undefined) args.push('--host', options.nodeHost);
  if (options.p2pPort !== undefined) args.push('--p2p-port', String(options.p2pPort));
  if (options.httpPort !== undefined) args.push('--http-port', String(options.httpPort));
  if (options.noService === true) args.push('--no-service');
  return args;
}

/** A word for sh: as is when plainly safe, single-quoted otherwise. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9._/:=@%+,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** Where the token goes in what the progress shows. */
export const tokenPlaceholder = '<join token>';

/** The command the SSH session runs, and the same with the token hidden for the progress.
 *  The script is fetched first, so a failed download says so (a plain `curl | sh` would run an
 *  empty script and succeed). */
export function installCommandLine(init: { baseUrl: string; token: string; plan: InstallPlan; args: readonly string[] }): { command: string; shown: string } {
  const scriptUrl = `${init.baseUrl}/install.sh`;
  const fetch = init.plan.downloader === 'curl' ? `curl -fsSL ${shellWord(scriptUrl)}` : `wget -qO- ${shellWord(scriptUrl)}`;
  const sh = init.plan.privilege === 'sudo' ? 'sudo -n sh' : 'sh';
  const line = (token: string) => {
    const inner = [
      `script=$(${fetch}) || { echo ${shellWord(`ottmesh-install: error: could not download ${scriptUrl} from this server: check that it reaches ${init.baseUrl} (or give the node URL it reaches)`)} >&2; exit ${installExitCodes.download}; }`,
      `printf '%s\\n' "$script" | ${sh} -s -- ${[token, ...init.args].map(shellWord).join(' ')}`,
    ].join('\n');
    return `sh -c ${shellWord(inner)}`;
  };
  const shownArgs = [tokenPlaceholder, ...init.args.map(shellWord)].join(' ');
  return { command: line(init.token), shown: `${fetch} | ${sh} -s -- ${shownArgs}` };
}

/** install.sh's last line on success starts with this. */
export const doneLinePrefix = 'ottmesh-install: done';
const errorLinePrefix = 'ottmesh-install: error: ';

/** What install.sh's exit says: null when it succeeded (exit 0 and its done line), else the
 *  failure, with its last error line. `code` null: the session ended without an exit status. */
export function installOutcome(code: number | null, lines: readonly string[], host: string): InstallFailure | null {
  const done = lines.some((l) => l.startsWith(doneLinePrefix));
  if (code === 0 && done) return null;
  const lastError = [...lines].reverse().find((l) => l.startsWith(errorLinePrefix))?.slice(errorLinePrefix.length);
  if (code === null) return new InstallFailure('connection-lost', `the SSH session to ${host} ended before install.sh did${lastError === undefined ? '' : `; its last error: ${lastError}`}: see the progress above, then try again`);
  if (code === 0) return new InstallFailure('install-failed', `install.sh on ${host} exited without saying it was done: see the progress above`);
  const message = lastError ?? `install.sh on ${host} failed with exit code ${code}: see the progress above`;
  if (code === installExitCodes.notRoot) return new InstallFailure('no-root', message);
  if (code === installExitCodes.unsupportedPlatform) return new InstallFailure('unsupported-os', message);
  return new InstallFailure('install-failed', message);
}
