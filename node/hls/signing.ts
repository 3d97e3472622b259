// Signed, expiring viewer URLs, per service (HlsSettings.signingSecret): a viewer URL carries
// `?exp=<unix s>&sig=<hex>` where sig = HMAC-SHA256(secret, "<streamId>/<exp>"). The playlist
// repeats the viewer's exp and sig on every segment URI, so one signature covers the playlist
// and its segments until it expires; an operator's portal makes them with signedViewerUrl().
// A viewer line's redirect binds its viewer token into the signature (`"<streamId>/<exp>/<vt>"`,
// with `&vt=` in the URL): stripping the token, to watch without being counted against the
// line's max_connections, breaks the signature.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Longest exp accepted (digits): a unix time in seconds fits in 12 until the year 33658. */
const expDigitsMax = 12;
const sigPattern = /^[0-9a-f]{64}$/;

export type SignatureProblem = 'missing' | 'expired' | 'bad-signature';

export type SignatureCheck = { readonly ok: true; readonly query: string } | { readonly ok: false; readonly problem: SignatureProblem; readonly message: string };

/** The query parameter of a viewer token (node/hls/viewers-http.ts). */
export const viewerTokenParam = 'vt';

/** The hex signature of `<streamId>/<expS>`, or of `<streamId>/<expS>/<vt>` for a viewer token. */
export function signature(secret: string, streamId: string, expS: number, vt = ''): string {
  return createHmac('sha256', secret).update(vt === '' ? `${streamId}/${expS}` : `${streamId}/${expS}/${vt}`).digest('hex');
}

/** The query (without '?') that lets a viewer fetch `streamId` until `expS` (unix seconds); with
 *  `vt`, only together with that viewer token (which the query then carries). */
export function signedQuery(secret: string, streamId: string, expS: number, vt = ''): string {
  if (!Number.isSafeInteger(expS) || expS < 0) throw new RangeError(`exp must be a unix time in whole seconds, got ${expS}`);
  return `exp=${expS}&sig=${signature(secret, streamId, expS, vt)}${vt === '' ? '' : `&${viewerTokenParam}=${encodeURIComponent(vt)}`}`;
}

/** `<baseUrl>/live/<streamId>/index.m3u8?exp=..&sig=..`, valid for `ttlS` seconds from nowMs. */
export function signedViewerUrl(baseUrl: string, secret: string, streamId: string, ttlS: number, nowMs: number): string {
  const expS = Math.floor(nowMs / 1000) + Math.max(0, Math.floor(ttlS));
  return `${baseUrl.replace(/\/+$/, '')}/live/${streamId}/index.m3u8?${signedQuery(secret, streamId, expS)}`;
}

/** Checks a viewer's exp and sig (as the query string gave them) at `nowMs`. On success,
 *  `query` is the normalized `exp=..&sig=..` to append to segment URIs (never the raw input). */
export function checkViewerSignature(secret: string, streamId: string, exp: unknown, sig: unknown, nowMs: number, vt: unknown = undefined): SignatureCheck {
  const token = typeof vt === 'string' ? vt : '';
  if (typeof exp !== 'string' || typeof sig !== 'string' || exp === '' || sig === '') {
    return { ok: false, problem: 'missing', message: `stream ${streamId} needs a signed URL: add ?exp=<unix seconds>&sig=<hmac> as the operator's portal gives them` };
  }
  if (!/^\d+$/.test(exp) || exp.length > expDigitsMax || !sigPattern.test(sig.toLowerCase())) {
    return { ok: false, problem: 'bad-signature', message: 'the URL signature is malformed (exp must be unix seconds, sig 64 hex digits): ask the portal for a new URL' };
  }
  const expS = Number(exp);
  const expected = Buffer.from(signature(secret, streamId, expS, token), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig.toLowerCase(), 'hex'))) {
    return { ok: false, problem: 'bad-signature', message: `the URL signature does not match stream ${streamId}: ask the portal for a new URL` };
  }
  if (expS * 1000 <= nowMs) {
    return { ok: false, problem: 'expired', message: `the URL expired ${Math.round(nowMs / 1000 - expS)} s ago: reload the page for a new one` };
  }
  return { ok: true, query: `exp=${expS}&sig=${sig.toLowerCase()}${token === '' ? '' : `&${viewerTokenParam}=${encodeURIComponent(token)}`}` };
}
