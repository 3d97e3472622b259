// The API's expected failures, one class per failure with a stable `name`; the error handler
// (error-handler.ts) turns them into status codes. `retryAfterS` becomes a Retry-After header.

export class ApiError extends Error {
  override readonly name: string = 'ApiError';
  readonly statusCode: number;
  readonly retryAfterS: number | null;
  constructor(statusCode: number, message: string, retryAfterS: number | null = null) {
    super(message);
    this.statusCode = statusCode;
    this.retryAfterS = retryAfterS;
  }
}

/** No usable API token: 401. */
export class UnauthorizedError extends ApiError {
  override readonly name = 'UnauthorizedError';
  constructor(message: string) {
    super(401, message);
  }
}

/** Authenticated, but the role does not allow it: 403, naming the role needed and the caller's. */
export class ForbiddenError extends ApiError {
  override readonly name = 'ForbiddenError';
  constructor(message: string) {
    super(403, message);
  }
}

/** The state machine refused the command (ApplyResult ok:false): 409 with its reason. */
export class CommandRefusedError extends ApiError {
  override readonly name = 'CommandRefusedError';
  constructor(reason: string) {
    super(409, reason);
  }
}

/** A write was proposed but neither committed nor refused in time (the leader may have lost its
 *  quorum): its fate is unknown, so the client must look before retrying. 503. */
export class WriteTimeoutError extends ApiError {
  override readonly name = 'WriteTimeoutError';
  constructor(timeoutMs: number) {
    super(503, `the write was not confirmed within ${timeoutMs / 1000} s (this node may have lost contact with the rest of the cluster): it may or may not have been applied, so check before retrying`, null);
  }
}

/** listen() found the port taken. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(host: string, port: number) {
    super(`port ${port} on ${host} is already in use: stop the program using it, or pick another port with --http-port`);
  }
}

/** listen() was given an address this machine does not have. */
export class AddressUnavailableError extends Error {
  override readonly name = 'AddressUnavailableError';
  constructor(host: string) {
    super(`${host} is not an address of this machine: pass one of its addresses with --host (or 0.0.0.0 for all)`);
  }
}
