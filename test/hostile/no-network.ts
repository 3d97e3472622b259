// Hostile inputs must not make the node reach out: a fuzzed SSH install, probe or upgrade that
// names some host would otherwise connect there (or ask DNS). While installed, every outgoing TCP
// connection of this process fails at once with ECONNREFUSED, except to ports a test allows (its
// own servers on loopback); each attempt is recorded, so a test can also assert there was none.
import net from 'node:net';

export interface OutgoingGuard {
  /** "host:port" of every refused attempt, in order. */
  readonly refused: string[];
  /** Let connections to 127.0.0.1/::1/localhost on `port` through. */
  allow(port: number): void;
  /** Puts the real connect back. */
  restore(): void;
}

type ConnectArgs = unknown[];

function target(args: ConnectArgs): { host: string; port: number | null; path: string | null } {
  // net.connect() calls socket.connect() with an already normalized [options, callback] array.
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: string; port?: number | string; path?: string };
    if (o.path !== undefined) return { host: '', port: null, path: o.path };
    return { host: o.host ?? 'localhost', port: o.port === undefined ? null : Number(o.port), path: null };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { host: '', port: null, path: first };
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(first), path: null };
}

export function blockOutgoing(): OutgoingGuard {
  const original = net.Socket.prototype.connect;
  const allowed = new Set<number>();
  const refused: string[] = [];
  const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);
  net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: ConnectArgs) {
    const t = target(args);
    if (t.path !== null || (t.port !== null && allowed.has(t.port) && loopbackHosts.has(t.host))) {
      return (original as (...a: ConnectArgs) => net.Socket).apply(this, args);
    }
    refused.push(`${t.host}:${t.port}`);
    const err = Object.assign(new Error(`connect ECONNREFUSED ${t.host}:${t.port} (outgoing connections are blocked in the hostile tests)`), { code: 'ECONNREFUSED' });
    process.nextTick(() => this.destroy(err));
    return this;
  } as typeof original;
  return {
    refused,
    allow: (port) => allowed.add(port),
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
