// Schema-driven fuzzing of every route the app registered (hostile-app.ts records them as they
// are added): from each route's own schema, a seeded generator makes valid and edge requests and
// hostile ones (bad params, querystrings, bodies, content types, credentials), sends them with
// inject(), and checks each answer:
//   - never a 5xx (a 503 that says "not now" with Retry-After is allowed), never a hang;
//   - a refusal (4xx) carries a message: JSON {statusCode, error, message} (the API and the
//     gateway), or one line of text on the Xtream player routes (what players show);
//   - a refused request changed nothing (the state is the same object; a login attempt may add
//     its audit record, as documented).
// Shared by test/hostile/api-fuzz.test.ts (a fixed budget) and `npm run hostile` (longer runs).
import type { InjectOptions } from 'fastify';

import { deriveSeed, Rng } from '../sim/rng.ts';
import { bearer } from '../http/team.ts';
import type { HostileApp, RouteInfo } from './hostile-app.ts';
import { invalidBody, oddStrings, paramValue, queryPairs, rawBody, rawQueries, validValue } from './schema-values.ts';
import type { JsonSchema, Known, Payload } from './schema-values.ts';

/** A request that takes longer than this is reported as a hang. */
export const requestTimeoutMs = 10_000;
/** Bytes of an answer read at most (streaming answers are cut there). */
export const answerBytesMax = 256 * 1024;
/** Paths outside the JSON API that answer refusals as one line of text (players show it): the
 *  Xtream routes. Matched on the request's path, since a fuzzed parameter holding '/' reaches
 *  another route than the one it was made for. */
export const textRefusalPath = /^\/(?:player_api\.php|get\.php|xmltv\.php|live\/[^/?]*\/[^/?]*\/[^/?]*)(?:\?|$)/;

export interface FuzzOptions {
  readonly seed: number;
  /** Requests per route (method and URL). */
  readonly casesPerRoute: number;
  /** Only routes whose "METHOD url" matches (all by default). */
  readonly only?: RegExp;
  readonly log?: (line: string) => void;
}

export interface Finding {
  readonly route: string;
  readonly request: string;
  readonly problem: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly routes: number;
  readonly cases: number;
  /** Answers per status code. */
  readonly statuses: Readonly<Record<number, number>>;
  /** Requests that reached the handler with a valid body and got a 2xx. */
  readonly accepted: number;
  readonly findings: readonly Finding[];
  /** Routes that take input (path parameters, a body) without declaring its schema. */
  readonly unschematized: readonly string[];
  /** The slowest routes, "METHOD url: ms" (all their cases). */
  readonly slowest: readonly string[];
  readonly ms: number;
}

/** What a route takes without a schema for it (its path parameters, a JSON body). */
export function missingSchemas(route: RouteInfo): string[] {
  const schema = (route.schema ?? {}) as { params?: unknown; body?: unknown; querystring?: unknown };
  const missing: string[] = [];
  if (route.url.includes(':') && schema.params === undefined) missing.push('params');
  if (['POST', 'PUT', 'PATCH'].includes(route.method) && schema.body === undefined) missing.push('body');
  return missing;
}

interface Built {
  readonly label: string;
  readonly options: InjectOptions;
  /** The case is meant to be valid throughout (it may still be refused, e.g. 404 or 409). */
  readonly valid: boolean;
}

const methodsWithBody = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const contentTypes = ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'audio/x-mpegurl', 'application/octet-stream', '*/*', 'application/json; a=1; a=2'];

function schemaOf(route: RouteInfo, part: 'params' | 'querystring' | 'body'): JsonSchema | undefined {
  return (route.schema as Record<string, JsonSchema | undefined> | undefined)?.[part];
}

function fillPath(url: string, schema: JsonSchema | undefined, rng: Rng, valid: boolean, known: Known): { path: string; label: string } {
  let label = '';
  const path = url.replace(/:([A-Za-z0-9_]+)|\*/g, (_m, name: string | undefined) => {
    const sub = name === undefined ? undefined : schema?.properties?.[name];
    const value = paramValue(sub, rng, valid || rng.chance(0.5), known);
    if (!valid && value.label !== 'valid') label = value.label;
    // Mostly percent-encoded; sometimes raw, so '..', '%2e' and '/' reach the router as written.
    return !valid && rng.chance(0.3) ? value.value : pct(value.value);
  });
  return { path, label };
}

