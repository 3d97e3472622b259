// Values drawn from a route's JSON Schema (TypeBox emits plain JSON Schema) with a seeded
// generator: valid ones, at their edges too (lengths at the bounds, odd unicode, NUL bytes,
// extreme numbers), and invalid ones (wrong types, missing and unknown fields, nulls, out of
// range, huge, deeply nested, and raw bodies that are not JSON at all). Pure.
import type { Rng } from '../sim/rng.ts';
import { samplePattern } from './regex-sample.ts';

/** The JSON Schema keywords the route schemas use. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly patternProperties?: Readonly<Record<string, JsonSchema>>;
  readonly minProperties?: number;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
  readonly anyOf?: readonly JsonSchema[];
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
}

/** A request body: a JSON value (serialized by the sender) or raw text/bytes sent as is. */
export type Payload =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'raw'; readonly bytes: string | Uint8Array };

/** One generated input with what it is, for failure reports. */
export interface Generated<T> {
  readonly label: string;
  readonly value: T;
}

/** Strings a parser, a path or a shell may trip over; all are valid JSON strings. */
export const oddStrings: readonly string[] = [
  '', ' ', '\u0000', 'a\u0000b', '\r\n', '\t', '../../../etc/passwd', '..\\..\\windows', '%00', '%2e%2e%2f', '${jndi:ldap://x}',
  '$(id)', '`id`', '; rm -rf /', '| cat /etc/passwd', '\u202eevil', '\u200b', 'e\u0301', '\ud83d\ude00', '\ud800', '\udfff', '\uffff', '\ufeff',
  '<script>alert(1)</script>', "' OR '1'='1", '{{7*7}}', 'null', 'true', '0', '-1', 'NaN', 'Infinity', '1e999', '__proto__', 'constructor',
  '\u0085', '\u2028', 'Ω≈ç√∫', '日本語', '\u00ad', 'A'.repeat(300),
];

/** URLs a source field may be given: hostile ones and plain loopback ones. */
export const urlCandidates: readonly string[] = [
  'http://127.0.0.1:9/live.ts', 'https://127.0.0.1:9/a.m3u8', 'udp://127.0.0.1:1234', 'rtp://127.0.0.1:5004', 'srt://127.0.0.1:9000',
  'rtmp://127.0.0.1/live/x', 'http://user:pass@127.0.0.1:65535/x?y=1#z', 'http://127.0.0.1:0/x', 'http://127.0.0.1:99999/x', 'http://[::1]:9/x', 'udp://@239.0.0.1:1234',
  'file:///etc/passwd', 'pipe:0', 'concat:http://a|http://b', 'subfile,,start,0,end,10,,:/etc/passwd', 'data:text/plain,hi',
  '/etc/passwd', '-i /etc/passwd', 'http://127.0.0.1:9/$(id)', 'http://127.0.0.1:9/`id`', 'http://127.0.0.1:9/a;rm -rf /',
  'http://127.0.0.1:9/a|file:/etc/passwd', 'http://127.0.0.1:9/a\n-f null', 'http://127.0.0.1:9/a\u0000b', 'gopher://127.0.0.1:70/x',
];

const integerEdges = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 1e15, 1e21];
const numberEdges = [0, -0, 0.5, -0.5, 1e-300, 5e-324, 1e308, -1e308, 0.1 + 0.2, 123456789.12345679];

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return typeof schema.type === 'string' ? [schema.type] : [...schema.type];
}

/** Fits `s` into the schema's length bounds (in code points, as ajv counts), keeping its start. */
function fitLength(s: string, schema: JsonSchema, filler = 'a'): string {
  const chars = [...s];
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Infinity;
  while (chars.length < min) chars.push(filler);
  return chars.slice(0, max).join('');
}

/** Names that exist in the state under attack (ids of nodes, streams, lines ...): string fields
 *  that accept one often get one, so requests reach past the "no such thing" answers. */
export interface Known {
  readonly values: readonly string[];
}
const noneKnown: Known = { values: [] };

