// GET and PUT /api/v1/policy: the cluster-wide placement policy (overrides of the built-in
// defaults; a service's and a stream's own `policy` override it in turn) and the HLS settings
// of streams in no service.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { TSchema } from 'typebox';

import { hlsProblem, policyProblem } from '../../state/index.ts';
import type { HlsSettings, PolicyOverride } from '../../state/index.ts';
import { actorOf, principalOf } from '../auth.ts';
import { defaultPolicy } from '../../placement/policy.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses, hlsFor, hlsPatched, NameSchema } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const policyFields = {
  strategy: Type.Union([Type.Literal('spread'), Type.Literal('binpack')]),
  groups: Type.Array(NameSchema, { maxItems: 64, uniqueItems: true }),
  cpuCeilPct: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
  memCeilPct: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
  maxStreamsPerNode: Type.Integer({ minimum: 0 }),
  stickiness: Type.Number({ minimum: 0, maximum: 1 }),
  rebalanceMovesPerMin: Type.Integer({ minimum: 0, maximum: 1000 }),
  hotStandby: Type.Boolean(),
};

/** A policy override as the API takes it (every field optional). */
export function policyOverrideBody(options: { default?: unknown } = {}): TSchema {
  return Type.Partial(Type.Object(policyFields, { additionalProperties: false }), options);
}
export const PolicyOverrideBody = policyOverrideBody();

const hlsFields = {
  segmentS: Type.Number({ minimum: 1, maximum: 10 }),
  windowSegments: Type.Integer({ minimum: 1, maximum: 30 }),
  mode: Type.Union([Type.Literal('proxy'), Type.Literal('redirect')]),
  signingSecret: Type.Union([Type.String({ minLength: 16, maxLength: 256 }), Type.Null()]),
};
export const HlsBody = Type.Object(hlsFields, { additionalProperties: false });
export const HlsPatchBody = Type.Partial(Type.Object(hlsFields), { additionalProperties: false });

const PolicyView = Type.Object({
  policy: PolicyOverrideBody, hls: HlsBody,
  defaults: Type.Unknown({ description: 'the built-in policy every field falls back to when no level sets it' }),
});
const PutBody = Type.Object({ policy: PolicyOverrideBody, hls: Type.Optional(HlsPatchBody) }, { additionalProperties: false });

export const policyRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.get('/api/v1/policy', { schema: { response: { 200: PolicyView, ...errorResponses } } }, async (request) => {
    await api.read();
    const state = api.state();
    return { policy: state.policy, hls: hlsFor(state.hls, principalOf(request).role), defaults: defaultPolicy };
  });

  app.put('/api/v1/policy', { schema: { body: PutBody, response: { 200: PolicyView, ...errorResponses } } }, async (request) => {
    const policy = request.body.policy as PolicyOverride;
    const hls: HlsSettings = hlsPatched(api.state().hls, request.body.hls as Partial<HlsSettings> | undefined);
    const problem = policyProblem(policy) ?? hlsProblem(hls);
    if (problem !== null) throw new ApiError(400, problem);
    const result = await api.propose({ type: 'UpdatePolicy', atMs: api.nowMs(), policy, hls }, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
    const state = api.state();
    return { policy: state.policy, hls: hlsFor(state.hls, principalOf(request).role), defaults: defaultPolicy };
  });
};