/** Percent-encoding of any string, lone surrogates included (as the UTF-8 of U+FFFD). */
export function pct(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  }
}

function encodeQuery(pairs: readonly [string, string][]): string {
  return pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
}

function credentials(route: RouteInfo, rng: Rng, api: HostileApp['api']): { headers: Record<string, string>; label: string } {
  if (route.url.startsWith('/internal/') && rng.chance(0.5)) return { headers: { authorization: `Bearer ${api.internalToken()}` }, label: 'internal token' };
  const r = rng.next();
  if (r < 0.7) return { headers: bearer('admin'), label: 'admin' };
  if (r < 0.75) return { headers: bearer('operator'), label: 'operator' };
  if (r < 0.8) return { headers: bearer('read-only'), label: 'read-only' };
  if (r < 0.88) return { headers: {}, label: 'no credentials' };
  const garbage = rng.pick([
    'Bearer otm_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'Bearer', 'Basic YWRtaW46YWRtaW4=', `Bearer ${'x'.repeat(8000)}`,
    'Bearer otm_../../_x', 'bearer  otm_', `Bearer ${api.internalToken()}`, 'Bearer \u0000',
  ]);
  return { headers: { authorization: garbage }, label: `authorization ${JSON.stringify(garbage.slice(0, 30))}` };
}

function payloadOptions(payload: Payload): { payload: string | Buffer } {
  if (payload.kind === 'json') return { payload: JSON.stringify(payload.value) ?? 'null' };
  return { payload: typeof payload.bytes === 'string' ? payload.bytes : Buffer.from(payload.bytes) };
}

/** One request for `route`: valid, or hostile in one part. */
/** Names in the state under attack, so generated ids often exist. */
export function knownValues(api: HostileApp['api']): Known {
  const s = api.state();
  const values = [
    ...Object.keys(s.nodes), ...Object.values(s.nodes).map((n) => n.name), ...Object.keys(s.streams), ...Object.keys(s.services), ...Object.keys(s.lines),
    ...Object.keys(s.users), ...Object.keys(s.groups), ...Object.keys(s.apiTokens), ...Object.keys(s.joinTokens), 'enable', 'disable', 'drain', 'index.m3u8', 'seg-0.ts', '1',
  ];
  return { values: [...new Set(values)] };
}

