// The HTTP API's public face.
export { buildServer, defaultBodyLimitBytes, defaultRequestTimeoutMs, listen } from './server.ts';
export type { HttpServer, HttpServerComponents, HttpServerInit } from './server.ts';
export type { ClusterApi, MemberView, ProbeAnswer, RaftView } from './service.ts';
export { AddressUnavailableError, ApiError, CommandRefusedError, ForbiddenError, PortInUseError, UnauthorizedError, WriteTimeoutError } from './errors.ts';
export { actorOf, apiPrefix, defaultRole, principalOf } from './auth.ts';
export type { Principal } from './auth.ts';
export { defaultRetryAfterS } from './server.ts';
export { defaultJoinTokenTtlS, joinTokenTtlSMax, joinTokenUsesMax } from './routes/join-tokens.ts';