function fits(value: string, schema: JsonSchema): boolean {
  const length = [...value].length;
  if (length < (schema.minLength ?? 0) || length > (schema.maxLength ?? Infinity)) return false;
  return schema.pattern === undefined || new RegExp(schema.pattern, 'u').test(value);
}

/** A value the schema accepts (as well as this generator can tell); `edge` prefers boundaries
 *  and odd content. `name` is the property it goes into (a hint: URL fields get URLs). */
export function validValue(schema: JsonSchema, rng: Rng, edge = false, name = '', depth = 0, known: Known = noneKnown): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum !== undefined) return rng.pick(schema.enum);
  if (schema.anyOf !== undefined) return validValue(rng.pick(schema.anyOf), rng, edge, name, depth, known);
  const types = typesOf(schema);
  const type = types.length === 0 ? (schema.properties !== undefined ? 'object' : 'any') : rng.pick(types);
  switch (type) {
    case 'null': return null;
    case 'boolean': return rng.chance(0.5);
    case 'integer': return validInteger(schema, rng, edge);
    case 'number': return validNumber(schema, rng, edge);
    case 'string': {
      const candidates = known.values.filter((v) => fits(v, schema));
      if (candidates.length > 0 && !/url/i.test(name) && rng.chance(0.5)) return rng.pick(candidates);
      return validString(schema, rng, edge, name);
    }
    case 'array': {
      const min = schema.minItems ?? 0;
      const max = schema.maxItems ?? min + 4;
      const count = edge && rng.chance(0.5) ? max : rng.int(min, Math.min(max, min + 3));
      const out: unknown[] = [];
      for (let i = 0; i < count * 3 && out.length < count; i++) {
        const item = schema.items === undefined ? rng.int(0, 9) : validValue(schema.items, rng, edge, name, depth + 1, known);
        if (schema.uniqueItems === true && out.some((o) => JSON.stringify(o) === JSON.stringify(item))) continue;
        out.push(item);
      }
      return out;
    }
    case 'object': return validObject(schema, rng, edge, depth, known);
    default: return depth > 2 ? rng.int(0, 9) : rng.pick([null, true, 1, 'x', [], { a: 1 }]);
  }
}

function validInteger(schema: JsonSchema, rng: Rng, edge: boolean): number {
  const lo = schema.minimum ?? (schema.exclusiveMinimum === undefined ? -1000 : Math.floor(schema.exclusiveMinimum) + 1);
  const hi = schema.maximum ?? (schema.exclusiveMaximum === undefined ? lo + 1000 : Math.ceil(schema.exclusiveMaximum) - 1);
  if (!edge) return rng.int(lo, hi);
  const unbounded = schema.maximum === undefined && schema.exclusiveMaximum === undefined;
  return rng.pick([lo, hi, ...(unbounded ? integerEdges.filter((n) => n >= lo) : [])]);
}

function validNumber(schema: JsonSchema, rng: Rng, edge: boolean): number {
  const lo = schema.minimum ?? schema.exclusiveMinimum ?? -1e6;
  const hi = schema.maximum ?? schema.exclusiveMaximum ?? 1e6;
  const inside = (n: number) => n >= lo && n <= hi && n !== schema.exclusiveMinimum && n !== schema.exclusiveMaximum;
  if (edge) {
    const picks = [lo, hi, ...numberEdges].filter(inside);
    if (picks.length > 0) return rng.pick(picks);
  }
  const n = rng.float(lo, hi);
  return inside(n) ? n : (lo + hi) / 2;
}

function validString(schema: JsonSchema, rng: Rng, edge: boolean, name: string): string {
  if (schema.pattern !== undefined) return fitLength(samplePattern(schema.pattern, rng, edge && rng.chance(0.5)), schema);
  if (schema.format === 'date-time') return rng.pick(['2030-01-31T00:00:00Z', '1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59Z', '2030-01-31T00:00:00+14:00', '2016-12-31T23:59:60Z']);
  if (/url/i.test(name)) return fitLength(rng.pick(urlCandidates), schema);
  if (edge) {
    if (rng.chance(0.3) && schema.maxLength !== undefined) return fitLength('', { ...schema, minLength: schema.maxLength }, rng.pick(['a', 'é', '\ud83d\ude00', '\u0000']));
    return fitLength(rng.pick(oddStrings), schema);
  }
  return fitLength(`v${rng.int(0, 99999)}`, schema);
}

