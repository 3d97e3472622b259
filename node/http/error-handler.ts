// The one error handler: every failure becomes `{ statusCode, error, message, path? }`.
import { STATUS_CODES } from 'node:http';

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import {
  DriverStoppedError, ForwardUnconfirmedError, NotLeaderError, ProposalDroppedError, ProposalLostError, ProposalOutcomeUnknownError, ReadTimeoutError, StoppedInFlightError, TooManyPendingError,
} from '../../consensus/index.ts';
import { ApiError } from './errors.ts';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  path?: string;
}

/** Consensus failures that mean "not now": the client should retry shortly. */
const transientRaftErrors = [NotLeaderError, ReadTimeoutError, TooManyPendingError, ProposalDroppedError, ProposalLostError, DriverStoppedError];

export interface ErrorHandlerInit {
  readonly retryAfterS: number;
  readonly bodyLimitBytes: number;
}

export function installErrorHandler(app: FastifyInstance, init: ErrorHandlerInit): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const { body, retry } = describe(error, init);
    if (body.statusCode >= 500 && retry === null) request.log.error({ err: error }, 'request failed');
    if (retry !== null) void reply.header('retry-after', String(retry));
    return reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(
    errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}: the API lives under /api/v1 (e.g. GET /api/v1/health)`),
  ));
}

function describe(error: FastifyError, { retryAfterS, bodyLimitBytes }: ErrorHandlerInit): { body: ErrorBody; retry: number | null } {
  if (error.validation !== undefined) return { body: validationBody(error), retry: null };
  if (error instanceof ApiError) return { body: errorBody(error.statusCode, error.message), retry: error.retryAfterS };
  if (transientRaftErrors.some((type) => error instanceof type)) {
    return { body: errorBody(503, `the cluster cannot do this right now: ${error.message}`), retry: retryAfterS };
  }
  if (error instanceof ProposalOutcomeUnknownError || error instanceof ForwardUnconfirmedError || error instanceof StoppedInFlightError) return { body: errorBody(503, `${error.message}: check before retrying`), retry: null };
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { body: errorBody(413, `the request body is larger than the ${bodyLimitBytes} bytes this API accepts`), retry: null };
  // Fastify's own 4xx (bad JSON, body too large, wrong content type) carry a fitting message.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return { body: errorBody(error.statusCode, error.message), retry: null };
  return { body: errorBody(500, 'internal error: see this node\'s log'), retry: null };
}

function validationBody(error: FastifyError): ErrorBody {
  const first = error.validation![0];
  const context = error.validationContext ?? 'body';
  const path = `/${context}${first?.instancePath ?? ''}`;
  if (first === undefined) return { ...errorBody(400, error.message), path };
  if (first.instancePath === '' && first.keyword === 'type' && context === 'body') {
    return { ...errorBody(400, 'the body must be a JSON object, sent with Content-Type: application/json ({} takes the defaults)'), path };
  }
  const params = first.params as { additionalProperty?: string };
  if (first.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
    return { ...errorBody(400, `${path.slice(1)} has an unknown field "${params.additionalProperty}"`), path };
  }
  return { ...errorBody(400, `${path.slice(1)} ${first.message ?? 'is invalid'}`), path };
}

function errorBody(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}
