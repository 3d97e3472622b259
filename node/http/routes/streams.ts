// /api/v1/streams: the operator's channels. POST creates (everything but id, name and sources
// takes its default), PUT replaces, PATCH changes the fields given, DELETE removes; GET shows
// each stream with where it runs and how it is doing (the worker's telemetry).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Static } from 'typebox';

import { sourceSchemes, streamProblem } from '../../state/index.ts';
import type { FastifyRequest } from 'fastify';

import type { ClusterState, Command, Role, StreamRecord } from '../../state/index.ts';
import { actorOf, principalOf } from '../auth.ts';
import { redactedUrl } from '../../auth/index.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { sourceRefusal, sourceUrlLengthMax } from '../sources.ts';
import { errorResponses, NameSchema, withoutDefaults } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';
import { policyOverrideBody } from './policy.ts';

const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'URL-safe id: a-z, 0-9, - and _' });
const SourceBody = Type.Object({
  url: Type.String({ minLength: 1, maxLength: sourceUrlLengthMax, description: `${sourceSchemes.join(', ')}` }),
  priority: Type.Integer({ default: 0, description: 'higher is preferred; ties keep list order' }),
  userAgent: Type.Union([Type.Null(), Type.String({ maxLength: 256 })], { default: null }),
  referrer: Type.Union([Type.Null(), Type.String({ maxLength: 256 })], { default: null }),
}, { additionalProperties: false });
const ProfileBody = Type.Union([
  Type.Literal('copy'),
  Type.Object({ height: Type.Integer(), videoKbps: Type.Integer(), audioKbps: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
], { default: 'copy' });
const streamFields = {
  name: Type.String({ minLength: 1, maxLength: 256 }),
  sources: Type.Array(SourceBody, { minItems: 1, maxItems: 16 }),
  profile: ProfileBody,
  serviceId: Type.Union([Type.Null(), Slug], { default: null }),
  pinGroup: Type.Union([Type.Null(), NameSchema], { default: null }),
  pinNode: Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 128 })], { default: null }),
  priority: Type.Integer({ default: 0 }),
  enabled: Type.Boolean({ default: true }),
  policy: policyOverrideBody({ default: {} }),
};
const CreateBody = Type.Object({ id: Slug, ...streamFields }, { additionalProperties: false });
const ReplaceBody = Type.Object(streamFields, { additionalProperties: false });
const PatchBody = withoutDefaults(Type.Partial(Type.Object(streamFields), { additionalProperties: false, minProperties: 1 }));
const Params = Type.Object({ id: Slug });

export const streamStatuses = ['unplaced', 'starting', 'running', 'failed'] as const;
export const StreamView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('unplaced'), Type.Literal('starting'), Type.Literal('running'), Type.Literal('failed')]),
  nodeId: Type.Union([Type.String(), Type.Null()]),
  epoch: Type.Union([Type.Integer(), Type.Null()]),
  /** When the stream was placed on its current worker (ms since the epoch): the uptime's start. */
  sinceMs: Type.Union([Type.Integer(), Type.Null()]),
  /** The source in use (its URL), as the worker reports it. */
  source: Type.Union([Type.String(), Type.Null()]),
  bitrateKbps: Type.Union([Type.Number(), Type.Null()]),
  restarts: Type.Integer(),
  standbyNodeId: Type.Union([Type.String(), Type.Null()]),
  /** The epoch the standby runs with (the one it takes over with at a switch). */
  standbyEpoch: Type.Union([Type.Integer(), Type.Null()]),
  url: Type.String({ description: 'the stable playlist path on every node' }),
  config: Type.Unknown(),
});

/** A stream's public view: its record and what its worker reports. */
/** `stream` as `role` may see it: a read-only account sees source URLs without credentials. */
function configFor(stream: StreamRecord, role: Role): StreamRecord {
  return role !== 'read-only' ? stream : { ...stream, sources: stream.sources.map((s) => ({ ...s, url: redactedUrl(s.url) })) };
}

