// The benchmarks' one client method, used the same way against ottmesh's REST API and etcd's
// JSON gateway: node:http with a keep-alive agent (cheaper per request than fetch, which
// matters on 2 cores where the client shares the CPU with the cluster under test).
import { Agent, request } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export interface HttpCall {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** The whole exchange is abandoned after this long (connect, send, answer). */
  readonly timeoutMs: number;
}

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

/** One keep-alive agent per system under test; `sockets` bounds its connections per node. */
export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

/** Sends one request and reads the whole answer; rejects on network errors and on timeout. */
export function send(agent: Agent, call: HttpCall): Promise<HttpAnswer> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = request(call.url, { method: call.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(new RequestTimeoutError(`${call.method} ${call.url}: no answer within ${call.timeoutMs} ms`)), call.timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      reject(err);
    }
    req.on('error', fail);
    req.end(payload);
  });
}
