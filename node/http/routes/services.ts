// /api/v1/services: named sets of streams sharing a placement policy and HLS settings (a
// bouquet). A service cannot be deleted while streams use it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { defaultHls, epgUrlsMax, serviceProblem } from '../../state/index.ts';
import type { FastifyRequest } from 'fastify';

import type { Command, HlsSettings, PolicyOverride, ServiceRecord } from '../../state/index.ts';
import { actorOf, principalOf } from '../auth.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses, hlsFor, hlsPatched, withoutDefaults } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';
import { HlsPatchBody, policyOverrideBody } from './policy.ts';

const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' });
const Params = Type.Object({ id: Slug });
const fields = { name: Type.String({ minLength: 1, maxLength: 256 }), policy: policyOverrideBody({ default: {} }), hls: Type.Partial(HlsPatchBody, { additionalProperties: false, default: {} }),
  epgUrls: Type.Array(Type.String({ maxLength: 512 }), { maxItems: epgUrlsMax, default: [], description: 'XMLTV guides (http/https) for the channels of this service' }) };
const CreateBody = Type.Object({ id: Slug, ...fields }, { additionalProperties: false });
const PatchBody = withoutDefaults(Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 }));
const ServiceView = Type.Object({ id: Type.String(), name: Type.String(), policy: Type.Unknown(), hls: Type.Unknown(), epgUrls: Type.Array(Type.String()), streams: Type.Array(Type.String()) });

export const serviceRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const view = (s: ServiceRecord, request: FastifyRequest) => ({
    id: s.id, name: s.name, policy: s.policy, hls: hlsFor(s.hls, principalOf(request).role), epgUrls: [...(s.epgUrls ?? [])],
    streams: Object.values(api.state().streams).filter((st) => st.serviceId === s.id).map((st) => st.id).sort(),
  });
  const found = (id: string): ServiceRecord => {
    const s = Object.hasOwn(api.state().services, id) ? api.state().services[id] : undefined;
    if (s === undefined) throw new ApiError(404, `no service ${id}: GET /api/v1/services lists them`);
    return s;
  };
  const checked = (s: ServiceRecord): ServiceRecord => {
    const problem = serviceProblem(s);
    if (problem !== null) throw new ApiError(400, problem);
    return s;
  };
  const propose = async (request: FastifyRequest, command: Command) => {
    const result = await api.propose(command, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
  };

  app.get('/api/v1/services', { schema: { response: { 200: Type.Array(ServiceView), ...errorResponses } } }, async (request) => {
    await api.read();
    return Object.values(api.state().services).sort((a, b) => a.id.localeCompare(b.id)).map((s) => view(s, request));
  });
  app.get('/api/v1/services/:id', { schema: { params: Params, response: { 200: ServiceView, ...errorResponses } } }, async (request) => {
    await api.read();
    return view(found(request.params.id), request);
  });
  app.post('/api/v1/services', { schema: { body: CreateBody, response: { 201: ServiceView, ...errorResponses } } }, async (request, reply) => {
    const atMs = api.nowMs();
    const b = request.body;
    const service = checked({ id: b.id, name: b.name, policy: b.policy as PolicyOverride, hls: { ...defaultHls, ...(b.hls as Partial<HlsSettings>) }, epgUrls: b.epgUrls, createdAtMs: atMs });
    await propose(request, { type: 'CreateService', atMs, service });
    return reply.code(201).send(view(found(service.id), request));
  });
  app.patch('/api/v1/services/:id', { schema: { params: Params, body: PatchBody, response: { 200: ServiceView, ...errorResponses } } }, async (request) => {
    const old = found(request.params.id);
    const b = request.body;
    const service = checked({
      ...old, ...(b.name === undefined ? {} : { name: b.name }), ...(b.policy === undefined ? {} : { policy: b.policy as PolicyOverride }),
      ...(b.epgUrls === undefined ? {} : { epgUrls: b.epgUrls }),
      hls: hlsPatched(old.hls, b.hls as Partial<HlsSettings> | undefined),
    });
    await propose(request, { type: 'UpdateService', atMs: api.nowMs(), service });
    return view(found(service.id), request);
  });
  app.delete('/api/v1/services/:id', { schema: { params: Params, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    found(request.params.id);
    await propose(request, { type: 'DeleteService', atMs: api.nowMs(), id: request.params.id });
    return reply.code(204).send(null);
  });
};
