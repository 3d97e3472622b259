// TypeBox schemas of the commands and of the whole state, for decoding what the log and
// snapshots carry. Shapes and size bounds only: the rules that need the state (token expiry,
// names in use, setting ranges) live in apply(), which refuses with a reason instead.
import { Type } from 'typebox';
import type { Static, TSchema } from 'typebox';

import type { Assignment, HlsSettings, ServiceRecord, StreamRecord } from './stream-types.ts';
import { auditEntriesMax, auditPageSize, auditSummaryLengthMax } from './audit.ts';
import { floatingAddressLengthMax, interfaceNameLengthMax } from './floating-address.ts';
import type { Actor, ApiTokenRecord, AuditEntry, ClusterSettings, ClusterState, Command, JoinTokenRecord, LineRecord, NodeRecord, UserRecord } from './types.ts';

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
/** A dashboard session's id (node/auth/session.ts: 16 random bytes, base64url). */
const SessionId = Type.String({ minLength: 1, maxLength: 64 });
const Groups = Type.Array(Text, { maxItems: groupsMax });
const closed = { additionalProperties: false } as const;

export const NodeRecordSchema = Type.Object({
  id: Id, name: Text, groups: Groups, addrs: Type.Array(Url, { maxItems: addrsMax }), httpUrl: Url, enabled: Type.Boolean(), joinedAtMs: Ms,
}, closed);

export const JoinTokenRecordSchema = Type.Object({
  id: Id, secretHash: Hash, expiresAtMs: Ms, usesLeft: Type.Integer({ minimum: 0 }), groups: Groups, createdAtMs: Ms, createdBy: Text,
}, closed);

const RoleSchema = Type.Union([Type.Literal('read-only'), Type.Literal('operator'), Type.Literal('admin')]);
const PasswordHash = Type.String({ maxLength: urlLengthMax });
export const UserRecordSchema = Type.Object({ name: Id, passwordHash: PasswordHash, role: RoleSchema }, closed);
export const ApiTokenRecordSchema = Type.Object({ id: Id, name: Type.Optional(Type.String({ maxLength: 64 })), secretHash: Hash, user: Id, role: RoleSchema, createdAtMs: Ms }, closed);
const Via = Type.Union([Type.Literal('token'), Type.Literal('session')]);
export const ActorSchema = Type.Object({ user: Id, role: RoleSchema, via: Via, tokenId: Type.Union([Id, Type.Null()]) }, closed);
export const AuditEntrySchema = Type.Object({
  id: Type.Integer({ minimum: 1 }), atMs: Ms, user: Id, role: Type.Union([RoleSchema, Type.Null()]), via: Via, tokenId: Type.Union([Id, Type.Null()]),
  action: Type.String({ minLength: 1, maxLength: 64 }), target: Type.String({ maxLength: idLengthMax }), summary: Type.String({ maxLength: auditSummaryLengthMax }),
}, closed);

const settingsFields = {
  votersTarget: Type.Union([Type.Literal(3), Type.Literal(5)]),
  suspectAfterS: Type.Number(),
  downAfterS: Type.Number(),
  replaceDownVoterAfterS: Type.Number(),
  // Shapes only; settingsProblem() checks the values.
  floatingAddress: Type.Union([Type.String({ maxLength: floatingAddressLengthMax }), Type.Null()]),
  floatingInterface: Type.Union([Type.String({ maxLength: interfaceNameLengthMax }), Type.Null()]),
};
export const ClusterSettingsSchema = Type.Object(settingsFields, closed);

