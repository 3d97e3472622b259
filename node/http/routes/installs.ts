// Installing a server over SSH from this node (docs/install-ssh.md), admin only:
// POST /api/v1/installs/probe shows the server's host key fingerprint for the operator to
// confirm; POST /api/v1/installs starts a job that logs in with a key (never a password) and
// runs install.sh from this node; GET /api/v1/installs[/:id] follows the jobs of this node.
// The key and its passphrase live only in the job's memory until it has logged in, and never
// appear in a response, a log line or an error message: fastify logs no bodies (its request
// serializer keeps method, URL and addresses), and messages built from ssh2 errors are redacted.
import { randomUUID } from 'node:crypto';

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { newJoinSecret } from '../../auth/index.ts';
import { loadSsh2 } from '../../install/ssh2-module.ts';
import { HostBusyError, installJobStates, InstallJobs, JobsBusyError } from '../../install/install-jobs.ts';
import { installErrorKinds, InstallFailure } from '../../install/ssh-errors.ts';
import { fingerprintPattern, normalizeFingerprint } from '../../install/ssh-host-key.ts';
import { defaultInstallTimeouts, runInstall } from '../../install/ssh-install.ts';
import type { InstallDeps, InstallTimeouts } from '../../install/ssh-install.ts';
import { openSession, probeHostKey } from '../../install/ssh-session.ts';
import { badHostMessage, installBaseUrl } from '../../install/install-script.ts';
import { findNode, findNodeByName } from '../../state/index.ts';
import type { Actor, JoinTokenRecord } from '../../state/index.ts';
import { actorOf } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, NameSchema } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

/** A probe gives up on a server that has not shown its host key by then. */
export const probeTimeoutMs = 10_000;
/** From the TCP connect to the end of the login. */
export const loginTimeoutMs = 20_000;
/** The job's join token: one server, valid long enough for install.sh's slowest run. */
export const installTokenTtlS = 30 * 60;
/** Creating the token through the cluster. */
const tokenTimeoutMs = 30_000;
export const privateKeyCharsMax = 16 * 1024;

const HostSchema = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9._:-]+$', description: 'the server: a host name or an IP address' });
const PortSchema = Type.Integer({ minimum: 1, maximum: 65535, default: 22 });
const PathSchema = Type.String({ minLength: 2, maxLength: 255, pattern: '^/[A-Za-z0-9/._-]+$' });

const ProbeBody = Type.Object({ host: HostSchema, port: PortSchema }, { additionalProperties: false });
const ProbeReply = Type.Object({
  host: Type.String(), port: Type.Integer(),
  hostKeyFingerprint: Type.String({ description: 'OpenSSH format, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the server' }),
  algorithm: Type.String({ description: 'the host key type, e.g. ssh-ed25519' }),
});

const InstallBody = Type.Object({
  host: HostSchema,
  port: PortSchema,
  user: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z_][A-Za-z0-9._-]*$', description: 'who to log in as: root, or a user with passwordless sudo' }),
  privateKey: Type.String({ minLength: 1, maxLength: privateKeyCharsMax, description: 'the private key (OpenSSH or PEM); held in memory until the login, never stored' }),
  passphrase: Type.Optional(Type.String({ maxLength: 1024, description: 'when the key is encrypted' })),
  hostKeyFingerprint: Type.String({ pattern: fingerprintPattern, description: 'the fingerprint the probe showed and the operator confirmed' }),
  name: Type.Optional(NameSchema),
  groups: Type.Array(NameSchema, { maxItems: 32, uniqueItems: true, default: [] }),
  nodeUrl: Type.Optional(Type.String({ maxLength: 300, description: 'this node as the server reaches it (http://ADDR:PORT); default: the address this request came to' })),
  nodeHost: Type.Optional(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$', description: 'install.sh --host: the address the new node advertises' })),
  dataDir: Type.Optional(PathSchema),
  binDir: Type.Optional(PathSchema),
  serviceUser: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}$', description: 'install.sh --user: the system user the node runs as (default ottmesh)' })),
  p2pPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  httpPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  noService: Type.Boolean({ default: false, description: 'install.sh --no-service: join, but start nothing' }),
}, { additionalProperties: false, description: 'Passwords are not accepted: log in with a key.' });