export function buildCase(route: RouteInfo, rng: Rng, api: HostileApp['api']): Built {
  const known = knownValues(api);
  const valid = rng.chance(0.3);
  const part = valid ? 'none' : rng.pick(['params', 'query', 'body', 'body', 'body', 'content-type', 'raw-query', 'headers']);
  const labels: string[] = [];
  const { path, label: pathLabel } = fillPath(route.url, schemaOf(route, 'params'), rng, part !== 'params', known);
  if (pathLabel !== '') labels.push(pathLabel);
  const qSchema = schemaOf(route, 'querystring');
  let query = encodeQuery(queryPairs(qSchema, rng, true, known).value);
  if (part === 'query') {
    const q = queryPairs(qSchema, rng, false, known);
    labels.push(q.label);
    query = encodeQuery(q.value);
  } else if (part === 'raw-query') {
    const raw = rng.pick(rawQueries);
    labels.push(`raw query ${JSON.stringify(raw.slice(0, 30))}`);
    query = raw;
  }
  const auth = credentials(route, rng, api);
  if (auth.label !== 'admin') labels.push(auth.label);
  const headers: Record<string, string> = { ...auth.headers };
  const options: InjectOptions = { method: route.method as InjectOptions['method'], url: query === '' ? path : `${path}?${query}`, headers, payloadAsStream: true } as InjectOptions;
  if (methodsWithBody.has(route.method)) {
    const bSchema = schemaOf(route, 'body');
    let payload: Payload | null = bSchema === undefined ? (rng.chance(0.3) ? rawBody(rng, {}).value : null) : { kind: 'json', value: validValue(bSchema, rng, rng.chance(0.3), '', 0, known) };
    if (part === 'body') {
      const bad = bSchema === undefined ? rawBody(rng, { a: 1 }) : invalidBody(bSchema, rng, known);
      labels.push(`body: ${bad.label}`);
      payload = bad.value;
    }
    if (payload !== null) {
      headers['content-type'] = 'application/json';
      Object.assign(options, payloadOptions(payload));
    }
    if (part === 'content-type') {
      const type = rng.pick(contentTypes);
      labels.push(`content-type ${type}`);
      headers['content-type'] = type;
      if (payload === null) Object.assign(options, { payload: rng.pick(oddStrings) });
    }
  }
  if (part === 'headers') {
    const extra = rng.pick<[string, string]>([
      ['cookie', `ottmesh_session=s1.${'A'.repeat(200)}.${'B'.repeat(43)}`], ['cookie', 'ottmesh_session=; ottmesh_session=x'], ['host', 'evil.example:99999'],
      ['host', ''], ['x-forwarded-for', '::1, 127.0.0.1'], ['accept', 'application/xml'], ['content-length', '5'], ['transfer-encoding', 'chunked'],
      ['accept-encoding', 'gzip;q=1e9'], ['range', 'bytes=999999999-'], ['if-none-match', '*'],
    ]);
    labels.push(`header ${extra[0]}: ${extra[1].slice(0, 30)}`);
    headers[extra[0]] = extra[1];
  }
  return { label: labels.length === 0 ? (valid ? 'valid' : 'edge') : labels.join('; '), options, valid };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
  readonly ms: number;
}

/** Sends one request; reads at most answerBytesMax of the answer, or what a stream gives
 *  within a short time (SSE, MPEG-TS). Null: no answer within requestTimeoutMs. */
async function send(app: HostileApp['app'], options: InjectOptions): Promise<Answer | null> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), requestTimeoutMs); });
  const hangUpSignal = new AbortController();
  try {
    const res = await Promise.race([app.inject({ ...options, signal: hangUpSignal.signal } as InjectOptions), timeout]);
    if (res === null) return null;
    const chunks: Buffer[] = [];
    let bytes = 0;
    const stream = (res as unknown as { stream(): NodeJS.ReadableStream & { destroy(): void } }).stream();
    await new Promise<void>((resolve) => {
      const streaming = /event-stream|mp2t/.test(String(res.headers['content-type'] ?? ''));
      // An endless answer (events, MPEG-TS) is cut as a client would hang up: the request's
      // 'close' is what the handlers clean up on.
      const hangUp = () => {
        clearTimeout(cut);
        hangUpSignal.abort();
        stream.destroy();
        resolve();
      };
      const cut = setTimeout(hangUp, streaming ? 50 : requestTimeoutMs);
      const done = () => { clearTimeout(cut); resolve(); };
      // Past the cap the client hangs up, as a player or curl that has enough would.
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= answerBytesMax) chunks.push(chunk);
        else hangUp();
      });
      stream.on('end', done);
      stream.on('error', done);
      stream.on('close', done);
    });
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with an answer; null when it is a fitting one. */
export function answerProblem(route: RouteInfo, url: string, answer: Answer): string | null {
  const { status, headers, body } = answer;
  const type = String(headers['content-type'] ?? '');
  if (status >= 500) {
    // "Not now" (with Retry-After), or a machine this request names did not answer (an SSH
    // install's server, a probed node): the message says which. Never a 500.
    if (status === 503 && headers['retry-after'] !== undefined) return null;
    if (status === 502 && /^application\/json/.test(type) && (route.method === 'HEAD' || /"message":"[^"]{10,}/.test(body))) return null;
    return `answered ${status}: ${body.slice(0, 200)}`;
  }
  if (status < 400) return null;
  // @fastify/cors answers a malformed preflight itself, in text (reported, not a failure).
  if (route.method === 'OPTIONS' && body === 'Invalid Preflight Request') return null;
  if (textRefusalPath.test(url) && type.startsWith('text/plain')) {
    return body.trim() === '' && route.method !== 'HEAD' ? `answered ${status} with an empty text` : null;
  }
  // player_api.php speaks the Xtream JSON even when it refuses: {user_info: {auth: 0, message}}.
  if (route.url === '/player_api.php' && /"user_info":\{"auth":0,"message":"[^"]+/.test(body)) return null;
  if (route.method === 'HEAD') return type.startsWith('application/json') || type.startsWith('text/plain') ? null : `answered HEAD ${status} as ${type || 'no content type'}`;
  if (!type.startsWith('application/json')) return `answered ${status} as ${type || 'no content type'}, not a JSON error: ${body.slice(0, 120)}`;
  let parsed: { statusCode?: unknown; error?: unknown; message?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return `answered ${status} with a body that is not JSON: ${body.slice(0, 120)}`;
  }
  if (parsed.statusCode !== status || typeof parsed.error !== 'string' || typeof parsed.message !== 'string' || parsed.message.trim() === '') {
    return `answered ${status} without {statusCode, error, message}: ${body.slice(0, 200)}`;
  }
  return null;
}

