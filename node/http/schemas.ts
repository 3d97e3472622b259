// Schemas shared by routes: the error body every route may answer with.
import { Type } from 'typebox';

/** Every 4xx/5xx answer. `path` is set on 400s from schema validation (e.g. "/body/ttlS"). */
export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  path: Type.Optional(Type.String()),
});

/** Add to a route's `response` so error bodies are declared too. */
export const errorResponses = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

/** Node and group names, as node/state's nameProblem accepts them. */
export const NameSchema = Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
