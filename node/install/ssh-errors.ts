// Why an install over SSH failed, as a stable kind and a message that says what to check (pure:
// no I/O). Connection failures arrive as Node socket errors (code) or ssh2 errors (level); the
// stage the connection had reached tells "nothing answers" from "something answers, but not SSH".

/** Every way an install job or a probe fails (docs/install-ssh.md lists them). */
export const installErrorKinds = [
  'unreachable', 'not-ssh', 'host-key-mismatch', 'auth-failed', 'no-shell', 'no-root', 'unsupported-os', 'no-downloader',
  'bad-name', 'token-refused', 'install-failed', 'not-joined', 'timeout', 'connection-lost', 'canceled', 'error',
] as const;
export type InstallErrorKind = typeof installErrorKinds[number];

/** An expected failure of a probe or an install step: its kind and what to do. */
export class InstallFailure extends Error {
  override readonly name = 'InstallFailure';
  readonly kind: InstallErrorKind;
  constructor(kind: InstallErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** How far a connection got before it failed. */
export type ConnectStage =
  /** TCP connect in progress. */
  | 'tcp'
  /** TCP connected; no SSH host key seen yet. */
  | 'ssh'
  /** The host key arrived (it is an SSH server); key exchange and authentication follow. */
  | 'auth';

/** What a connection failure looked like: a Node socket error's code, an ssh2 error's level. */
export interface ConnectErrorInfo {
  readonly message: string;
  readonly code?: string | undefined;
  readonly level?: string | undefined;
}

export interface ConnectContext {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly stage: ConnectStage;
  /** The node making the connection (its name), so the operator knows where to look from. */
  readonly fromNode: string;
  readonly timeoutMs: number;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ECONNRESET']);

/** The failure a connection error means. */
export function classifyConnectError(err: ConnectErrorInfo, ctx: ConnectContext): InstallFailure {
  const at = `${ctx.host}:${ctx.port}`;
  const seconds = Math.round(ctx.timeoutMs / 1000);
  if (err.level === 'client-authentication') {
    return new InstallFailure('auth-failed', `${ctx.user}@${ctx.host} refused the key: add its public key to ~${ctx.user}/.ssh/authorized_keys on ${ctx.host} ` +
      `(e.g. ssh-copy-id -i KEY.pub ${ctx.user}@${ctx.host}), or check the user name; for root, sshd must allow it (PermitRootLogin prohibit-password)`);
  }
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new InstallFailure('unreachable', `${ctx.fromNode} cannot resolve the name ${ctx.host} (${err.code}): check the spelling, or use the server's IP address`);
  }
  if (ctx.stage === 'tcp') {
    if (err.code === 'ECONNREFUSED') {
      return new InstallFailure('unreachable', `nothing listens on ${at} (connection refused): check that sshd runs on ${ctx.host} and that the port is right`);
    }
    if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH' || err.code === 'EHOSTDOWN' || err.code === 'EADDRNOTAVAIL') {
      return new InstallFailure('unreachable', `${ctx.host} is unreachable from ${ctx.fromNode} (${err.code}): check the address, that the server is up, and that ${ctx.fromNode} has a route to it`);
    }
    if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT') {
      return new InstallFailure('unreachable', `no answer from ${at} within ${seconds} s: check the address and the port, that the server is up, and any firewall between ${ctx.fromNode} and it`);
    }
    if (err.code !== undefined && unreachableCodes.has(err.code)) {
      return new InstallFailure('unreachable', `cannot connect to ${at} from ${ctx.fromNode} (${err.code}): check the address, the port and the network`);
    }
  }
  if (ctx.stage === 'ssh') {
    const what = err.level === 'client-timeout' ? `did not start an SSH handshake within ${seconds} s` : `did not speak SSH (${err.message})`;
    return new InstallFailure('not-ssh', `${at} answers but ${what}: it is not an SSH server; check the port (sshd listens on 22 unless configured otherwise)`);
  }
  if (err.level === 'client-timeout') {
    return new InstallFailure('timeout', `${at} did not finish the SSH key exchange and login within ${seconds} s: try again; if it repeats, check the server's load and sshd's log`);
  }
  return new InstallFailure('connection-lost', `the SSH connection to ${at} failed: ${err.message}`);
}

/** `text` with every occurrence of each secret (and of each long line of one, for keys pasted
 *  with other line endings) replaced by "[redacted]". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length >= 8) needles.add(secret);
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 16) needles.add(line.trim());
  }
  for (const needle of [...needles].sort((a, b) => b.length - a.length)) out = out.replaceAll(needle, '[redacted]');
  return out;
}
