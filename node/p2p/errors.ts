// Expected failures of the p2p layer, one class each with a stable `name`. Each message says what
// went wrong and what the operator can do about it, on one line.

/** The node key file grants group or others any access: it holds the node's identity (ssh-style check). */
export class KeyFilePermissionsError extends Error {
  override readonly name = 'KeyFilePermissionsError';
  readonly file: string;
  constructor(file: string, mode: number) {
    super(`node key file ${file} is open to group or others (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${file}\``);
    this.file = file;
  }
}

/** The node key file exists but does not hold a key we can read. */
export class KeyFileDamagedError extends Error {
  override readonly name = 'KeyFileDamagedError';
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`node key file ${file} is damaged (${problem}): restore it from a backup; a new key makes this a different node`);
    this.file = file;
  }
}

/** A network key string (config file, join token) that does not decode to a pre-shared key. */
export class InvalidNetworkKeyError extends Error {
  override readonly name = 'InvalidNetworkKeyError';
  constructor(problem: string) {
    super(`network key is not valid (${problem}): copy it again from the cluster's config or a fresh join token`);
  }
}

/** The p2p port is taken by another process. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly port: number;
  constructor(host: string, port: number) {
    super(`p2p port ${port} on ${host} is already in use: stop the process using it or pick another with --p2p-port`);
    this.port = port;
  }
}

/** Listening failed for another reason (an address this machine does not have, no permission). */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(addr: string, cause: unknown) {
    super(`cannot listen on ${addr} (${firstLine(cause)}): check --host and --p2p-port`, { cause });
  }
}

/** A dial gave up: the peer is down, the address is wrong, or it uses another network key
 *  (a wrong pre-shared key is often only noticed as a timeout). */
export class DialTimeoutError extends Error {
  override readonly name = 'DialTimeoutError';
  constructor(target: string, timeoutMs: number) {
    super(`could not connect to ${target} within ${timeoutMs} ms: check that it runs, that the address is right, and that both sides use the same network key`);
  }
}

/** A dial failed fast: refused, reset (often a different network key), or denied by the peer. */
export class DialFailedError extends Error {
  override readonly name = 'DialFailedError';
  constructor(target: string, cause: unknown) {
    super(`could not connect to ${target} (${firstLine(cause)}): check that it runs, that the address is right, and that both sides use the same network key`, { cause });
  }
}

/** A multiaddr string that does not parse, or lacks the /p2p/<peer id> part a dial needs. */
export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
  constructor(addr: string, problem: string) {
    super(`address ${JSON.stringify(addr)} is not usable (${problem}): expected a multiaddr such as /ip4/10.0.0.5/tcp/7400/p2p/12D3Koo...`);
  }
}

/** The peer is not a member of the cluster (applied state) and tried something only members may do. */
export class NotAMemberError extends Error {
  override readonly name = 'NotAMemberError';
  constructor(peerId: string, what: string) {
    super(`peer ${peerId} is not a cluster member: ${what} refused`);
  }
}

/** A join exchange broke: a malformed or oversized request or response, or the other side went away. */
export class JoinProtocolError extends Error {
  override readonly name = 'JoinProtocolError';
}

/** The join request got no answer in time. */
export class JoinTimeoutError extends Error {
  override readonly name = 'JoinTimeoutError';
  constructor(target: string, timeoutMs: number) {
    super(`the cluster at ${target} did not answer the join request within ${timeoutMs} ms: check that it runs and try again`);
  }
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text;
}
