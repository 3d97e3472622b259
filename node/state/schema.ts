// TypeBox schemas of the commands and of the whole state, for decoding what the log and
// snapshots carry. Shapes and size bounds only: the rules that need the state (token expiry,
// names in use, setting ranges) live in apply(), which refuses with a reason instead.
import { Type } from 'typebox';
import type { Static, TSchema } from 'typebox';

import type { ApiTokenRecord, ClusterSettings, ClusterState, Command, JoinTokenRecord, NodeRecord, UserRecord } from './types.ts';

/** Bounds on what one command may carry, so one entry cannot bloat every replica. */
export const idLengthMax = 128;
export const textLengthMax = 256;
export const urlLengthMax = 512;
export const addrsMax = 32;
export const groupsMax = 64;

const Id = Type.String({ minLength: 1, maxLength: idLengthMax });
const Text = Type.String({ maxLength: textLengthMax });
const Url = Type.String({ maxLength: urlLengthMax });
const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Ms = Type.Integer({ minimum: 0 });
const Groups = Type.Array(Text, { maxItems: groupsMax });
const closed = { additionalProperties: false } as const;

export const NodeRecordSchema = Type.Object({
  id: Id, name: Text, groups: Groups, addrs: Type.Array(Url, { maxItems: addrsMax }), httpUrl: Url, enabled: Type.Boolean(), joinedAtMs: Ms,
}, closed);

export const JoinTokenRecordSchema = Type.Object({
  id: Id, secretHash: Hash, expiresAtMs: Ms, usesLeft: Type.Integer({ minimum: 0 }), groups: Groups, createdAtMs: Ms, createdBy: Text,
}, closed);

const RoleSchema = Type.Literal('admin');
export const UserRecordSchema = Type.Object({ name: Id, passwordHash: Type.String({ maxLength: urlLengthMax }), role: RoleSchema }, closed);
export const ApiTokenRecordSchema = Type.Object({ id: Id, secretHash: Hash, user: Id, role: RoleSchema, createdAtMs: Ms }, closed);

const settingsFields = {
  votersTarget: Type.Union([Type.Literal(3), Type.Literal(5)]),
  suspectAfterS: Type.Number(),
  downAfterS: Type.Number(),
  replaceDownVoterAfterS: Type.Number(),
};
export const ClusterSettingsSchema = Type.Object(settingsFields, closed);

/** One schema per command type, so a decode error names the field of the right command (a
 *  union's errors list every alternative). */
export const commandSchemas = {
  InitCluster: command('InitCluster', { clusterId: Id, node: NodeRecordSchema, admin: UserRecordSchema, adminToken: ApiTokenRecordSchema }),
  CreateJoinToken: command('CreateJoinToken', { token: JoinTokenRecordSchema }),
  JoinNode: command('JoinNode', { tokenId: Id, secretHash: Hash, node: NodeRecordSchema }),
  UpdateNodeAddrs: command('UpdateNodeAddrs', { id: Id, addrs: Type.Array(Url, { maxItems: addrsMax }), httpUrl: Url }),
  SetNodeEnabled: command('SetNodeEnabled', { id: Id, enabled: Type.Boolean() }),
  RemoveNode: command('RemoveNode', { id: Id }),
  UpdateSettings: command('UpdateSettings', { settings: Type.Partial(Type.Object(settingsFields, closed)) }),
} as const;

export type CommandType = Command['type'];
export const commandTypes = Object.keys(commandSchemas) as CommandType[];

export const ClusterStateSchema = Type.Object({
  clusterId: Type.String({ maxLength: idLengthMax }),
  nodes: Type.Record(Type.String(), NodeRecordSchema),
  joinTokens: Type.Record(Type.String(), JoinTokenRecordSchema),
  users: Type.Record(Type.String(), UserRecordSchema),
  apiTokens: Type.Record(Type.String(), ApiTokenRecordSchema),
  settings: ClusterSettingsSchema,
}, closed);

function command<const T extends string, const P extends Record<string, TSchema>>(type: T, fields: P) {
  return Type.Object({ type: Type.Literal(type), atMs: Ms, ...fields }, closed);
}

// Compile-time checks that what a schema admits is the contract's type (types.ts): if either
// drifts, these lines stop compiling.
type Admits<S extends TSchema, T> = [Static<S>] extends [T] ? true : false;
type AllTrue<B extends boolean> = false extends B ? false : true;
const schemasMatchContract: [
  Admits<typeof NodeRecordSchema, NodeRecord>, Admits<typeof JoinTokenRecordSchema, JoinTokenRecord>,
  Admits<typeof UserRecordSchema, UserRecord>, Admits<typeof ApiTokenRecordSchema, ApiTokenRecord>,
  Admits<typeof ClusterSettingsSchema, ClusterSettings>, Admits<typeof ClusterStateSchema, ClusterState>,
  AllTrue<{ [K in CommandType]: Admits<(typeof commandSchemas)[K], Extract<Command, { type: K }>> }[CommandType]>,
] = [true, true, true, true, true, true, true];
void schemasMatchContract;
