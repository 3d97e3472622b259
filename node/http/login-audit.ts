// How many dashboard logins a node records in the audit log. Every recorded attempt is a
// replicated write and failed logins come from anyone, so a node records at most
// loginAuditsPerMinuteMax a minute (on top of the per-address rate limit of the login route);
// the attempts beyond are counted, and the count goes with the next recorded one. This keeps a
// password-guessing storm from flooding the log and pushing real changes out of its bound. Pure:
// the caller passes the time.

/** Login attempts one node records per minute. */
export const loginAuditsPerMinuteMax = 30;
const windowMs = 60_000;

export class LoginAuditBudget {
  readonly #perWindowMax: number;
  #windowStartMs = Number.NEGATIVE_INFINITY;
  #used = 0;
  #unrecorded = 0;

  constructor(perMinuteMax: number = loginAuditsPerMinuteMax) {
    this.#perWindowMax = perMinuteMax;
  }

  /** Whether to record an attempt made at `nowMs`, and if so how many were not recorded since
   *  the last one that was. */
  take(nowMs: number): { readonly record: true; readonly unrecorded: number } | { readonly record: false } {
    if (nowMs - this.#windowStartMs >= windowMs || nowMs < this.#windowStartMs) {
      this.#windowStartMs = nowMs;
      this.#used = 0;
    }
    if (this.#used >= this.#perWindowMax) {
      this.#unrecorded++;
      return { record: false };
    }
    this.#used++;
    const unrecorded = this.#unrecorded;
    this.#unrecorded = 0;
    return { record: true, unrecorded };
  }
}
