// The SSH client side of the install (the ssh2 package: no `ssh` program, no prompts, no
// known_hosts): probeHostKey() connects only until the server shows its host key; openSession()
// logs in with a key after checking that host key against the fingerprint the operator
// confirmed, and runs commands whose output arrives line by line. Every failure is an
// InstallFailure (ssh-errors.ts) whose message says what to check.
import type { Client, ClientChannel, ClientErrorExtensions } from 'ssh2';

import { classifyConnectError, InstallFailure, redact } from './ssh-errors.ts';
import type { ConnectStage } from './ssh-errors.ts';
import { hostKeyAlgorithm, hostKeyFingerprint } from './ssh-host-key.ts';
import { LineSplitter } from './ssh-lines.ts';
import { loadSsh2 } from './ssh2-module.ts';

/** Output kept per stream of one command for its result (lines beyond go to onLine only). */
export const commandOutputCharsMax = 64 * 1024;
/** The user name a probe announces; it never logs in. */
const probeUser = 'ottmesh-probe';

export interface SshTarget {
  readonly host: string;
  readonly port: number;
}

export interface HostKeySeen {
  /** OpenSSH format: "SHA256:" + unpadded base64. */
  readonly fingerprint: string;
  /** The key's type, e.g. "ssh-ed25519". */
  readonly algorithm: string;
}

export interface ConnectInit {
  /** From the start of the TCP connect to the host key (probe) or the end of the login. */
  readonly timeoutMs: number;
  /** This node's name, for messages ("unreachable from NAME"). */
  readonly fromNode: string;
}

type SshError = Error & ClientErrorExtensions;

/** Connects to `target` only until it presents its host key. Resolves with the key's
 *  fingerprint; throws InstallFailure unreachable, not-ssh or timeout. Never authenticates. */
export async function probeHostKey(target: SshTarget, init: ConnectInit): Promise<HostKeySeen> {
  const ssh2 = await loadSsh2();
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let stage: ConnectStage = 'tcp';
    let seen: HostKeySeen | null = null;
    const finish = (err: SshError | null) => {
      client.removeAllListeners();
      client.on('error', () => undefined); // late errors of a connection being torn down
      client.destroy();
      if (seen !== null) resolve(seen);
      else reject(classifyConnectError(err ?? new Error('the connection closed'), { ...target, user: probeUser, stage, fromNode: init.fromNode, timeoutMs: init.timeoutMs }));
    };
    client.on('connect', () => (stage = 'ssh'));
    client.on('error', (err: SshError) => finish(err));
    client.on('close', () => finish(null));
    client.connect({
      host: target.host, port: target.port, username: probeUser, readyTimeout: init.timeoutMs, authHandler: [],
      hostVerifier: (key) => {
        stage = 'auth';
        seen = { fingerprint: hostKeyFingerprint(key), algorithm: hostKeyAlgorithm(key) ?? 'unknown' };
        return false; // ends the handshake here: nothing more is needed
      },
    });
  });
}

export interface SshLogin extends SshTarget {
  readonly user: string;
  readonly privateKey: Buffer;
  readonly passphrase: Buffer | null;
}

export interface CommandResult {
  /** null: no exit status (killed by a signal, the connection ended, or cut short). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The command printed its last line (RunOptions.lastLine) but its session stayed open past
   *  the grace period, and was closed. */
  readonly cutShort?: boolean;
}

export interface RunOptions {
  /** What the command does, for the timeout's message ("checking the server"). */
  readonly what: string;
  readonly timeoutMs: number;
  /** Each line of output as it arrives. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** The line a command prints last: once seen, the session gets `graceMs` to end before it is
   *  closed (a process the command left running may hold the session's output open). */
  readonly lastLine?: { readonly matches: (line: string) => boolean; readonly graceMs: number };
}

/** A logged-in SSH connection. */
export interface RemoteShell {
  /** Runs `command` through the user's login shell; resolves when it ends. Throws
   *  InstallFailure timeout (the command is closed) or connection-lost. */
  run(command: string, options: RunOptions): Promise<CommandResult>;
  /** Ends the connection (idempotent). */
  close(): void;
}

/** Logs in to `login` with its key, after checking the server's host key against
 *  `fingerprint`. Throws InstallFailure: unreachable, not-ssh, host-key-mismatch, auth-failed,
 *  timeout. The caller owns the key buffers (it wipes them once this settles). */