function validObject(schema: JsonSchema, rng: Rng, edge: boolean, depth: number, known: Known): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const required = new Set(schema.required ?? []);
  const props = Object.entries(schema.properties ?? {});
  for (const [key, sub] of props) {
    if (required.has(key) || (edge ? rng.chance(0.8) : rng.chance(0.4))) out[key] = validValue(sub, rng, edge, key, depth + 1, known);
  }
  for (const [, sub] of Object.entries(schema.patternProperties ?? {})) {
    for (let i = rng.int(0, 2); i > 0; i--) out[known.values.length > 0 && rng.chance(0.5) ? rng.pick(known.values) : `k${rng.int(0, 99)}`] = validValue(sub, rng, edge, '', depth + 1, known);
  }
  const minProps = schema.minProperties ?? 0;
  for (const [key, sub] of props) {
    if (Object.keys(out).length >= minProps) break;
    if (!(key in out)) out[key] = validValue(sub, rng, edge, key, depth + 1, known);
  }
  return out;
}

/** A value of a JSON type the schema does not name (null, a number for a string, ...). */
function wrongType(schema: JsonSchema, rng: Rng): Generated<unknown> {
  const types = new Set(schema.anyOf !== undefined ? schema.anyOf.flatMap(typesOf) : typesOf(schema));
  const options: Generated<unknown>[] = [
    { label: 'null', value: null }, { label: 'boolean', value: true }, { label: 'number', value: -12.5 }, { label: 'integer', value: 7 },
    { label: 'string', value: 'not-a-valid-value' }, { label: 'array', value: [1, 'two', null] }, { label: 'object', value: { nested: { deeper: [] } } },
  ];
  const wrong = options.filter((o) => !types.has(o.label) && !(o.label === 'integer' && types.has('number')));
  return rng.pick(wrong.length > 0 ? wrong : options);
}

/** Something the schema refuses at this spot (or an edge it may not expect). */
function badValue(schema: JsonSchema, rng: Rng): Generated<unknown> {
  const types = typesOf(schema);
  const pick = rng.int(0, 5);
  if (pick === 0) return wrongType(schema, rng);
  if (pick === 1) return { label: 'null', value: null };
  if (pick === 2) return { label: 'deep nesting', value: nested(rng.int(20, 200)) };
  if (types.includes('integer') || types.includes('number')) {
    const n = rng.pick([
      (schema.minimum ?? 0) - 1, (schema.maximum ?? 2 ** 53) + 1, 0.5, -0.000001, 2 ** 64, -(2 ** 64), 1e308, Number.MIN_VALUE, schema.exclusiveMinimum ?? -1,
    ]);
    return { label: `number ${n}`, value: n };
  }
  if (types.includes('string')) {
    const max = schema.maxLength ?? 4096;
    const s = rng.pick([
      'x'.repeat(Math.min(max + 1, 60_000)), '', '\u0000'.repeat(8), `${rng.pick(oddStrings)}${rng.pick(oddStrings)}`, '\ud800\udc00'.repeat(Math.min(max + 1, 8000)),
      rng.pick(urlCandidates), 'é'.repeat(Math.min(max + 1, 20_000)),
    ]);
    return { label: `string (${s.length} chars)`, value: s };
  }
  if (types.includes('array')) {
    const item = schema.items === undefined ? 1 : validValue(schema.items, rng);
    const count = Math.min((schema.maxItems ?? 100) + 1, 5000);
    return rng.chance(0.5) ? { label: `array of ${count}`, value: Array.from({ length: count }, () => item) } : { label: 'duplicate items', value: [item, item] };
  }
  return wrongType(schema, rng);
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
}

