// One HTTP call to a node's API with the admin token and a time limit: the answer (status, body,
// whether it said Retry-After), or why there was none. Never throws for a network failure: under
// faults no answer is an expected outcome that the history records.

export interface ApiAnswer {
  /** null: no answer (refused, reset, timed out, aborted). */
  readonly status: number | null;
  readonly retryAfter: boolean;
  readonly body: string;
  /** Why there was no answer, or the API's message for an error status. */
  readonly detail: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface ApiCall {
  readonly baseUrl: string;
  readonly token: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  readonly path: string;
  readonly body?: unknown;
  readonly timeoutMs: number;
  /** Aborts the call early (the observer stops): counts as no answer. */
  readonly signal?: AbortSignal;
}

/** Longest error message kept in a record. */
const detailLengthMax = 160;

export async function apiCall(call: ApiCall): Promise<ApiAnswer> {
  const startMs = Date.now();
  const signals = [AbortSignal.timeout(call.timeoutMs), ...(call.signal === undefined ? [] : [call.signal])];
  const headers: Record<string, string> = { authorization: `Bearer ${call.token}` };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(`${call.baseUrl}${call.path}`, {
      method: call.method, headers, signal: AbortSignal.any(signals),
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    });
    const body = await res.text();
    const detail = res.ok ? '' : messageOf(body);
    return { status: res.status, retryAfter: res.headers.has('retry-after'), body, detail, startMs, endMs: Date.now() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer in ${call.timeoutMs} ms` : e.name === 'AbortError' ? 'aborted (observer stopped)' : (e.cause?.code ?? e.message);
    return { status: null, retryAfter: false, body: '', detail: why.slice(0, detailLengthMax), startMs, endMs: Date.now() };
  }
}

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.slice(0, detailLengthMax);
  } catch {
    // Not JSON (a proxy's page): keep the start of the text.
  }
  return body.slice(0, detailLengthMax);
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve) => {
  if (signal?.aborted) {
    resolve();
    return;
  }
  const timer = setTimeout(done, ms);
  function done(): void {
    clearTimeout(timer);
    signal?.removeEventListener('abort', done);
    resolve();
  }
  signal?.addEventListener('abort', done, { once: true });
});

/** Runs `round` every `periodMs` (from start to start) until `signal` aborts; a round that
 *  throws is reported to `onError` and the next one runs as usual. */
export async function repeatEvery(periodMs: number, round: () => Promise<void>, onError: (err: Error) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const startedMs = Date.now();
    await round().catch((err: unknown) => onError(err as Error));
    await sleep(Math.max(0, periodMs - (Date.now() - startedMs)), signal);
  }
}