const JobView = Type.Object({
  id: Type.String(), host: Type.String(), port: Type.Integer(), user: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]), groups: Type.Array(Type.String()), nodeUrl: Type.String(), hostKeyFingerprint: Type.String(),
  state: Type.Enum([...installJobStates]),
  startedBy: Type.String(), createdAt: Type.String(), updatedAt: Type.String(),
  progress: Type.Array(Type.Object({ at: Type.String(), line: Type.String() })),
  progressDropped: Type.Integer(),
  error: Type.Union([Type.Object({ kind: Type.Enum([...installErrorKinds]), message: Type.String() }), Type.Null()]),
  nodeId: Type.Union([Type.String(), Type.Null()]),
});
const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** What an operator who sent a password is told. */
export function passwordRefusal(user: string, host: string): string {
  return 'passwords are not accepted (ottmesh never sends or keeps one): log in with a key. Make one with ' +
    "'ssh-keygen -t ed25519 -f ~/.ssh/ottmesh', add it to the server with " +
    `'ssh-copy-id -i ~/.ssh/ottmesh.pub ${user}@${host}' (or append ~/.ssh/ottmesh.pub to ~${user}/.ssh/authorized_keys there), then paste ~/.ssh/ottmesh here`;
}

/** Why `privateKey` cannot log in, or null. Messages name no key material. */
export async function privateKeyProblem(privateKey: Buffer, passphrase: Buffer | null): Promise<string | null> {
  const ssh2 = await loadSsh2();
  let parsed: ReturnType<typeof ssh2.utils.parseKey>;
  try {
    parsed = ssh2.utils.parseKey(privateKey, passphrase ?? undefined);
  } catch {
    parsed = new Error('unreadable');
  }
  if (parsed instanceof Error) {
    if (/no passphrase/i.test(parsed.message)) return 'privateKey is encrypted: give its passphrase';
    if (/decrypt|passphrase|bad/i.test(parsed.message) && passphrase !== null) return 'the passphrase does not decrypt privateKey: check it';
    return 'privateKey is not a private key ssh can read: paste the whole file (e.g. ~/.ssh/id_ed25519), from its -----BEGIN line to its -----END line';
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || !key.isPrivateKey()) return 'privateKey holds a public key (the .pub file): paste the private key, the file without .pub';
  return null;
}

/** The URL the server fetches install.sh from: nodeUrl when given, else the address this
 *  request reached, else this node's advertised URL. */
function nodeBaseUrl(api: ClusterApi, nodeUrl: string | undefined, protocol: string, hostHeader: string | undefined): string {
  if (nodeUrl !== undefined) {
    let url: URL | null;
    try {
      url = new URL(nodeUrl);
    } catch {
      url = null;
    }
    const base = url === null || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '' ? null : installBaseUrl(url.protocol.replace(/:$/, ''), url.host);
    if (base === null) throw new ApiError(400, `nodeUrl must be this node's base URL as the server reaches it, e.g. http://10.0.0.5:8080 (no path), not ${JSON.stringify(nodeUrl.slice(0, 100))}`);
    return base;
  }
  const base = installBaseUrl(protocol, hostHeader) ?? findNode(api.state(), api.nodeId)?.httpUrl ?? null;
  if (base === null) throw new ApiError(400, `${badHostMessage}, or send nodeUrl`);
  return base;
}

function failureStatus(failure: InstallFailure): number {
  return failure.kind === 'timeout' ? 504 : 502;
}

