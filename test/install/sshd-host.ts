// A server to install onto, for ssh-install.test.ts: Debian's OpenSSH server (/usr/sbin/sshd) in
// the foreground inside a network namespace host of test/cluster/netns.ts, with everything it
// owns in a temporary directory: its ed25519 host key (made by ssh-keygen), its config, its pid
// file and the authorized keys (one file for every user: AuthorizedKeysFile is an absolute path).
// Root may log in with a key only (PermitRootLogin prohibit-password); no passwords, no PAM.
// The namespace shares the machine's file system and users: nothing here creates users or
// touches /etc (only /run/sshd, sshd's privilege separation directory, must exist).
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { NetHost } from '../cluster/netns.ts';
import { waitFor } from '../cluster/processes.ts';

export const sshdPath = '/usr/sbin/sshd';
const sshKeygenPath = '/usr/bin/ssh-keygen';
const sshdStartTimeoutMs = 15_000;

/** Why Debian's sshd cannot run here (besides namespaces: see netnsUnavailable), or null. */
export function sshdUnavailable(): string | null {
  if (!existsSync(sshdPath)) return `${sshdPath} is missing: install openssh-server (scripts/setup.sh does, as root)`;
  if (!existsSync(sshKeygenPath)) return `${sshKeygenPath} is missing: install openssh-client`;
  return null;
}

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export interface SshKey {
  readonly privateKeyPath: string;
  /** OpenSSH private key text. */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA... comment`. */
  readonly publicKey: string;
}

/** A new ed25519 key pair (ssh-keygen) in `dir`. */
export async function sshKeygen(dir: string, name: string, passphrase = ''): Promise<SshKey> {
  const path = join(dir, name);
  await run(sshKeygenPath, ['-q', '-t', 'ed25519', '-N', passphrase, '-C', `ottmesh-test-${name}`, '-f', path]);
  return { privateKeyPath: path, privateKey: await readFile(path, 'utf8'), publicKey: (await readFile(`${path}.pub`, 'utf8')).trim() };
}

/** What `ssh-keygen -lf FILE` prints as the fingerprint (SHA256:...). */
export async function keygenFingerprint(pubPath: string): Promise<string> {
  const out = await run(sshKeygenPath, ['-lf', pubPath]);
  const fingerprint = out.split(' ')[1];
  if (fingerprint === undefined || !fingerprint.startsWith('SHA256:')) throw new Error(`ssh-keygen -lf ${pubPath} printed ${out}`);
  return fingerprint;
}

export class SshdHost {
  readonly host: NetHost;
  readonly dir: string;
  readonly port = 22;
  /** The host key's fingerprint as ssh-keygen -lf prints it. */
  readonly fingerprint: string;
  /** What sshd printed (it logs to stderr with -e), for failure reports. */
  output = '';
  readonly #child: ChildProcess;

  private constructor(host: NetHost, dir: string, fingerprint: string, child: ChildProcess) {
    this.host = host;
    this.dir = dir;
    this.fingerprint = fingerprint;
    this.#child = child;
    child.stdout!.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.output += b.toString()));
  }

  /** Starts sshd on `host` (port 22 of its address); every user may log in with the
   *  `authorized` public keys. */
  static async start(host: NetHost, authorized: readonly string[]): Promise<SshdHost> {
    const dir = await mkdtemp(join(tmpdir(), 'ottmesh-sshd-'));
    // sshd reads the authorized keys as the user logging in: they must be able to read them.
    await chmod(dir, 0o755);
    await run(sshKeygenPath, ['-q', '-t', 'ed25519', '-N', '', '-C', 'ottmesh-test-host', '-f', join(dir, 'ssh_host_ed25519_key')]);
    const fingerprint = await keygenFingerprint(join(dir, 'ssh_host_ed25519_key.pub'));
    await writeFile(join(dir, 'authorized_keys'), `${authorized.join('\n')}\n`, { mode: 0o644 });
    const config = [
      `ListenAddress ${host.host}:22`,
      `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The keys file sits under /tmp (world-writable), which strict modes refuse.
      'StrictModes no',
      'PrintMotd no',
      'LogLevel VERBOSE',
    ];
    await writeFile(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    const child = spawn('ip', ['netns', 'exec', host.ns, sshdPath, '-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sshd = new SshdHost(host, dir, fingerprint, child);
    await waitFor('sshd to listen', () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}):\n${sshd.output}`);
      return /Server listening on/.test(sshd.output) ? true : null;
    }, sshdStartTimeoutMs);
    return sshd;
  }

  /** Stops sshd and removes its directory. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const gone = new Promise((resolve) => this.#child.once('exit', resolve));
      this.#child.kill('SIGTERM');
      await gone;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Kills every process still running in namespace `ns` (what an install started detached),
 *  so the namespace can be deleted. */
export async function killAllIn(ns: string): Promise<number[]> {
  const pids = (await run('ip', ['netns', 'pids', ns])).split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return pids;
}