// Channels (stream-types.ts). Value rules live in stream-rules.ts; these are shapes and bounds.
const Slug = Type.String({ minLength: 1, maxLength: 64 });
const OptionalText = Type.Union([Text, Type.Null()]);
const SourceSchema = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048 }), priority: Type.Integer(), userAgent: OptionalText, referrer: OptionalText,
}, closed);
const ProfileSchema = Type.Union([
  Type.Literal('copy'),
  Type.Object({ height: Type.Integer(), videoKbps: Type.Integer(), audioKbps: Type.Integer() }, closed),
]);
export const PolicyFields = {
  strategy: Type.Union([Type.Literal('spread'), Type.Literal('binpack')]),
  groups: Type.Array(Text, { maxItems: groupsMax }),
  cpuCeilPct: Type.Number(), memCeilPct: Type.Number(), maxStreamsPerNode: Type.Integer(), stickiness: Type.Number(),
  rebalanceMovesPerMin: Type.Integer(), hotStandby: Type.Boolean(),
};
const PolicyOverrideSchema = Type.Partial(Type.Object(PolicyFields, closed));
export const HlsSettingsSchema = Type.Object({
  segmentS: Type.Number(), windowSegments: Type.Integer(), mode: Type.Union([Type.Literal('proxy'), Type.Literal('redirect')]),
  signingSecret: Type.Union([Type.String({ maxLength: textLengthMax }), Type.Null()]),
}, closed);
export const StreamRecordSchema = Type.Object({
  id: Slug, name: Text, sources: Type.Array(SourceSchema, { maxItems: 16 }), profile: ProfileSchema, serviceId: Type.Union([Slug, Type.Null()]),
  pinGroup: OptionalText, pinNode: Type.Union([Id, Type.Null()]), priority: Type.Integer(), enabled: Type.Boolean(), policy: PolicyOverrideSchema, createdAtMs: Ms,
}, closed);
export const epgUrlsMax = 8;
export const ServiceRecordSchema = Type.Object({ id: Slug, name: Text, policy: PolicyOverrideSchema, hls: HlsSettingsSchema, epgUrls: Type.Optional(Type.Array(Url, { maxItems: epgUrlsMax })), createdAtMs: Ms }, closed);
const GroupRecordSchema = Type.Object({ name: Text, priority: Type.Integer() }, closed);
const NodeAdminSchema = Type.Object({ draining: Type.Boolean(), weight: Type.Number() }, closed);
const Epoch = Type.Integer({ minimum: 0 });
export const AssignmentSchema = Type.Object({
  streamId: Slug, nodeId: Id, epoch: Epoch, base: Type.Integer({ minimum: 0 }), firstIndex: Type.Integer({ minimum: 0 }),
  next: Type.Union([Type.Object({ nodeId: Id, epoch: Epoch }, closed), Type.Null()]), sealed: Type.Boolean(), sinceMs: Ms,
}, closed);