export function streamView(api: Pick<ClusterApi, 'streamFigures'>, state: ClusterState, stream: StreamRecord, role: Role): Static<typeof StreamView> {
  const a = state.assignments[stream.id];
  const figures = a === undefined ? undefined : api.streamFigures(a.nodeId).find((f) => f.id === stream.id);
  let status: (typeof streamStatuses)[number] = 'unplaced';
  if (a !== undefined) status = figures?.status === 'running' ? 'running' : figures?.status === 'failed' ? 'failed' : 'starting';
  const sourceIndex = figures?.source === undefined ? NaN : Number(figures.source);
  const source = Number.isInteger(sourceIndex) ? stream.sources[sourceIndex]?.url ?? null : figures?.source ?? null;
  return {
    id: stream.id,
    name: stream.name,
    status,
    nodeId: a?.nodeId ?? null,
    epoch: a?.epoch ?? null,
    sinceMs: a?.sinceMs ?? null,
    source: status === 'unplaced' || source === null ? null : role === 'read-only' ? redactedUrl(source) : source,
    bitrateKbps: figures?.inKbps ?? figures?.outKbps ?? null,
    restarts: figures?.restarts ?? 0,
    standbyNodeId: a?.next?.nodeId ?? null,
    standbyEpoch: a?.next?.epoch ?? null,
    url: `/live/${stream.id}/index.m3u8`,
    config: configFor(stream, role),
  };
}

/** Why a worker would refuse one of the stream's sources (sources.ts), or null. */
export function firstSourceRefusal(stream: Pick<StreamRecord, 'sources'>): string | null {
  for (const source of stream.sources) {
    const refusal = sourceRefusal(source);
    if (refusal !== null) return refusal;
  }
  return null;
}

/** Audio bitrate of a transcode profile that names none. */
export const defaultAudioKbps = 128;

function checked(input: StreamRecord): StreamRecord {
  const profile: StreamRecord['profile'] = input.profile === 'copy' ? 'copy' : { ...input.profile, audioKbps: input.profile.audioKbps ?? defaultAudioKbps };
  const stream = { ...input, profile };
  const problem = streamProblem(stream) ?? firstSourceRefusal(stream);
  if (problem !== null) throw new ApiError(400, problem);
  return stream;
}

export const streamRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const found = (id: string): StreamRecord => {
    const stream = api.state().streams[id];
    if (stream === undefined || !Object.hasOwn(api.state().streams, id)) throw new ApiError(404, `no stream ${id}: GET /api/v1/streams lists them`);
    return stream;
  };
  const propose = async (request: FastifyRequest, command: Command) => {
    const result = await api.propose(command, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
  };

  app.get('/api/v1/streams', { schema: { response: { 200: Type.Array(StreamView), ...errorResponses } } }, async (request) => {
    await api.read();
    const state = api.state();
    return Object.values(state.streams).sort((a, b) => a.id.localeCompare(b.id)).map((s) => streamView(api, state, s, principalOf(request).role));
  });

  app.get('/api/v1/streams/:id', { schema: { params: Params, response: { 200: StreamView, ...errorResponses } } }, async (request) => {
    await api.read();
    return streamView(api, api.state(), found(request.params.id), principalOf(request).role);
  });

  app.post('/api/v1/streams', { schema: { body: CreateBody, response: { 201: StreamView, ...errorResponses } } }, async (request, reply) => {
    const atMs = api.nowMs();
    const stream = checked({ ...request.body, createdAtMs: atMs } as StreamRecord);
    await propose(request, { type: 'CreateStream', atMs, stream });
    return reply.code(201).send(streamView(api, api.state(), found(stream.id), principalOf(request).role));
  });

  app.put('/api/v1/streams/:id', { schema: { params: Params, body: ReplaceBody, response: { 200: StreamView, ...errorResponses } } }, async (request) => {
    const old = found(request.params.id);
    const stream = checked({ ...request.body, id: old.id, createdAtMs: old.createdAtMs } as StreamRecord);
    await propose(request, { type: 'UpdateStream', atMs: api.nowMs(), stream });
    return streamView(api, api.state(), found(stream.id), principalOf(request).role);
  });

  app.patch('/api/v1/streams/:id', { schema: { params: Params, body: PatchBody, response: { 200: StreamView, ...errorResponses } } }, async (request) => {
    const old = found(request.params.id);
    const stream = checked({ ...old, ...request.body } as StreamRecord);
    await propose(request, { type: 'UpdateStream', atMs: api.nowMs(), stream });
    return streamView(api, api.state(), found(stream.id), principalOf(request).role);
  });

  app.delete('/api/v1/streams/:id', { schema: { params: Params, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    found(request.params.id);
    await propose(request, { type: 'DeleteStream', atMs: api.nowMs(), id: request.params.id });
    return reply.code(204).send(null);
  });
};
