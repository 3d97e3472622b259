// The one error class of the upgrade parts: an expected failure whose message says what to do,
// with the HTTP status it deserves at the edge (409 a state that refuses it, 413 too large, 422
// a wrong file, 502 a peer that failed, 503 not now).
export class UpgradeError extends Error {
  override readonly name = 'UpgradeError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}