// Viewer lines (issue 5); the value rules are in lines-apply.ts.
export const LineRecordSchema = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }), passwordHash: Type.String({ minLength: 1, maxLength: urlLengthMax }),
  maxConnections: Type.Integer({ minimum: 1 }), expiresAtMs: Type.Union([Ms, Type.Null()]), enabled: Type.Boolean(), createdAtMs: Ms,
}, closed);

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
  SetNodeAdmin: command('SetNodeAdmin', { id: Id, draining: Type.Optional(Type.Boolean()), weight: Type.Optional(Type.Number()), groups: Type.Optional(Groups) }),
  CreateStream: command('CreateStream', { stream: StreamRecordSchema }),
  UpdateStream: command('UpdateStream', { stream: StreamRecordSchema }),
  DeleteStream: command('DeleteStream', { id: Slug }),
  CreateService: command('CreateService', { service: ServiceRecordSchema }),
  UpdateService: command('UpdateService', { service: ServiceRecordSchema }),
  DeleteService: command('DeleteService', { id: Slug }),
  PutGroup: command('PutGroup', { group: GroupRecordSchema }),
  DeleteGroup: command('DeleteGroup', { name: Text }),
  UpdatePolicy: command('UpdatePolicy', { policy: PolicyOverrideSchema, hls: Type.Optional(HlsSettingsSchema) }),
  AssignStream: command('AssignStream', { streamId: Slug, nodeId: Id, base: Type.Integer({ minimum: 0 }) }),
  SetNextWorker: command('SetNextWorker', { streamId: Slug, nodeId: Type.Union([Id, Type.Null()]) }),
  SealStream: command('SealStream', { streamId: Slug, epoch: Epoch }),
  SwitchStream: command('SwitchStream', { streamId: Slug, epoch: Epoch, base: Type.Integer({ minimum: 0 }), firstIndex: Type.Integer({ minimum: 0 }) }),
  UnassignStream: command('UnassignStream', { streamId: Slug }),
  CreateLine: command('CreateLine', { line: LineRecordSchema }),
  UpdateLine: command('UpdateLine', { line: LineRecordSchema }),
  DeleteLine: command('DeleteLine', { username: Type.String({ minLength: 1, maxLength: 64 }) }),
  CreateUser: command('CreateUser', { user: UserRecordSchema }),
  UpdateUser: command('UpdateUser', { name: Id, passwordHash: Type.Optional(PasswordHash), role: Type.Optional(RoleSchema) }),
  DeleteUser: command('DeleteUser', { name: Id }),
  CreateApiToken: command('CreateApiToken', { token: ApiTokenRecordSchema }),
  DeleteApiToken: command('DeleteApiToken', { id: Id }),
  RecordLogin: command('RecordLogin', {
    user: Id, role: Type.Union([RoleSchema, Type.Null()]), ok: Type.Boolean(), from: Type.String({ maxLength: 64 }), unrecorded: Type.Integer({ minimum: 0 }),
  }),
  RevokeSession: command('RevokeSession', { sessionId: SessionId, user: Id, expiresAtMs: Ms }),
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
  streams: Type.Record(Type.String(), StreamRecordSchema),
  services: Type.Record(Type.String(), ServiceRecordSchema),
  groups: Type.Record(Type.String(), GroupRecordSchema),
  policy: PolicyOverrideSchema,
  hls: HlsSettingsSchema,
  nodeAdmin: Type.Record(Type.String(), NodeAdminSchema),
  assignments: Type.Record(Type.String(), AssignmentSchema),
  lastEpoch: Epoch,
  lines: Type.Record(Type.String(), LineRecordSchema),
  audit: Type.Array(Type.Array(AuditEntrySchema, { minItems: 1, maxItems: auditPageSize }), { maxItems: Math.ceil(auditEntriesMax / auditPageSize) + 1 }),
  revokedSessions: Type.Record(Type.String(), Ms),
}, closed);

function command<const T extends string, const P extends Record<string, TSchema>>(type: T, fields: P) {
  return Type.Object({ type: Type.Literal(type), atMs: Ms, actor: Type.Optional(ActorSchema), ...fields }, closed);
}

// Compile-time checks that what a schema admits is the contract's type (types.ts): if either
// drifts, these lines stop compiling.
type Admits<S extends TSchema, T> = [Static<S>] extends [T] ? true : false;
type AllTrue<B extends boolean> = false extends B ? false : true;
const schemasMatchContract: [
  Admits<typeof NodeRecordSchema, NodeRecord>, Admits<typeof JoinTokenRecordSchema, JoinTokenRecord>,
  Admits<typeof UserRecordSchema, UserRecord>, Admits<typeof ApiTokenRecordSchema, ApiTokenRecord>,
  Admits<typeof ClusterSettingsSchema, ClusterSettings>, Admits<typeof ClusterStateSchema, ClusterState>,
  Admits<typeof StreamRecordSchema, StreamRecord>, Admits<typeof ServiceRecordSchema, ServiceRecord>,
  Admits<typeof HlsSettingsSchema, HlsSettings>, Admits<typeof AssignmentSchema, Assignment>, Admits<typeof LineRecordSchema, LineRecord>,
  Admits<typeof ActorSchema, Actor>, Admits<typeof AuditEntrySchema, AuditEntry>,
  AllTrue<{ [K in CommandType]: Admits<(typeof commandSchemas)[K], Extract<Command, { type: K }>> }[CommandType]>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true];
void schemasMatchContract;
