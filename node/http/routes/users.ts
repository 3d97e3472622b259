// /api/v1/users (admin): the accounts that log in to the dashboard. The password is hashed here,
// on the node that received it (scrypt, node/auth), and only the hash reaches the replicated log;
// no answer contains it. The state keeps at least one admin (409 otherwise); deleting a user
// revokes their API tokens, and their sessions stop working at the next request.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { hashPassword } from '../../auth/index.ts';
import type { Command, Role, UserRecord } from '../../state/index.ts';
import { actorOf } from '../auth.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

/** Shortest password a user may have. */
export const passwordLengthMin = 12;
export const passwordLengthMax = 1024;

export const RoleSchema = Type.Union([Type.Literal('read-only'), Type.Literal('operator'), Type.Literal('admin')]);
const UserName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: "1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit" });
const Password = Type.String({ minLength: passwordLengthMin, maxLength: passwordLengthMax, description: `at least ${passwordLengthMin} characters` });
const CreateBody = Type.Object({ name: UserName, password: Password, role: RoleSchema }, { additionalProperties: false });
const PatchBody = Type.Partial(Type.Object({ password: Password, role: RoleSchema }), { additionalProperties: false, minProperties: 1 });
const Params = Type.Object({ name: UserName });
const UserView = Type.Object({ name: Type.String(), role: RoleSchema });

function view(user: UserRecord): { name: string; role: Role } {
  return { name: user.name, role: user.role };
}

export const userRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  const config = { role: 'admin' } as const;
  const found = (name: string): UserRecord => {
    const user = Object.hasOwn(api.state().users, name) ? api.state().users[name] : undefined;
    if (user === undefined) throw new ApiError(404, `no user ${name}: GET /api/v1/users lists them`);
    return user;
  };
  const propose = async (request: Parameters<typeof actorOf>[0], command: Command) => {
    const result = await api.propose(command, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
  };

  app.get('/api/v1/users', { config, schema: { response: { 200: Type.Array(UserView), ...errorResponses } } }, async () => {
    await api.read();
    return Object.values(api.state().users).sort((a, b) => a.name.localeCompare(b.name)).map(view);
  });

  app.post('/api/v1/users', { config, schema: { body: CreateBody, response: { 201: UserView, ...errorResponses } } }, async (request, reply) => {
    const { name, password, role } = request.body;
    // Checked before the slow hash; apply() checks again.
    if (Object.hasOwn(api.state().users, name)) throw new ApiError(409, `a user named ${name} already exists: change it with PATCH /api/v1/users/${name}`);
    await propose(request, { type: 'CreateUser', atMs: api.nowMs(), user: { name, passwordHash: await hashPassword(password), role } });
    return reply.code(201).send(view(found(name)));
  });

  app.patch('/api/v1/users/:name', { config, schema: { params: Params, body: PatchBody, response: { 200: UserView, ...errorResponses } } }, async (request) => {
    const { name } = request.params;
    await api.read();
    found(name);
    const { password, role } = request.body;
    await propose(request, {
      type: 'UpdateUser', atMs: api.nowMs(), name,
      ...(password === undefined ? {} : { passwordHash: await hashPassword(password) }),
      ...(role === undefined ? {} : { role }),
    });
    return view(found(name));
  });

  app.delete('/api/v1/users/:name', { config, schema: { params: Params, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const { name } = request.params;
    await api.read();
    found(name);
    await propose(request, { type: 'DeleteUser', atMs: api.nowMs(), name });
    return reply.code(204).send(null);
  });
};
