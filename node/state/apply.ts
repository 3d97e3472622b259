// apply(state, command): the replicated state's only transition. Pure and deterministic: time
// comes only from `command.atMs`, and a refused command returns the very same state object
// with `{ ok: false, reason }` (so callers can tell "nothing changed" by identity). A command
// with an actor (a change made through the API) is first checked against the actor's role in
// this state, and once accepted is recorded in the audit log in the same step.
import * as accounts from './accounts-apply.ts';
import { auditEntryOf, loginEntryOf, logoutEntryOf, withAuditEntry } from './audit.ts';
import { UnknownCommandError } from './errors.ts';
import { joinTokenProblem } from './join.ts';
import { groupsProblem, nameProblem } from './names.ts';
import { findNodeByName } from './selectors.ts';
import { settingsProblem } from './settings.ts';
import { floatingAddressConflict } from './floating-address.ts';
import * as lines from './lines-apply.ts';
import * as streams from './streams-apply.ts';
import { actorRole, commandRole, roleProblem } from './roles.ts';
import { isInitialized, own, withEntry, withoutEntries, withoutEntry } from './state.ts';
import type { ApplyResult, BareCommand, ClusterState, Command, JoinTokenRecord, NodeRecord } from './types.ts';

/** Most members a cluster takes: far above the hundreds of workers it is meant for. */
export const nodesMax = 1000;
/** Most join tokens kept at once; creation is refused beyond it. Every change copies the
 *  token table (the state is immutable), so this also bounds what a token write costs: about
 *  0.1-0.6 ms at the bound. A cluster needs a handful of tokens at a time, not thousands. */
export const joinTokensMax = 1000;
/** Expired join tokens are kept this long after expiry, so a late attempt still hears "expired"
 *  rather than "unknown"; older ones are dropped when the table is full and a token is created. */
export const expiredJoinTokenRetentionMs = 86_400_000;

export interface Applied {
  readonly state: ClusterState;
  readonly result: ApplyResult;
}

const ok: ApplyResult = { ok: true };

/** Applies `command` to `state`. Throws UnknownCommandError for a command type this version
 *  does not know (an invariant: decodeCommand refuses those before they get here). */
export function apply(state: ClusterState, command: Command): Applied {
  if (command.type !== 'InitCluster' && !isInitialized(state)) return refuse(state, 'the cluster is not initialized yet');
  const { actor } = command;
  if (actor === undefined) return applyCommand(state, command);
  // The API checked the role when the request came in; the state may have changed since.
  const allowed = actorRole(state, actor);
  if (!allowed.ok) return refuse(state, allowed.reason);
  const problem = roleProblem(allowed.role, commandRole(command.type));
  if (problem !== null) return refuse(state, problem);
  const applied = applyCommand(state, command);
  if (!applied.result.ok) return applied;
  return { state: withAuditEntry(applied.state, auditEntryOf(state, command, actor, allowed.role)), result: ok };
}

function applyCommand(state: ClusterState, command: BareCommand): Applied {
  switch (command.type) {
    case 'InitCluster': return initCluster(state, command);
    case 'CreateJoinToken': return createJoinToken(state, command.atMs, command.token);
    case 'JoinNode': return joinNode(state, command);
    case 'UpdateNodeAddrs': return updateNode(state, command.id, (node) => ({ ...node, addrs: command.addrs, httpUrl: command.httpUrl }));
    case 'SetNodeEnabled': return updateNode(state, command.id, (node) => (node.enabled === command.enabled ? node : { ...node, enabled: command.enabled }));
    case 'RemoveNode': return removeNode(state, command.id);
    case 'UpdateSettings': return updateSettings(state, command.settings);
    case 'SetNodeAdmin': return streams.setNodeAdmin(state, command);
    case 'CreateStream': return streams.createStream(state, command);
    case 'UpdateStream': return streams.updateStream(state, command);
    case 'DeleteStream': return streams.deleteStream(state, command);
    case 'CreateService': return streams.createService(state, command);
    case 'UpdateService': return streams.updateService(state, command);
    case 'DeleteService': return streams.deleteService(state, command);
    case 'PutGroup': return streams.putGroup(state, command);
    case 'DeleteGroup': return streams.deleteGroup(state, command);
    case 'UpdatePolicy': return streams.updatePolicy(state, command);
    case 'AssignStream': return streams.assignStream(state, command);
    case 'SetNextWorker': return streams.setNextWorker(state, command);
    case 'SealStream': return streams.sealStream(state, command);
    case 'SwitchStream': return streams.switchStream(state, command);
    case 'UnassignStream': return streams.unassignStream(state, command);
    case 'CreateLine': return lines.createLine(state, command);
    case 'UpdateLine': return lines.updateLine(state, command);
    case 'DeleteLine': return lines.deleteLine(state, command);
    case 'CreateUser': return accounts.createUser(state, command);
    case 'UpdateUser': return accounts.updateUser(state, command);
    case 'DeleteUser': return accounts.deleteUser(state, command);
    case 'CreateApiToken': return accounts.createApiToken(state, command);
    case 'DeleteApiToken': return accounts.deleteApiToken(state, command);
    case 'RecordLogin': return { state: withAuditEntry(state, loginEntryOf(command)), result: ok };
    case 'RevokeSession': {
      const revoked = accounts.revokeSession(state, command);
      return revoked.result.ok ? { state: withAuditEntry(revoked.state, logoutEntryOf(state, command)), result: ok } : revoked;
    }
    default: throw new UnknownCommandError((command as { type?: unknown }).type);
  }
}

