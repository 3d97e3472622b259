// Writes go to the leader: on a follower, a write route's request is sent on to the leader's
// HTTP API with the same method, path, Authorization and body, and its answer relayed as is.
import { Agent, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';

import { LeaderUnreachableError, NoLeaderError } from './errors.ts';
import type { ClusterApi } from './service.ts';

/** Marks a forwarded request. A node receiving one while not the leader answers 503 instead of
 *  forwarding again: one hop at most, so stale leader views cannot make a loop. */
export const forwardedHeader = 'x-ottmesh-forwarded';
export const defaultForwardTimeoutMs = 5000;
export const defaultRetryAfterS = 1;

export interface ForwardInit {
  /** How long to wait for the leader's whole answer. Default 5000. */
  readonly forwardTimeoutMs: number;
  /** Retry-After on 503s. Default 1. */
  readonly retryAfterS: number;
}

/** A preHandler for write routes: continues on the leader; elsewhere forwards and replies. */
export function leaderOrForward(api: Pick<ClusterApi, 'raftStatus' | 'leaderHttpUrl'>, init: ForwardInit): preHandlerAsyncHookHandler {
  return async function (request, reply) {
    if (api.raftStatus().role === 'leader') return;
    if (request.headers[forwardedHeader] !== undefined) {
      throw new NoLeaderError('this write was forwarded to a node that is no longer the leader (leadership is changing): retry in a second', init.retryAfterS);
    }
    const leaderUrl = api.leaderHttpUrl();
    if (leaderUrl === null) {
      throw new NoLeaderError('no leader is known right now (an election is under way, or this node cannot reach a majority): retry in a second', init.retryAfterS);
    }
    await forward(request, reply, leaderUrl, init);
    return reply;
  };
}

/** Keep-alive connections to the leader, reused across forwarded writes: a new connection (or
 *  fetch's per-call machinery) per write cost followers twice the CPU per write under load. */
const leaderAgent = new Agent({ keepAlive: true, maxSockets: 256 });
/** Bound on the leader's answer we relay. */
const forwardedAnswerBytesMax = 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** One HTTP exchange with the leader, bounded by `timeoutMs` from start to the end of the answer. */
function exchange(target: URL, method: string, headers: Record<string, string>, body: string | null, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(target, { method, headers, agent: leaderAgent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > forwardedAnswerBytesMax) req.destroy(new Error(`the leader's answer is over ${forwardedAnswerBytesMax} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

async function forward(request: FastifyRequest, reply: FastifyReply, leaderUrl: string, init: ForwardInit): Promise<void> {
  const target = new URL(request.url, leaderUrl);
  const headers: Record<string, string> = { [forwardedHeader]: '1', accept: 'application/json' };
  if (request.headers.authorization !== undefined) headers['authorization'] = request.headers.authorization;
  const body = request.body === undefined ? null : JSON.stringify(request.body);
  if (body !== null) headers['content-type'] = 'application/json';
  let answer: Answer;
  try {
    answer = await exchange(target, request.method, headers, body, init.forwardTimeoutMs);
  } catch (err) {
    const error = err as NodeJS.ErrnoException;
    throw new LeaderUnreachableError(target.origin, error.code ?? error.message, init.retryAfterS);
  }
  reply.code(answer.status);
  for (const name of ['content-type', 'retry-after']) {
    const value = answer.headers[name];
    if (typeof value === 'string') reply.header(name, value);
  }
  // A JSON string with a JSON content type is sent as is, not serialized again.
  await reply.send(answer.text);
}
