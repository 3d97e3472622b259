// What a viewer's player does with a host name of several A records (DESIGN.md: "operators point
// DNS, several A records, or a floating IP at the nodes"), made on loopback: a TCP listener that
// connects each new connection to the first of the given nodes that accepts, in a fixed order,
// as a browser tries a name's addresses in turn when one refuses. A connection stays with the
// node it reached until either side closes it. During a rolling upgrade every node restarts once;
// a viewer of one fixed node address would see its node refuse connections for those seconds.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class FailoverFront {
  readonly #backends: readonly { readonly host: string; readonly port: number }[];
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  /** Connections that found their first choice refusing and went to a later one. */
  failovers = 0;
  /** Connections that no node accepted. */
  refused = 0;
  url = '';

  /** `httpUrls`: the nodes, in the order a client tries them. */
  constructor(httpUrls: readonly string[]) {
    this.#backends = httpUrls.map((u) => {
      const url = new URL(u);
      return { host: url.hostname, port: Number(url.port) };
    });
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      this.#track(client);
      client.pause();
      void this.#connect(0).then((upstream) => {
        if (upstream === null || client.destroyed) {
          if (upstream === null) this.refused++;
          upstream?.destroy();
          client.destroy();
          return;
        }
        this.#track(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.resume();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = null;
    if (server !== null) await new Promise((resolve) => server.close(resolve));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    // A reset from either side ends the pair (the 'close' handlers); it is not a test failure.
    socket.on('error', () => socket.destroy());
  }

  /** The first backend from `index` on that accepts a connection; null: none. */
  async #connect(index: number): Promise<Socket | null> {
    for (let i = index; i < this.#backends.length; i++) {
      const b = this.#backends[i]!;
      const socket = await new Promise<Socket | null>((resolve) => {
        const s = connect(b.port, b.host);
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (socket !== null) {
        if (i > 0) this.failovers++;
        return socket;
      }
    }
    return null;
  }
}