/** The dependencies of one job, acting as `actor` (the token is created and audited as them). */
function installDeps(api: ClusterApi, actor: Actor): InstallDeps {
  return {
    connect: (login, fingerprint) => openSession(login, fingerprint, { timeoutMs: loginTimeoutMs, fromNode: api.name }),
    createJoinToken: async (groups) => {
      const { tokenId, secret, secretHash } = newJoinSecret();
      const atMs = api.nowMs();
      const record: JoinTokenRecord = { id: tokenId, secretHash, expiresAtMs: atMs + installTokenTtlS * 1000, usesLeft: 1, groups: [...groups], createdAtMs: atMs, createdBy: actor.user };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${tokenTimeoutMs / 1000} s`)), tokenTimeoutMs);
      });
      try {
        const result = await Promise.race([api.propose({ type: 'CreateJoinToken', atMs, token: record }, actor), timeout]);
        if (!result.ok) throw new InstallFailure('token-refused', `the cluster refused the join token: ${result.reason}`);
      } catch (err) {
        if (err instanceof InstallFailure) throw err;
        throw new InstallFailure('token-refused', `the cluster could not create a join token (${(err as Error).message}): check that it has a leader (Cluster page), then try again`);
      } finally {
        clearTimeout(timer);
      }
      return api.newJoinTokenString(record, secret);
    },
    nodeNamed: (name) => {
      const node = findNodeByName(api.state(), name);
      return node === null ? null : { id: node.id, alive: api.membership(node.id)?.state === 'alive' };
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

export interface SshInstallRoutesOptions {
  readonly api: ClusterApi;
  /** Default: defaultInstallTimeouts. */
  readonly timeouts?: InstallTimeouts;
}

export const sshInstallRoutes: FastifyPluginAsyncTypebox<SshInstallRoutesOptions> = async (app, { api, timeouts = defaultInstallTimeouts }) => {
  const jobs = new InstallJobs(
    (spec, secrets, actor, report, signal) => runInstall(spec, secrets, installDeps(api, actor), report, timeouts, signal),
    { nowMs: () => api.nowMs(), newId: () => randomUUID() },
  );
  app.addHook('onClose', () => jobs.close());

  app.post('/api/v1/installs/probe', {
    config: { role: 'admin' },
    schema: { body: ProbeBody, response: { 200: ProbeReply, ...errorResponses } },
  }, async (request) => {
    const { host, port } = request.body;
    try {
      const seen = await probeHostKey({ host, port }, { timeoutMs: probeTimeoutMs, fromNode: api.name });
      return { host, port, hostKeyFingerprint: seen.fingerprint, algorithm: seen.algorithm };
    } catch (err) {
      if (err instanceof InstallFailure) throw new ApiError(failureStatus(err), err.message);
      throw err;
    }
  });

  app.post('/api/v1/installs', {
    config: { role: 'admin' },
    // Before the schema, which would only say "unknown field": say why and what to do instead.
    preValidation: async (request) => {
      const body = request.body as Record<string, unknown> | null;
      if (typeof body === 'object' && body !== null && Object.hasOwn(body, 'password')) {
        throw new ApiError(400, passwordRefusal(typeof body['user'] === 'string' ? body['user'] : 'USER', typeof body['host'] === 'string' ? body['host'] : 'HOST'));
      }
    },
    schema: { body: InstallBody, response: { 202: JobView, ...errorResponses } },
  }, async (request, reply) => {
    const body = request.body;
    const fingerprint = normalizeFingerprint(body.hostKeyFingerprint)!;
    const secrets = { privateKey: Buffer.from(body.privateKey, 'utf8'), passphrase: body.passphrase === undefined || body.passphrase === '' ? null : Buffer.from(body.passphrase, 'utf8') };
    const problem = await privateKeyProblem(secrets.privateKey, secrets.passphrase);
    if (problem !== null) {
      secrets.privateKey.fill(0);
      secrets.passphrase?.fill(0);
      throw new ApiError(400, problem);
    }
    const baseUrl = nodeBaseUrl(api, body.nodeUrl, request.protocol, request.headers.host);
    if (body.name !== undefined && findNodeByName(api.state(), body.name) !== null) {
      throw new ApiError(409, `a node named ${body.name} is already in the cluster: give the new server another name`);
    }
    const spec = {
      host: body.host, port: body.port, user: body.user, hostKeyFingerprint: fingerprint, name: body.name ?? null, groups: body.groups, baseUrl,
      script: { dataDir: body.dataDir, binDir: body.binDir, serviceUser: body.serviceUser, nodeHost: body.nodeHost, p2pPort: body.p2pPort, httpPort: body.httpPort, noService: body.noService },
    };
    try {
      return reply.code(202).send(jobs.start(spec, secrets, actorOf(request)));
    } catch (err) {
      if (err instanceof HostBusyError) throw new ApiError(409, err.message);
      if (err instanceof JobsBusyError) throw new ApiError(429, err.message);
      throw err;
    }
  });

  app.get('/api/v1/installs', {
    config: { role: 'admin' },
    schema: { response: { 200: Type.Object({ jobs: Type.Array(JobView) }), ...errorResponses } },
  }, async () => ({ jobs: jobs.list() }));

  app.get('/api/v1/installs/:id', {
    config: { role: 'admin' },
    schema: { params: JobParams, response: { 200: JobView, ...errorResponses } },
  }, async (request) => {
    const job = jobs.get(request.params.id);
    if (job === null) throw new ApiError(404, `no install job ${request.params.id} on this node (jobs live on the node that runs them, until it restarts)`);
    return job;
  });
};
