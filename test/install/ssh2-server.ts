// A stand-in SSH server in this process (ssh2's Server on 127.0.0.1), for the tests that need
// neither root nor Debian's sshd: a real SSH handshake with its own ed25519 host key, public key
// login for one user and one key, and exec answered by the test. The real sshd runs in
// ssh-install.test.ts.
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';

import { hostKeyFingerprint } from '../../node/install/ssh-host-key.ts';

export interface KeyPair {
  /** OpenSSH private key text. */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA... comment`. */
  readonly publicKey: string;
}

export function newKeyPair(options: { passphrase?: string } = {}): KeyPair {
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'ottmesh-test', ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase, cipher: 'aes256-ctr' }) });
  return { privateKey: pair.private, publicKey: pair.public };
}

/** Answers one exec: write to the channel, then `channel.exit(code); channel.end()`. */
export type ExecHandler = (command: string, channel: ServerChannel) => void;

export class Ssh2TestServer {
  readonly port: number;
  readonly hostKeyFingerprint: string;
  /** Every command run, in order. */
  readonly commands: string[];
  readonly #server: InstanceType<typeof ssh2.Server>;
  readonly #connections: Set<Connection>;

  private constructor(server: InstanceType<typeof ssh2.Server>, port: number, fingerprint: string, connections: Set<Connection>, commands: string[]) {
    this.#server = server;
    this.port = port;
    this.hostKeyFingerprint = fingerprint;
    this.#connections = connections;
    this.commands = commands;
  }

  /** Listens on a free port of 127.0.0.1; `user` (one, or any of a list) may log in with
   *  `authorized` (a public key). */
  static async start(init: { user: string | readonly string[]; authorized: string; onExec: ExecHandler }): Promise<Ssh2TestServer> {
    const users: readonly string[] = typeof init.user === 'string' ? [init.user] : init.user;
    const hostKey = newKeyPair().privateKey;
    const parsedHost = ssh2.utils.parseKey(hostKey);
    if (parsedHost instanceof Error || Array.isArray(parsedHost)) throw new Error('the test host key does not parse');
    const allowed = ssh2.utils.parseKey(init.authorized);
    if (allowed instanceof Error || Array.isArray(allowed)) throw new Error('the authorized key does not parse');
    const connections = new Set<Connection>();
    const commands: string[] = [];
    const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
      connections.add(client);
      client.on('close', () => connections.delete(client));
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        const keyOk = ctx.method === 'publickey' && users.includes(ctx.username) && ctx.key !== undefined
          && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
        if (!keyOk) return ctx.reject(['publickey']);
        // Without a signature the client only asks whether this key would do.
        if (ctx.signature !== undefined && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
        return ctx.accept();
      });
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          commands.push(info.command);
          init.onExec(info.command, acceptExec());
        });
      });
    });
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
    return new Ssh2TestServer(server, port, hostKeyFingerprint(parsedHost.getPublicSSH()), connections, commands);
  }

  async close(): Promise<void> {
    for (const c of this.#connections) c.end();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Ends an exec with `stdout`, `stderr` and exit `code`. */
export function answer(channel: ServerChannel, code: number, stdout: string, stderr = ''): void {
  if (stdout !== '') channel.write(stdout);
  if (stderr !== '') channel.stderr.write(stderr);
  channel.exit(code);
  channel.end();
}
