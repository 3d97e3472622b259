// Failed Xtream logins per client address (docs/iptv.md "Failed logins"): after failuresMax
// failures within windowMs an address gets 429 until the window ends, whatever it sends (a
// correct password included: answering it would tell a guesser when it found the password).
// Logins that succeed cost nothing. Attempts still being checked count as failures until they
// are settled, so a burst of parallel guesses cannot slip past the limit while scrypt runs.
// Pure: the caller passes the time and the address key (IPv6 grouped by subnet by the route).

export interface LoginLimiterInit {
  /** Default 20. */
  readonly failuresMax?: number;
  /** Default 60,000. */
  readonly windowMs?: number;
  /** Addresses remembered; the least recently seen is forgotten first. Default 10,000. */
  readonly addressesMax?: number;
}

export type LoginAttempt = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Entry {
  windowStartMs: number;
  failures: number;
  pending: number;
}

/** Not shared between threads; begin() and settle() pair up per attempt. */
export class FailedLoginLimiter {
  readonly failuresMax: number;
  readonly windowMs: number;
  readonly #addressesMax: number;
  /** Insertion order is recency: a seen entry is moved to the end. */
  readonly #entries = new Map<string, Entry>();

  constructor(init: LoginLimiterInit = {}) {
    this.failuresMax = init.failuresMax ?? 20;
    this.windowMs = init.windowMs ?? 60_000;
    this.#addressesMax = init.addressesMax ?? 10_000;
    if (!(this.failuresMax >= 1 && this.windowMs > 0 && this.#addressesMax >= 1)) throw new RangeError('FailedLoginLimiter bounds must be positive');
  }

  /** Whether `address` may try a login now; when it may, the attempt counts as pending until
   *  settle(). */
  begin(address: string, nowMs: number): LoginAttempt {
    const entry = this.#entry(address, nowMs);
    if (entry.failures + entry.pending >= this.failuresMax) {
      return { ok: false, retryAfterMs: Math.max(1000, entry.windowStartMs + this.windowMs - nowMs) };
    }
    entry.pending++;
    return { ok: true };
  }

  /** The attempt begun for `address` ended; a failure counts in the current window. */
  settle(address: string, succeeded: boolean, nowMs: number): void {
    const entry = this.#entry(address, nowMs);
    entry.pending = Math.max(0, entry.pending - 1);
    if (!succeeded) entry.failures++;
    if (entry.failures === 0 && entry.pending === 0) this.#entries.delete(address);
  }

  /** Addresses with failures or attempts in flight. */
  get size(): number {
    return this.#entries.size;
  }

  #entry(address: string, nowMs: number): Entry {
    let entry = this.#entries.get(address);
    if (entry !== undefined) this.#entries.delete(address);
    else {
      entry = { windowStartMs: nowMs, failures: 0, pending: 0 };
      while (this.#entries.size >= this.#addressesMax) this.#entries.delete(this.#entries.keys().next().value!);
    }
    if (nowMs - entry.windowStartMs >= this.windowMs) {
      entry.windowStartMs = nowMs;
      entry.failures = 0;
    }
    this.#entries.set(address, entry);
    return entry;
  }
}
