// Types for the parts of the `ssh2` package (1.x, plain JavaScript, no bundled types) that the
// SSH install and its tests use. Replace with @types/ssh2 when it is added as a devDependency.
declare module 'ssh2' {
  import type { EventEmitter } from 'node:events';
  import type { Duplex, Readable, Writable } from 'node:stream';

  /** A key as ssh2's parseKey reads it (OpenSSH, PEM or PuTTY formats). */
  export interface ParsedKey {
    readonly type: string;
    readonly comment: string;
    isPrivateKey(): boolean;
    /** The public key blob in SSH wire format. */
    getPublicSSH(): Buffer;
    verify(data: Buffer, signature: Buffer, hashAlgo?: string): boolean | Error;
  }

  export interface ConnectConfig {
    host: string;
    port: number;
    username: string;
    privateKey?: Buffer | string;
    passphrase?: Buffer | string;
    /** Milliseconds from the start of the TCP connect to the end of authentication. */
    readyTimeout?: number;
    keepaliveInterval?: number;
    keepaliveCountMax?: number;
    /** Called with the server's host key blob; false ends the handshake. */
    hostVerifier?: (key: Buffer) => boolean;
    authHandler?: readonly string[];
    tryKeyboard?: boolean;
  }

  export interface ClientChannel extends Duplex {
    readonly stderr: Readable;
    /** exit-status (code) or exit-signal (null, 'SIGxxx', coreDumped, description). */
    on(event: 'exit', listener: (code: number | null, signal?: string) => void): this;
    on(event: 'close', listener: () => void): this;
    on(event: 'data', listener: (chunk: Buffer) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
    close(): void;
  }

  export interface ClientErrorExtensions {
    /** 'client-socket', 'client-timeout', 'client-authentication', 'protocol', 'handshake', ... */
    level?: string;
    code?: string;
    description?: string;
  }

  export class Client extends EventEmitter {
    connect(config: ConnectConfig): this;
    exec(command: string, callback: (err: Error | undefined, channel: ClientChannel) => void): boolean;
    end(): this;
    destroy(): this;
  }

  export interface AuthContext {
    readonly username: string;
    readonly method: string;
    readonly key?: { algo: string; data: Buffer };
    readonly signature?: Buffer;
    readonly blob?: Buffer;
    readonly hashAlgo?: string;
    accept(): void;
    reject(methods?: readonly string[]): void;
  }

  export interface ServerChannel extends Duplex {
    readonly stderr: Writable;
    exit(code: number): void;
  }

  export interface Session extends EventEmitter {
    on(event: 'exec', listener: (accept: () => ServerChannel, reject: () => void, info: { command: string }) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
  }

  export interface Connection extends EventEmitter {
    on(event: 'authentication', listener: (ctx: AuthContext) => void): this;
    on(event: 'ready', listener: () => void): this;
    on(event: 'session', listener: (accept: () => Session, reject: () => void) => void): this;
    on(event: 'error' | 'close' | 'end', listener: (err?: Error) => void): this;
    end(): this;
  }

  export class Server extends EventEmitter {
    constructor(config: { hostKeys: readonly (Buffer | string)[] }, listener?: (client: Connection) => void);
    listen(port: number, host: string, callback?: () => void): this;
    address(): { address: string; port: number };
    close(callback?: () => void): this;
  }

  export const utils: {
    parseKey(data: Buffer | string, passphrase?: Buffer | string): ParsedKey | ParsedKey[] | Error;
    generateKeyPairSync(type: 'ed25519' | 'ecdsa' | 'rsa', options?: { bits?: number; comment?: string; passphrase?: string; cipher?: string }): { private: string; public: string };
  };

  /** Node's ESM loader finds only some of the package's named exports (it is CommonJS):
   *  import the default (module.exports) and take the classes from it. */
  const ssh2: { Client: typeof Client; Server: typeof Server; utils: typeof utils };
  export default ssh2;
}