/** A path into `value` (object keys and array indexes) chosen at random, with the schema there. */
function randomSpot(schema: JsonSchema, value: unknown, rng: Rng): { path: (string | number)[]; schema: JsonSchema } {
  const path: (string | number)[] = [];
  let s = schema;
  let v = value;
  while (rng.chance(0.6)) {
    if (s.anyOf !== undefined) s = s.anyOf.find((o) => typesOf(o).includes(Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v)) ?? s.anyOf[0]!;
    if (Array.isArray(v) && v.length > 0 && s.items !== undefined) {
      const i = rng.int(0, v.length - 1);
      path.push(i);
      [s, v] = [s.items, v[i]];
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && s.properties !== undefined) {
      const keys = Object.keys(v).filter((k) => s.properties![k] !== undefined);
      if (keys.length === 0) break;
      const k = rng.pick(keys);
      path.push(k);
      [s, v] = [s.properties[k]!, (v as Record<string, unknown>)[k]];
    } else break;
  }
  return { path, schema: s };
}

function setAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) return root.map((item, i) => (i === head ? setAt(item, rest, value) : item));
  const obj = root as Record<string, unknown>;
  return { ...obj, [head!]: setAt(obj[head as string], rest, value) };
}

/** One invalid (or hostile) body for `schema`, derived from a valid one. */
export function invalidBody(schema: JsonSchema, rng: Rng, known: Known = noneKnown): Generated<Payload> {
  const base = validValue(schema, rng, false, '', 0, known);
  const kind = rng.int(0, 9);
  if (kind === 0) return rawBody(rng, base);
  if (kind === 1 && typeof base === 'object' && base !== null && !Array.isArray(base) && (schema.required?.length ?? 0) > 0) {
    const missing = rng.pick(schema.required!);
    const { [missing]: _dropped, ...rest } = base as Record<string, unknown>;
    return { label: `missing required "${missing}"`, value: { kind: 'json', value: rest } };
  }
  if (kind === 2 && typeof base === 'object' && base !== null && !Array.isArray(base)) {
    const extra = rng.pick(['unknownField', 'admin', 'role', 'id ', 'password', 'constructor', 'toString', 'x'.repeat(1000)]);
    return { label: `unknown field "${extra.slice(0, 20)}"`, value: { kind: 'json', value: { ...base, [extra]: rng.pick(oddStrings) } } };
  }
  if (kind === 3) {
    const top = wrongType(schema, rng);
    return { label: `top-level ${top.label}`, value: { kind: 'json', value: top.value } };
  }
  const spot = randomSpot(schema, base, rng);
  const bad = badValue(spot.schema, rng);
  return { label: `${bad.label} at /${spot.path.join('/')}`, value: { kind: 'json', value: setAt(base, spot.path, bad.value) } };
}

/** Bodies that are not (plain) JSON: truncated, binary, numbers JSON cannot hold, prototype keys. */
export function rawBody(rng: Rng, base: unknown): Generated<Payload> {
  const text = JSON.stringify(base) ?? 'null';
  const options: Generated<string | Uint8Array>[] = [
    { label: 'empty', value: '' },
    { label: 'truncated', value: text.slice(0, Math.max(1, Math.floor(text.length / 2))) },
    { label: 'trailing garbage', value: `${text}}}}` },
    { label: 'BOM first', value: `\ufeff${text}` },
    { label: 'NUL bytes', value: `${text}\u0000\u0000` },
    { label: '1e400', value: text.startsWith('{') ? `{"n":1e400,${text.slice(1)}` : '1e400' },
    { label: 'a 400-digit number', value: '9'.repeat(400) },
    { label: '__proto__ key', value: '{"__proto__":{"admin":true},"constructor":{"prototype":{"polluted":1}}}' },
    { label: 'duplicate keys', value: text.startsWith('{"') ? `${text.slice(0, -1)},${text.slice(1)}` : '{"a":1,"a":2}' },
    { label: '10k-deep array', value: `${'['.repeat(10_000)}${']'.repeat(10_000)}` },
    { label: '100k-deep array, unclosed', value: '['.repeat(100_000) },
    { label: 'invalid UTF-8', value: Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0xff, 0xfe, 0x22, 0x7d]) },
    { label: 'overlong UTF-8 slash', value: Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x2e, 0x2e, 0xc0, 0xaf, 0x22, 0x7d]) },
    { label: 'UTF-16', value: new Uint8Array(Buffer.from(`\ufeff${text}`, 'utf16le')) },
    { label: 'random bytes', value: Uint8Array.from({ length: rng.int(1, 512) }, () => rng.int(0, 255)) },
    { label: 'NaN literal', value: '{"a":NaN}' },
    { label: 'single-quoted JSON', value: "{'a':1}" },
    { label: 'lone surrogate escape', value: '{"name":"\\ud800"}' },
  ];
  const chosen = rng.pick(options);
  return { label: `raw ${chosen.label}`, value: { kind: 'raw', bytes: chosen.value } };
}

