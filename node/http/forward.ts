// Writes go to the leader: on a follower, a write route's request is sent on to the leader's
// HTTP API with the same method, path, Authorization and body, and its answer relayed as is.
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

async function forward(request: FastifyRequest, reply: FastifyReply, leaderUrl: string, init: ForwardInit): Promise<void> {
  const target = new URL(request.url, leaderUrl);
  const headers: Record<string, string> = { [forwardedHeader]: '1', accept: 'application/json' };
  if (request.headers.authorization !== undefined) headers['authorization'] = request.headers.authorization;
  const hasBody = request.body !== undefined;
  if (hasBody) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(target, {
      method: request.method,
      headers,
      ...(hasBody ? { body: JSON.stringify(request.body) } : {}),
      signal: AbortSignal.timeout(init.forwardTimeoutMs),
      redirect: 'manual',
    });
    text = await response.text();
  } catch (err) {
    const error = err as Error & { cause?: { code?: string } };
    const why = error.name === 'TimeoutError' ? `no answer within ${init.forwardTimeoutMs} ms` : (error.cause?.code ?? error.message);
    throw new LeaderUnreachableError(target.origin, why, init.retryAfterS);
  }
  reply.code(response.status);
  for (const name of ['content-type', 'retry-after']) {
    const value = response.headers.get(name);
    if (value !== null) reply.header(name, value);
  }
  // A JSON string with a JSON content type is sent as is, not serialized again.
  await reply.send(text);
}
