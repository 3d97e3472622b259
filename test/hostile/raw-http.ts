// HTTP/1.1 over a raw socket, so a request reaches the server exactly as written (no client
// normalizes '..', re-encodes '%' or refuses a NUL), and the answer is read as it comes.
import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed without an answer. */
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The connection ended (closed by the server) within the wait. */
  readonly closed: boolean;
}

/** Sends `request` (bytes as given) to port `port` on 127.0.0.1 and reads until the server
 *  closes, the answer is complete (Content-Length), or `waitMs` passes. */
export function rawRequest(port: number, request: string | Uint8Array, waitMs = 3000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parse(Buffer.concat(chunks).toString('latin1')), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (complete(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** A GET of `path` exactly as written. */
export function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
  return rawRequest(port, Buffer.from(lines.join('\r\n'), 'latin1'));
}

function complete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  return length !== null && text.length - end - 4 >= Number(length[1]);
}

function parse(text: string): Omit<RawAnswer, 'closed'> {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '' };
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: text.slice(end + 4) };
}