function refuse(state: ClusterState, reason: string): Applied {
  return { state, result: { ok: false, reason } };
}

function initCluster(state: ClusterState, command: Extract<BareCommand, { type: 'InitCluster' }>): Applied {
  if (isInitialized(state)) return refuse(state, `the cluster is already initialized (id ${state.clusterId})`);
  if (command.clusterId === '') return refuse(state, 'the cluster id is empty');
  const problem = nodeProblem(command.node);
  if (problem !== null) return refuse(state, problem);
  if (command.admin.role !== 'admin') return refuse(state, `the first user must be an admin, not ${command.admin.role}`);
  if (command.adminToken.user !== command.admin.name) {
    return refuse(state, `the admin token belongs to "${command.adminToken.user}", not to the admin "${command.admin.name}"`);
  }
  const node = { ...command.node, joinedAtMs: command.atMs };
  return {
    state: {
      ...state,
      clusterId: command.clusterId,
      nodes: withEntry({}, node.id, node),
      users: withEntry({}, command.admin.name, command.admin),
      apiTokens: withEntry({}, command.adminToken.id, command.adminToken),
    },
    result: ok,
  };
}

function createJoinToken(state: ClusterState, atMs: number, token: JoinTokenRecord): Applied {
  if (token.id === '') return refuse(state, 'the join token id is empty');
  if (own(state.joinTokens, token.id) !== undefined) return refuse(state, `a join token with id ${token.id} already exists`);
  if (!Number.isInteger(token.usesLeft) || token.usesLeft < 1) return refuse(state, `a join token needs at least 1 use, not ${token.usesLeft}`);
  if (token.expiresAtMs <= atMs) return refuse(state, 'the join token would already be expired: give it a positive time to live');
  const problem = groupsProblem(token.groups);
  if (problem !== null) return refuse(state, problem);
  let tokens = state.joinTokens;
  // Pruning scans the table, so it runs only when the table is full.
  if (Object.keys(tokens).length >= joinTokensMax) {
    tokens = withoutEntries(tokens, (_id, kept) => kept.expiresAtMs + expiredJoinTokenRetentionMs <= atMs);
    if (Object.keys(tokens).length >= joinTokensMax) {
      return refuse(state, `there are already ${joinTokensMax} join tokens (expired ones count for a day after expiry): wait for some to expire`);
    }
  }
  return { state: { ...state, joinTokens: withEntry(tokens, token.id, token) }, result: ok };
}

function joinNode(state: ClusterState, command: Extract<BareCommand, { type: 'JoinNode' }>): Applied {
  const tokenProblem = joinTokenProblem(state, command.tokenId, command.secretHash, command.atMs);
  if (tokenProblem !== null) return refuse(state, tokenProblem);
  const token = own(state.joinTokens, command.tokenId)!;
  // The token decides the groups a node joins with; the joiner's own list is not trusted.
  const node: NodeRecord = { ...command.node, groups: token.groups, joinedAtMs: command.atMs };
  const problem = nodeProblem(node) ?? memberConflict(state, node);
  if (problem !== null) return refuse(state, problem);
  return {
    state: {
      ...state,
      nodes: withEntry(state.nodes, node.id, node),
      joinTokens: withEntry(state.joinTokens, token.id, { ...token, usesLeft: token.usesLeft - 1 }),
    },
    result: ok,
  };
}

function nodeProblem(node: NodeRecord): string | null {
  if (node.id === '') return 'the node id is empty';
  return nameProblem('node name', node.name) ?? groupsProblem(node.groups);
}

function memberConflict(state: ClusterState, node: NodeRecord): string | null {
  if (own(state.nodes, node.id) !== undefined) return `node ${node.id} is already a member of this cluster: start it with 'ottmesh start'`;
  const named = findNodeByName(state, node.name);
  if (named !== null) return `the node name "${node.name}" is already used by ${named.id}: pick another with --name`;
  if (Object.keys(state.nodes).length >= nodesMax) return `the cluster already has ${nodesMax} nodes, the most it takes`;
  return null;
}

function updateNode(state: ClusterState, id: string, change: (node: NodeRecord) => NodeRecord): Applied {
  const node = own(state.nodes, id);
  if (node === undefined) return refuse(state, `unknown node ${id}`);
  const changed = change(node);
  if (changed === node) return { state, result: ok };
  return { state: { ...state, nodes: withEntry(state.nodes, id, changed) }, result: ok };
}

function removeNode(state: ClusterState, id: string): Applied {
  if (own(state.nodes, id) === undefined) return refuse(state, `unknown node ${id}`);
  if (Object.keys(state.nodes).length === 1) return refuse(state, `node ${id} is the last member: a cluster cannot remove its last node`);
  // Its streams are re-placed by the leader (their worker is gone); its admin record goes with it.
  return { state: { ...state, nodes: withoutEntry(state.nodes, id), nodeAdmin: withoutEntry(state.nodeAdmin, id) }, result: ok };
}

function updateSettings(state: ClusterState, change: Extract<BareCommand, { type: 'UpdateSettings' }>['settings']): Applied {
  const settings = { ...state.settings, ...change };
  const problem = settingsProblem(settings) ?? floatingAddressConflict(state, change.floatingAddress ?? null);
  if (problem !== null) return refuse(state, problem);
  return { state: { ...state, settings }, result: ok };
}
