// Rolling upgrades (docs/upgrade.md). The operator's side, on the node that coordinates:
//   GET  /api/v1/upgrade             the rollout under way or the last one, and the executables
//                                    this node can roll out (uploaded, and the one it runs)
//   PUT  /api/v1/upgrade/executable  upload an executable (application/octet-stream; admin)
//   POST /api/v1/upgrade             {sha256?, dryRun?}: plan and start a rollout (admin)
// Node to node (members only: the internal token):
//   GET  /internal/v1/upgrade/node                 what this node runs, whether it is caught up
//   POST /internal/v1/upgrade                      fetch, check and install an executable, restart
//   GET  /internal/v1/upgrade/executable?sha256=   the executable a rollout hands out
//   POST /internal/v1/upgrade/transfer-leadership  {to}: the leader hands over before it restarts
import { createReadStream } from 'node:fs';

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { checkInternalAuth } from '../../hls/index.ts';
import { executableBytesMax, UpgradeError } from '../../upgrade/index.ts';
import type { ExecutableInfo, Rollout, UpgradeParts } from '../../upgrade/index.ts';
import { actorOf } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the executable, 64 lowercase hex digits' });
const Build = Type.Object({ version: Type.String(), commit: Type.String() });
const Executable = Type.Object({ sha256: Type.String(), version: Type.String(), commit: Type.String(), bytes: Type.Integer() });
const Step = Type.Object({
  nodeId: Type.String(),
  name: Type.String(),
  phase: Type.Union([Type.Literal('pending'), Type.Literal('draining'), Type.Literal('upgrading'), Type.Literal('waiting-health'), Type.Literal('done'), Type.Literal('failed')]),
  from: Build,
  to: Build,
  executable: Type.Union([Type.String(), Type.Null()]),
  upgrade: Type.Boolean({ description: 'false: it ran the target already and is skipped' }),
  wasDraining: Type.Boolean(),
  startedAtMs: Type.Union([Type.Number(), Type.Null()]),
  endedAtMs: Type.Union([Type.Number(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
});
const RolloutBody = Type.Object({
  id: Type.String(),
  coordinatorId: Type.String(),
  coordinatorName: Type.String(),
  startedBy: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  target: Executable,
  healthTimeoutS: Type.Number(),
  startedAtMs: Type.Number(),
  endedAtMs: Type.Union([Type.Number(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  steps: Type.Array(Step),
});
const StatusBody = Type.Object({
  rollout: Type.Union([RolloutBody, Type.Null()]),
  uploaded: Type.Union([Executable, Type.Null()]),
  running: Type.Union([Executable, Type.Null()]),
});
const StartBody = Type.Object({
  sha256: Type.Optional(Sha256),
  dryRun: Type.Optional(Type.Boolean({ description: 'plan only: answer with the rollout as it would run' })),
  healthTimeoutS: Type.Optional(Type.Integer({ minimum: 10, maximum: 3600, description: 'how long each restarted node may take to be healthy (default 60)' })),
}, { additionalProperties: false });
const InstallBody = Type.Object({
  url: Type.String({ minLength: 8, maxLength: 2048 }),
  sha256: Sha256,
  version: Type.String({ minLength: 1, maxLength: 128 }),
  commit: Type.String({ minLength: 1, maxLength: 128 }),
  coordinator: Type.String({ minLength: 1, maxLength: 128 }),
}, { additionalProperties: false });
const TransferBody = Type.Object({ to: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

function rolloutView(r: Rollout) {
  const { actor, target, steps, ...rest } = r;
  return { ...rest, startedBy: actor?.user ?? null, target: executableView(target), steps: [...steps] };
}

function executableView(e: Pick<ExecutableInfo, 'sha256' | 'version' | 'commit' | 'bytes'>) {
  return { sha256: e.sha256, version: e.version, commit: e.commit, bytes: e.bytes };
}

/** Runs `work`, turning an UpgradeError into the API error it deserves. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UpgradeError) throw new ApiError(err.status, err.message, err.status === 503 ? 1 : null);
    throw err;
  }
}

export const upgradeRoutes: FastifyPluginAsyncTypebox<{ upgrade: UpgradeParts }> = async (app, { upgrade }) => {
  const { agent, coordinator } = upgrade;
  // Encapsulated in this plugin: the upload's body reaches the handler as a stream, bounded there.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  const internal = (header: string | undefined) => {
    const check = checkInternalAuth(header, upgrade.internalToken());
    if (!check.ok) throw new ApiError(401, check.message);
  };

  app.get('/api/v1/upgrade', { schema: { response: { 200: StatusBody, ...errorResponses } } }, async () => {
    const [uploaded, running] = await Promise.all([coordinator.uploaded(), coordinator.running()]);
    const rollout = coordinator.rollout;
    return { rollout: rollout === null ? null : rolloutView(rollout), uploaded: uploaded === null ? null : executableView(uploaded), running: running === null ? null : executableView(running) };
  });

  app.put('/api/v1/upgrade/executable', {
    config: { role: 'admin' },
    schema: { response: { 201: Executable, ...errorResponses } },
  }, async (request, reply) => {
    if (request.headers['content-type']?.split(';')[0]?.trim() !== 'application/octet-stream') {
      throw new ApiError(415, 'send the executable as the body with Content-Type: application/octet-stream');
    }
    const declared = Number(request.headers['content-length'] ?? NaN);
    if (declared > executableBytesMax) throw new ApiError(413, `the executable is larger than ${executableBytesMax / (1024 * 1024)} MB: is it the right file?`);
    const stored = await guarded(() => coordinator.upload(request.body as import('node:stream').Readable));
    return reply.code(201).send(executableView(stored));
  });

  app.post('/api/v1/upgrade', {
    config: { role: 'admin' },
    schema: { body: StartBody, response: { 200: Type.Object({ rollout: RolloutBody }), 202: Type.Object({ rollout: RolloutBody }), ...errorResponses } },
  }, async (request, reply) => {
    const rollout = await guarded(() => coordinator.start(request.body ?? {}, actorOf(request)));
    return reply.code(request.body?.dryRun === true ? 200 : 202).send({ rollout: rolloutView(rollout) });
  });

  app.get('/internal/v1/upgrade/node', async (request) => {
    internal(request.headers.authorization);
    return agent.report();
  });

  app.post('/internal/v1/upgrade', { schema: { body: InstallBody } }, async (request, reply) => {
    internal(request.headers.authorization);
    const { url, sha256, version, commit, coordinator: by } = request.body;
    if (!/^https?:\/\//.test(url)) throw new ApiError(400, `url must be the coordinator's http(s) URL of the executable, not ${url.slice(0, 80)}`);
    await guarded(() => agent.install({ sha256, version, commit }, { url, token: upgrade.internalToken() }, by));
    agent.restartSoon();
    return reply.code(202).send({ restarting: true });
  });

  app.get('/internal/v1/upgrade/executable', {
    schema: { querystring: Type.Object({ sha256: Sha256 }) },
  }, async (request, reply) => {
    internal(request.headers.authorization);
    const file = await coordinator.executableFor(request.query.sha256);
    if (file === null) throw new ApiError(404, `this node has no executable with sha256 ${request.query.sha256}`);
    return reply.headers({ 'content-type': 'application/octet-stream', 'content-length': String(file.bytes) }).send(createReadStream(file.path));
  });

  app.post('/internal/v1/upgrade/transfer-leadership', { schema: { body: TransferBody } }, async (request, reply) => {
    internal(request.headers.authorization);
    await guarded(() => agent.transferLeadership(request.body.to));
    return reply.code(202).send({ transferring: request.body.to });
  });

  app.addHook('onReady', async () => {
    coordinator.resume().catch((err: unknown) => agent.log(`upgrade: could not resume the stored rollout: ${(err as Error).message}`));
  });
  app.addHook('onClose', async () => coordinator.stop());
};
