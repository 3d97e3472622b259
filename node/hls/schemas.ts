// Schemas the HLS routes share: path parameters checked before any lookup, and the 200 answers
// that are not JSON.
import { Type } from 'typebox';

/** Stream ids as the state accepts them (stream-rules.ts slugPattern). */
export const streamIdPattern = '^[a-z0-9][a-z0-9_-]{0,63}$';
export const StreamParam = Type.String({ pattern: streamIdPattern });
/** Epoch directories: a whole number. */
export const EpochParam = Type.String({ pattern: '^\\d{1,15}$' });
/** Public segment names: `<n>.ts`. */
export const PublicSegmentParam = Type.String({ pattern: '^\\d{1,15}\\.ts$' });
/** A viewer's signature (signing.ts); lengths bounded, the content checked by the handler. */
export const SignedQuery = Type.Object({
  exp: Type.Optional(Type.String({ maxLength: 20 })), sig: Type.Optional(Type.String({ maxLength: 128 })),
  /** A viewer line's session token (node/hls/viewers-http.ts), bound into the signature when the service signs. */
  vt: Type.Optional(Type.String({ maxLength: 1024 })),
});
/** 200 answers are playlist text or MPEG-TS bytes, never JSON (so never serialized). */
export const NotJson = Type.Unsafe<Buffer | string | NodeJS.ReadableStream>({ description: 'an HLS playlist or MPEG-TS bytes' });
export const Redirect = Type.Unsafe<undefined>({ description: 'redirect mode: the worker serves the segment' });