export async function openSession(login: SshLogin, fingerprint: string, init: ConnectInit): Promise<RemoteShell> {
  const ssh2 = await loadSsh2();
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let stage: ConnectStage = 'tcp';
    let presented: string | null = null;
    let settled = false;
    const fail = (failure: InstallFailure) => {
      if (settled) return;
      settled = true;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.destroy();
      reject(failure);
    };
    client.on('connect', () => (stage = 'ssh'));
    client.on('error', (err: SshError) => {
      if (presented !== null && presented !== fingerprint) {
        fail(new InstallFailure('host-key-mismatch', `${login.host}:${login.port} presented the host key ${presented}, not ${fingerprint} which you confirmed: ` +
          'someone may be intercepting the connection (a man in the middle), or the server was reinstalled and has a new key; check on the server ' +
          '(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then connect again and confirm the key it shows'));
        return;
      }
      const secrets = [login.privateKey.toString('utf8'), ...(login.passphrase === null ? [] : [login.passphrase.toString('utf8')])];
      const message = redact(err.message, secrets);
      fail(classifyConnectError({ message, code: err.code, level: err.level }, { ...login, stage, fromNode: init.fromNode, timeoutMs: init.timeoutMs }));
    });
    client.on('close', () => fail(classifyConnectError({ message: 'the connection closed' }, { ...login, stage, fromNode: init.fromNode, timeoutMs: init.timeoutMs })));
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('close');
      resolve(new Ssh2Shell(client, login.host));
    });
    try {
      client.connect({
        host: login.host, port: login.port, username: login.user, privateKey: login.privateKey,
        ...(login.passphrase === null ? {} : { passphrase: login.passphrase }),
        readyTimeout: init.timeoutMs, authHandler: ['publickey'], keepaliveInterval: 15_000, keepaliveCountMax: 4,
        hostVerifier: (key) => {
          stage = 'auth';
          presented = hostKeyFingerprint(key);
          return presented === fingerprint;
        },
      });
    } catch (err) {
      // ssh2 parses the key in connect(); the route checked it already, so this is unexpected.
      fail(new InstallFailure('auth-failed', `the private key could not be used: ${redact((err as Error).message, [login.privateKey.toString('utf8')])}`));
    }
  });
}

class Ssh2Shell implements RemoteShell {
  readonly #client: Client;
  readonly #host: string;
  #closed = false;

  constructor(client: Client, host: string) {
    this.#client = client;
    this.#host = host;
    // After login, a broken connection shows as commands ending without an exit status.
    client.on('error', () => undefined);
    client.on('close', () => (this.#closed = true));
  }

  run(command: string, options: RunOptions): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new InstallFailure('connection-lost', `the SSH connection to ${this.#host} is closed`));
        return;
      }
      this.#client.exec(command, (err, channel) => {
        if (err !== undefined) {
          reject(new InstallFailure('connection-lost', `${this.#host} refused to run a command over SSH (${err.message}) while ${options.what}`));
          return;
        }
        collect(channel, options, this.#host).then(resolve, reject);
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#client.end();
  }
}

function collect(channel: ClientChannel, options: RunOptions, host: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const kept = { stdout: '', stderr: '' };
    let code: number | null = null;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const splitters = {
      stdout: new LineSplitter((line) => keep('stdout', line)),
      stderr: new LineSplitter((line) => keep('stderr', line)),
    };
    function keep(stream: 'stdout' | 'stderr', line: string) {
      if (kept[stream].length < commandOutputCharsMax) kept[stream] += `${line}\n`;
      options.onLine?.(line, stream);
      if (grace === undefined && options.lastLine?.matches(line) === true) grace = setTimeout(() => end(true), options.lastLine.graceMs);
    }
    function end(cutShort: boolean) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      splitters.stdout.end();
      splitters.stderr.end();
      if (cutShort) channel.close();
      resolve({ code, ...kept, ...(cutShort ? { cutShort } : {}) });
    }
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      clearTimeout(grace);
      channel.close();
      reject(new InstallFailure('timeout', `${options.what} on ${host} did not finish within ${+(options.timeoutMs / 1000).toFixed(1)} s`));
    }, options.timeoutMs);
    channel.on('data', (chunk: Buffer) => splitters.stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => splitters.stderr.push(chunk));
    channel.on('exit', (exitCode) => (code = exitCode));
    channel.on('close', () => end(false));
  });
}
