// The join protocol's wire: one JSON request and one JSON response per stream, each a
// length-prefixed message with a size bound, every step under a timeout, and the stream closed
// by both sides when done (an unclosed stream counts against libp2p's per-protocol stream limit).
// Whether a join is granted is decided by the handler the node passes in (it checks the token
// against the replicated state and commits the new member); this file only carries it.
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { firstLine, JoinProtocolError, JoinTimeoutError } from './errors.ts';
import type { P2pHost } from './host.ts';
import type { JoinRequest, JoinResponse } from './join-messages.ts';
import { maxJoinRequestBytes, maxJoinResponseBytes, parseJoinRequest, parseJoinResponse } from './join-messages.ts';
import type { P2pLogger } from './logger.ts';
import { consoleLogger } from './logger.ts';

export const joinProtocol = '/ottmesh/join/1';

/** Server: how long a connected peer may take to send its request. */
export const defaultJoinReadTimeoutMs = 5_000;
/** Server: how long the handler (token check and commit) may take before the peer is told to retry. */
export const defaultJoinHandlerTimeoutMs = 15_000;
/** Client: the whole exchange, dial included. Longer than the server's handler timeout so the
 *  server's answer, even a refusal, normally arrives. */
export const defaultJoinRequestTimeoutMs = 20_000;
/** Join streams one connection may have open at once (a joiner needs one). */
export const maxJoinStreamsPerConnection = 2;

export type JoinHandler = (peerId: string, request: JoinRequest) => Promise<JoinResponse>;

export interface JoinServerInit {
  readonly readTimeoutMs?: number;
  readonly handlerTimeoutMs?: number;
  readonly logger?: P2pLogger;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Serve join requests on `host` with `handler` until the returned `stop()`. The handler gets the
 *  requester's peer id as proven by the connection, never one the requester claims. */
export async function handleJoin(host: Pick<P2pHost, 'libp2p'>, handler: JoinHandler, init: JoinServerInit = {}): Promise<{ stop(): Promise<void> }> {
  const readTimeoutMs = init.readTimeoutMs ?? defaultJoinReadTimeoutMs;
  const handlerTimeoutMs = init.handlerTimeoutMs ?? defaultJoinHandlerTimeoutMs;
  const logger = init.logger ?? consoleLogger;
  await host.libp2p.handle(joinProtocol, (stream, connection) => {
    serveOne(stream, connection, handler, readTimeoutMs, handlerTimeoutMs, logger).catch((err: unknown) => {
      logger.debug(`join: exchange with ${connection.remotePeer.toString()} failed: ${firstLine(err)}`);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
  }, { maxInboundStreams: maxJoinStreamsPerConnection, maxOutboundStreams: maxJoinStreamsPerConnection });
  return { stop: () => host.libp2p.unhandle(joinProtocol) };
}

async function serveOne(stream: Stream, connection: Connection, handler: JoinHandler, readTimeoutMs: number, handlerTimeoutMs: number, logger: P2pLogger): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: maxJoinRequestBytes });
  const raw = await lp.read({ signal: AbortSignal.timeout(readTimeoutMs) });
  const reply = async (response: JoinResponse): Promise<void> => {
    await lp.write(utf8.encode(JSON.stringify(response)), { signal: AbortSignal.timeout(readTimeoutMs) });
    await stream.close({ signal: AbortSignal.timeout(readTimeoutMs) });
  };
  let request: JoinRequest;
  try {
    request = parseJoinRequest(JSON.parse(fromUtf8.decode(raw.subarray())));
  } catch (err) {
    await reply({ ok: false, reason: `malformed join request: ${firstLine(err)}` });
    return;
  }
  // Stop waiting for the handler when the requester goes away (it gave up, or the node stops).
  const gone = new AbortController();
  stream.addEventListener('close', () => gone.abort(), { once: true });
  const response = await answer(connection.remotePeer.toString(), request, handler, handlerTimeoutMs, gone.signal, logger);
  if (!gone.signal.aborted) await reply(response);
}

/** The handler's answer, or a refusal when it throws or takes too long. */
async function answer(peer: string, request: JoinRequest, handler: JoinHandler, timeoutMs: number, gone: AbortSignal, logger: P2pLogger): Promise<JoinResponse> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<JoinResponse>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `the cluster did not finish the join within ${timeoutMs} ms: try again` }), timeoutMs);
    gone.addEventListener('abort', () => resolve({ ok: false, reason: 'the requester went away' }), { once: true });
  });
  try {
    return await Promise.race([handler(peer, request), timedOut]);
  } catch (err) {
    logger.warn(`join: handling the request of ${peer} failed: ${firstLine(err)}`);
    return { ok: false, reason: `the cluster could not process the join (${firstLine(err)}): try again` };
  } finally {
    clearTimeout(timer);
  }
}

export interface RequestJoinOptions {
  readonly signal?: AbortSignal;
  /** Default {@link defaultJoinRequestTimeoutMs}. */
  readonly timeoutMs?: number;
}

/**
 * Ask the cluster node at `addr` to admit this node. Resolves with its answer (a refusal is an
 * answer: `{ ok: false, reason }`); rejects with JoinTimeoutError, DialTimeoutError or
 * JoinProtocolError when there is no valid answer. After a refusal the connection is closed; after
 * an acceptance it is kept (the new member's first link to the cluster).
 */
export async function requestJoin(host: Pick<P2pHost, 'dial'>, addr: string | readonly string[], request: JoinRequest, options: RequestJoinOptions = {}): Promise<JoinResponse> {
  const body = utf8.encode(JSON.stringify(parseJoinRequest(request)));
  if (body.byteLength > maxJoinRequestBytes) throw new JoinProtocolError(`join request is ${body.byteLength} bytes, more than the ${maxJoinRequestBytes} allowed`);
  const timeoutMs = options.timeoutMs ?? defaultJoinRequestTimeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const target = typeof addr === 'string' ? addr : addr.join(' or ');
  const connection = await host.dial(addr, signal);
  let stream: Stream | null = null;
  try {
    stream = await connection.newStream(joinProtocol, { signal });
    const lp = lpStream(stream, { maxDataLength: maxJoinResponseBytes });
    await lp.write(body, { signal });
    await stream.close({ signal }); // half-close: we are done writing, the answer still arrives
    const raw = await lp.read({ signal });
    const response = parseResponse(raw.subarray(), target);
    if (!response.ok) await connection.close({ signal: AbortSignal.timeout(1_000) }).catch(() => connection.abort(new Error('join refused')));
    return response;
  } catch (err) {
    stream?.abort(err instanceof Error ? err : new Error(String(err)));
    if (timeout.aborted && options.signal?.aborted !== true) throw new JoinTimeoutError(target, timeoutMs);
    if (err instanceof JoinProtocolError || options.signal?.aborted === true) throw err;
    throw new JoinProtocolError(`the join exchange with ${target} broke off (${firstLine(err)}): check that the address belongs to a cluster node and try again`, { cause: err });
  }
}

function parseResponse(bytes: Uint8Array, target: string): JoinResponse {
  try {
    return parseJoinResponse(JSON.parse(fromUtf8.decode(bytes)));
  } catch (err) {
    throw new JoinProtocolError(`the node at ${target} sent an invalid join response (${firstLine(err)}): is it an ottmesh node of the same version?`);
  }
}
