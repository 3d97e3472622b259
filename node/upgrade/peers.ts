// Node-to-node calls of a rollout (an adapter: HTTP): the coordinator asks a member about
// itself, tells it to upgrade, asks the leader to hand over leadership. Members only: the
// internal token (an HMAC of the network key) is the bearer.
export type PeerAnswer<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number | null; readonly message: string };

/** One JSON call to `baseUrl + path`. Never throws: no answer in `timeoutMs`, a refused
 *  connection or a non-2xx status come back as ok:false with what the peer said. */
export async function callPeer<T>(baseUrl: string, token: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<PeerAnswer<T>> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : e.cause?.code ?? e.message;
    return { ok: false, status: null, message: `${baseUrl} did not answer (${why})` };
  }
  const text = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null; // not JSON: the text itself is the message below
  }
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, body: json as T };
  const message = (json as { message?: unknown } | null)?.message;
  return { ok: false, status: res.status, message: typeof message === 'string' ? message : `${res.status} ${text.slice(0, 200)}` };
}
