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

/** `schema` without any `default`, at any depth: for PATCH bodies built from create fields. The
 *  validator fills defaults in (useDefaults), so a PATCH schema with defaults would reset every
 *  field the caller left out to its default instead of leaving it as it is. */
export function withoutDefaults<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((item: unknown) => withoutDefaults(item)) as T;
  if (typeof schema !== 'object' || schema === null) return schema;
  // Descriptors, not values: TypeBox marks its schemas with non-enumerable keys, which must stay so.
  const descriptors = Object.getOwnPropertyDescriptors(schema) as Record<string | symbol, PropertyDescriptor>;
  delete descriptors['default'];
  for (const d of Reflect.ownKeys(descriptors).map((key) => descriptors[key]!)) if ('value' in d) d.value = withoutDefaults(d.value);
  return Object.defineProperties({}, descriptors) as T;
}

/** What non-admins see instead of an HLS signing secret (they may set one, not read it back). */
export const hiddenSecret = '(set; only admins see it)';

/** HLS settings as `role` may see them. */
export function hlsFor<T extends { readonly signingSecret: string | null }>(hls: T, role: string): T {
  return role === 'admin' || hls.signingSecret === null ? hls : { ...hls, signingSecret: hiddenSecret };
}

/** HLS settings changed by `patch`: a secret sent back as {@link hiddenSecret} (a form that
 *  round-trips what a non-admin saw) keeps the secret there is. */
export function hlsPatched<T extends { readonly signingSecret: string | null }>(old: T, patch: Partial<T> | undefined): T {
  const merged = { ...old, ...patch };
  return merged.signingSecret === hiddenSecret ? { ...merged, signingSecret: old.signingSecret } : merged;
}
