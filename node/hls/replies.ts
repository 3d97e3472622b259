// Answers shared by the HLS routes: the content types and cache rules of playlists and
// segments, and error bodies in the API's shape ({ statusCode, error, message }).
import { open } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';

import type { FastifyReply } from 'fastify';

/** Playlists change every segment: players must revalidate (RFC 8216 leaves it to HTTP). */
export const playlistHeaders = { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' } as const;
/** A public number names one segment forever: caches may keep it. */
export const segmentHeaders = { 'content-type': 'video/mp2t', 'cache-control': 'public, max-age=3600, immutable' } as const;
/** Worker playlists and segments between nodes: never cached on the way. */
export const internalHeaders = { 'cache-control': 'no-store' } as const;
/** Headers a web player on another origin may read (CORS). */
export const exposedHeaders = ['Content-Length', 'Content-Type', 'Date', 'Retry-After'];
/** Retry-After (s) of the 503 answered while a stream has no segment yet. */
export const startingRetryAfterS = 1;

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).header('cache-control', 'no-store').send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message });
}

/** The segment as a Buffer without copying (the cache holds Uint8Arrays). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Sends a local file (its path made by the caller from validated parts only); 404 with
 *  `missing` when it does not exist. Small files are read whole, larger ones streamed. */
export async function sendLocalFile(reply: FastifyReply, path: string, headers: Record<string, string>, missing: string): Promise<FastifyReply> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return sendError(reply, 404, missing);
    throw err;
  }
  const smallFileBytes = 64 * 1024;
  let size = -1;
  try {
    size = (await handle.stat()).size;
    if (size <= smallFileBytes) return reply.code(200).headers(headers).send(await handle.readFile());
  } finally {
    // A small file is read by now (or stat failed: size -1); a larger one is handed to its
    // stream below, which closes the handle when it ends or the client goes away.
    if (size <= smallFileBytes) await handle.close();
  }
  return reply.code(200).headers({ ...headers, 'content-length': String(size) }).send(handle.createReadStream());
}
