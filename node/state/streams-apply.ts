// apply() for the channel commands (issue 4): the operator's streams, services, groups, policy
// and node admin state, and the leader's assignment decisions with their epochs (fencing) and
// public numbering bases (docs/streams.md). Pure; a refusal leaves the state object as it was.
import { groupsProblem, nameProblem } from './names.ts';
import { own, withEntry, withoutEntry } from './state.ts';
import { groupsMax, hlsProblem, policyProblem, serviceProblem, servicesMax, streamProblem, streamsMax } from './stream-rules.ts';
import type { Assignment } from './stream-types.ts';
import type { ApplyResult, ClusterState, Command, NodeAdmin } from './types.ts';

export interface Applied {
  readonly state: ClusterState;
  readonly result: ApplyResult;
}

type Of<T extends Command['type']> = Extract<Command, { type: T }>;

const ok: ApplyResult = { ok: true };
export const defaultNodeAdmin: NodeAdmin = { draining: false, weight: 1 };
export const weightMax = 100;

function refuse(state: ClusterState, reason: string): Applied {
  return { state, result: { ok: false, reason } };
}

export function setNodeAdmin(state: ClusterState, c: Of<'SetNodeAdmin'>): Applied {
  const node = own(state.nodes, c.id);
  if (node === undefined) return refuse(state, `unknown node ${c.id}`);
  if (c.weight !== undefined && !(c.weight > 0 && c.weight <= weightMax)) return refuse(state, `weight must be more than 0 and at most ${weightMax}, not ${c.weight}`);
  if (c.groups !== undefined) {
    const problem = groupsProblem(c.groups);
    if (problem !== null) return refuse(state, problem);
  }
  const admin = own(state.nodeAdmin, c.id) ?? defaultNodeAdmin;
  const next: NodeAdmin = { draining: c.draining ?? admin.draining, weight: c.weight ?? admin.weight };
  const nodes = c.groups === undefined ? state.nodes : withEntry(state.nodes, c.id, { ...node, groups: c.groups });
  return { state: { ...state, nodes, nodeAdmin: withEntry(state.nodeAdmin, c.id, next) }, result: ok };
}

export function createStream(state: ClusterState, c: Of<'CreateStream'>): Applied {
  if (own(state.streams, c.stream.id) !== undefined) return refuse(state, `stream ${c.stream.id} exists already: change it with PUT /api/v1/streams/${c.stream.id}`);
  if (Object.keys(state.streams).length >= streamsMax) return refuse(state, `the cluster has ${streamsMax} streams, the most it takes`);
  return putStream(state, { ...c.stream, createdAtMs: c.atMs });
}

export function updateStream(state: ClusterState, c: Of<'UpdateStream'>): Applied {
  const old = own(state.streams, c.stream.id);
  if (old === undefined) return refuse(state, `unknown stream ${c.stream.id}`);
  return putStream(state, { ...c.stream, createdAtMs: old.createdAtMs });
}

function putStream(state: ClusterState, stream: Of<'CreateStream'>['stream']): Applied {
  const problem = streamProblem(stream);
  if (problem !== null) return refuse(state, problem);
  if (stream.serviceId !== null && own(state.services, stream.serviceId) === undefined) return refuse(state, `unknown service ${stream.serviceId}: create it first`);
  return { state: { ...state, streams: withEntry(state.streams, stream.id, stream) }, result: ok };
}

export function deleteStream(state: ClusterState, c: Of<'DeleteStream'>): Applied {
  if (own(state.streams, c.id) === undefined) return refuse(state, `unknown stream ${c.id}`);
  return { state: { ...state, streams: withoutEntry(state.streams, c.id), assignments: withoutEntry(state.assignments, c.id) }, result: ok };
}

export function createService(state: ClusterState, c: Of<'CreateService'>): Applied {
  if (own(state.services, c.service.id) !== undefined) return refuse(state, `service ${c.service.id} exists already`);
  if (Object.keys(state.services).length >= servicesMax) return refuse(state, `the cluster has ${servicesMax} services, the most it takes`);
  const service = { ...c.service, createdAtMs: c.atMs };
  const problem = serviceProblem(service);
  if (problem !== null) return refuse(state, problem);
  return { state: { ...state, services: withEntry(state.services, service.id, service) }, result: ok };
}

export function updateService(state: ClusterState, c: Of<'UpdateService'>): Applied {
  const old = own(state.services, c.service.id);
  if (old === undefined) return refuse(state, `unknown service ${c.service.id}`);
  const service = { ...c.service, createdAtMs: old.createdAtMs };
  const problem = serviceProblem(service);
  if (problem !== null) return refuse(state, problem);
  return { state: { ...state, services: withEntry(state.services, service.id, service) }, result: ok };
}

export function deleteService(state: ClusterState, c: Of<'DeleteService'>): Applied {
  if (own(state.services, c.id) === undefined) return refuse(state, `unknown service ${c.id}`);
  const user = Object.values(state.streams).find((s) => s.serviceId === c.id);
  if (user !== undefined) return refuse(state, `service ${c.id} still has streams (${user.id}, ...): move or delete them first`);
  return { state: { ...state, services: withoutEntry(state.services, c.id) }, result: ok };
}