/** Querystring parameters as [key, value] pairs, before percent-encoding: valid or hostile. */
export function queryPairs(schema: JsonSchema | undefined, rng: Rng, valid: boolean, known: Known = noneKnown): Generated<[string, string][]> {
  const props = Object.entries(schema?.properties ?? {});
  const pairs: [string, string][] = [];
  for (const [key, sub] of props) {
    if ((schema?.required ?? []).includes(key) || rng.chance(0.5)) pairs.push([key, String(validValue(sub, rng, !valid && rng.chance(0.3), key, 0, known))]);
  }
  if (valid) return { label: 'valid query', value: pairs };
  const kind = rng.int(0, 4);
  if (kind === 0 || props.length === 0) {
    const key = rng.pick(['unknown', '__proto__', 'constructor', '', '%00', 'a[b]', 'x'.repeat(500)]);
    return { label: `unknown parameter "${key.slice(0, 20)}"`, value: [...pairs, [key, rng.pick(oddStrings)]] };
  }
  const [key, sub] = rng.pick(props);
  if (kind === 1) return { label: `repeated "${key}"`, value: [...pairs, [key, String(validValue(sub, rng))], [key, String(validValue(sub, rng))]] };
  const bad = badValue(sub, rng);
  const text = typeof bad.value === 'string' ? bad.value : JSON.stringify(bad.value) ?? '';
  return { label: `${bad.label} for "${key}"`, value: [...pairs.filter(([k]) => k !== key), [key, text.slice(0, 6000)]] };
}

/** Raw query strings no encoder would make (bad escapes, overlong UTF-8, bare separators). */
export const rawQueries: readonly string[] = [
  '%', '%zz', '%00', 'a=%E0%80%AF', 'a=%C0%AE%C0%AE%C0%AF', '&&&', '=', '==&==', 'a=1&a=2&a=3', 'a', `a=${'%41'.repeat(2000)}`, '?', '#',
  'limit=1e3', 'limit=-0', 'limit=0x10', 'limit=Infinity', 'limit=NaN', 'dryRun=yes', 'dryRun=', 'service=../x', 'ttlS=99999999999999999999',
];

/** A value for a path parameter: valid per its schema, or hostile. Not yet percent-encoded. */
export function paramValue(schema: JsonSchema | undefined, rng: Rng, valid: boolean, known: Known = noneKnown): Generated<string> {
  if (valid && schema !== undefined) return { label: 'valid', value: String(validValue(schema, rng, rng.chance(0.3), '', 0, known)) };
  const value = rng.pick([
    ...oddStrings, '..', '.', '%2e%2e', '%252e%252e%252f', 'x'.repeat(rng.int(65, 3000)), '😀', 'ABC', 'a b', 'a/b', 'a?b', 'a#b', '-1', '99999999999999999999', 'p1',
  ]);
  return { label: `param ${JSON.stringify(value.slice(0, 24))}`, value };
}
