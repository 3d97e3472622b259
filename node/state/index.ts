// The state package's public face: the contract types, apply(), the codec, the state machine
// the driver runs, selectors and the validation rules callers check before proposing.
export type * from './types.ts';
export { apply, expiredJoinTokenRetentionMs, joinTokensMax, nodesMax } from './apply.ts';
export type { Applied } from './apply.ts';
export { commandBytesMax, decodeCommand, decodeState, encodeCommand, encodeState, snapshotFormatVersion } from './codec.ts';
export { CorruptCommandError, CorruptSnapshotError, InvalidCommandError, ResultUnavailableError, UnknownCommandError } from './errors.ts';
export { joinTokenProblem } from './join.ts';
export { ClusterStateMachine, resultsKeptMax } from './machine.ts';
export type { ChangeListener } from './machine.ts';
export { groupsPerNodeMax, groupsProblem, isoFromMs, nameLengthMax, nameProblem } from './names.ts';
export { proposeCommand } from './propose.ts';
export type { Proposer } from './propose.ts';
export { findApiToken, findJoinToken, findNode, findNodeByName, hlsOf, isMember, memberIds, nodesSorted, serviceOf, usableJoinTokens } from './selectors.ts';
export { defaultSettings, settingsProblem } from './settings.ts';
export { floatingAddressConflict, floatingAddressLengthMax, floatingAddressProblem, inSubnet, interfaceNameLengthMax, maskOf, parseCidr, parseIpv4, prefixOfNetmask } from './floating-address.ts';
export type { Ipv4Cidr } from './floating-address.ts';
export { emptyAudit, emptyState, isInitialized } from './state.ts';
export { defaultHls, emptyChannels, emptyLines } from './state.ts';
export { epgUrlsMax } from './schema.ts';
export { lineActive, lineConnectionsMax, lineProblem, linesMax, usernamePattern } from './lines-apply.ts';
export type * from './stream-types.ts';
export { sourceSchemes } from './stream-types.ts';
export {
  hlsProblem, policyProblem, profileProblem, serviceProblem, slugPattern, slugProblem, sourceProblem, sourceUrlProblem, sourcesMax, streamProblem,
} from './stream-rules.ts';
export { defaultNodeAdmin, weightMax } from './streams-apply.ts';
export { adminCount, apiTokenNameLengthMax, apiTokenNameProblem, apiTokensMax, revokedSessionsMax, tokensOf, userNamePattern, userProblem, usersMax } from './accounts-apply.ts';
export { auditEntries, auditEntriesMax, auditPageSize, auditSummaryLengthMax, describeChange, queryAudit } from './audit.ts';
export type { AuditFilter } from './audit.ts';
export { actorRole, commandRole, isRole, lowerRole, roleAtLeast, roleProblem, roles } from './roles.ts';