export function putGroup(state: ClusterState, c: Of<'PutGroup'>): Applied {
  const problem = nameProblem('group name', c.group.name);
  if (problem !== null) return refuse(state, problem);
  if (!Number.isInteger(c.group.priority)) return refuse(state, `group priority must be an integer, not ${c.group.priority}`);
  if (own(state.groups, c.group.name) === undefined && Object.keys(state.groups).length >= groupsMax) return refuse(state, `the cluster has ${groupsMax} groups, the most it takes`);
  return { state: { ...state, groups: withEntry(state.groups, c.group.name, c.group) }, result: ok };
}

export function deleteGroup(state: ClusterState, c: Of<'DeleteGroup'>): Applied {
  if (own(state.groups, c.name) === undefined) return refuse(state, `unknown group ${c.name}`);
  return { state: { ...state, groups: withoutEntry(state.groups, c.name) }, result: ok };
}

export function updatePolicy(state: ClusterState, c: Of<'UpdatePolicy'>): Applied {
  const problem = policyProblem(c.policy) ?? (c.hls === undefined ? null : hlsProblem(c.hls));
  if (problem !== null) return refuse(state, problem);
  return { state: { ...state, policy: c.policy, hls: c.hls ?? state.hls }, result: ok };
}

// ---- the leader's decisions ------------------------------------------------------------------

function workerProblem(state: ClusterState, streamId: string, nodeId: string): string | null {
  if (own(state.streams, streamId) === undefined) return `unknown stream ${streamId}`;
  if (own(state.nodes, nodeId) === undefined) return `unknown node ${nodeId}`;
  return null;
}

function withAssignment(state: ClusterState, a: Assignment, lastEpoch = state.lastEpoch): Applied {
  return { state: { ...state, assignments: withEntry(state.assignments, a.streamId, a), lastEpoch }, result: ok };
}

export function assignStream(state: ClusterState, c: Of<'AssignStream'>): Applied {
  const problem = workerProblem(state, c.streamId, c.nodeId);
  if (problem !== null) return refuse(state, problem);
  if (own(state.assignments, c.streamId) !== undefined) return refuse(state, `stream ${c.streamId} has a worker already: move it with SetNextWorker and SwitchStream`);
  if (!Number.isSafeInteger(c.base) || c.base < 0) return refuse(state, `base must be a whole number, not ${c.base}`);
  const epoch = state.lastEpoch + 1;
  return withAssignment(state, { streamId: c.streamId, nodeId: c.nodeId, epoch, base: c.base, firstIndex: 0, next: null, sealed: false, sinceMs: c.atMs }, epoch);
}

export function setNextWorker(state: ClusterState, c: Of<'SetNextWorker'>): Applied {
  const a = own(state.assignments, c.streamId);
  if (a === undefined) return refuse(state, `stream ${c.streamId} has no worker: assign one first`);
  if (c.nodeId === null) return a.next === null ? { state, result: ok } : withAssignment(state, { ...a, next: null });
  const problem = workerProblem(state, c.streamId, c.nodeId);
  if (problem !== null) return refuse(state, problem);
  if (c.nodeId === a.nodeId) return refuse(state, `node ${c.nodeId} runs stream ${c.streamId} already`);
  if (a.next?.nodeId === c.nodeId) return { state, result: ok };
  const epoch = state.lastEpoch + 1;
  return withAssignment(state, { ...a, next: { nodeId: c.nodeId, epoch } }, epoch);
}

export function sealStream(state: ClusterState, c: Of<'SealStream'>): Applied {
  const a = own(state.assignments, c.streamId);
  if (a === undefined) return refuse(state, `stream ${c.streamId} has no worker`);
  if (a.epoch !== c.epoch) return refuse(state, `stream ${c.streamId} is in epoch ${a.epoch}, not ${c.epoch}`);
  return a.sealed ? { state, result: ok } : withAssignment(state, { ...a, sealed: true });
}

export function switchStream(state: ClusterState, c: Of<'SwitchStream'>): Applied {
  const a = own(state.assignments, c.streamId);
  if (a === undefined) return refuse(state, `stream ${c.streamId} has no worker`);
  if (a.next === null || a.next.epoch !== c.epoch) return refuse(state, `stream ${c.streamId} has no second worker in epoch ${c.epoch}`);
  if (!a.sealed) return refuse(state, `stream ${c.streamId} epoch ${a.epoch} is not sealed: seal it first, so no gateway publishes more of it`);
  if (!Number.isSafeInteger(c.base) || c.base < a.base) return refuse(state, `base ${c.base} would go back before ${a.base}: public numbers never decrease`);
  if (!Number.isSafeInteger(c.firstIndex) || c.firstIndex < 0) return refuse(state, `firstIndex must be a whole number, not ${c.firstIndex}`);
  return withAssignment(state, { streamId: a.streamId, nodeId: a.next.nodeId, epoch: a.next.epoch, base: c.base, firstIndex: c.firstIndex, next: null, sealed: false, sinceMs: c.atMs });
}

export function unassignStream(state: ClusterState, c: Of<'UnassignStream'>): Applied {
  if (own(state.assignments, c.streamId) === undefined) return { state, result: ok };
  return { state: { ...state, assignments: withoutEntry(state.assignments, c.streamId) }, result: ok };
}