/** Only login attempts may leave a trace when refused (their audit record). */
const recordedWhenRefused = new Set(['RecordLogin']);

export async function fuzzRoutes(target: HostileApp, options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const routes = target.routes.filter((r) => options.only === undefined || options.only.test(`${r.method} ${r.url}`));
  const statuses: Record<number, number> = {};
  const findings: Finding[] = [];
  let cases = 0;
  let accepted = 0;
  const routeMs: [string, number][] = [];
  const initial = target.api.current;
  for (const route of routes) {
    const name = `${route.method} ${route.url}`;
    const routeStarted = performance.now();
    const rng = new Rng(deriveSeed(options.seed, name));
    for (let i = 0; i < options.casesPerRoute; i++) {
      // Every case starts from the same state: a fuzzed DELETE of the admin's token or a user
      // must not turn the rest of the run into 401s.
      target.api.current = initial;
      const built = buildCase(route, rng, target.api);
      const before = target.api.current;
      const acceptedBefore = target.checked.accepted.length;
      const request = `${built.options.method} ${String(built.options.url).slice(0, 200)} [${built.label}]`;
      let answer: Answer | null;
      try {
        answer = await send(target.app, built.options);
      } catch (err) {
        findings.push({ route: name, request, problem: `inject threw: ${(err as Error).message}` });
        continue;
      }
      cases++;
      if (answer === null) {
        findings.push({ route: name, request, problem: `no answer within ${requestTimeoutMs} ms` });
        continue;
      }
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status < 300 && built.valid) accepted++;
      const problem = answerProblem(route, String(built.options.url), answer);
      if (problem !== null) findings.push({ route: name, request, problem });
      const changes = target.checked.accepted.slice(acceptedBefore).filter((c) => !recordedWhenRefused.has(c.type));
      if (answer.status >= 400 && (changes.length > 0 || (before !== target.api.current && changes.length === 0 && target.checked.accepted.length === acceptedBefore))) {
        findings.push({ route: name, request, problem: `refused with ${answer.status} but changed the state (${changes.map((c) => c.type).join(', ') || 'outside propose'})` });
      }
    }
    routeMs.push([name, performance.now() - routeStarted]);
    options.log?.(`${name}: ${options.casesPerRoute} cases`);
  }
  target.api.current = initial;
  const slowest = routeMs.sort((a, b) => b[1] - a[1]).slice(0, 5).map(([n, ms]) => `${n}: ${Math.round(ms)} ms`);
  const unschematized = routes.filter((r) => missingSchemas(r).length > 0).map((r) => `${r.method} ${r.url} (no ${missingSchemas(r).join(', ')} schema)`);
  return { seed: options.seed, routes: routes.length, cases, statuses, accepted, findings, unschematized, slowest, ms: Math.round(performance.now() - started) };
}
