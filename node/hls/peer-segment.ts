// What a gateway tells a peer about a segment it hands over from its cache (the answer of
// GET /internal/v1/hls/<stream>/public/<n>.ts): the bytes, plus headers saying which epoch and
// worker index the number names, so the peer lists it exactly as this gateway did.
import type { IncomingHttpHeaders } from 'node:http';

import type { CachedSegment } from './segment-cache.ts';
import type { SegmentFacts } from './timeline.ts';

export const epochHeader = 'x-ottmesh-epoch';
export const indexHeader = 'x-ottmesh-index';
export const durationHeader = 'x-ottmesh-duration-s';
export const pdtHeader = 'x-ottmesh-pdt-ms';
export const discontinuityHeader = 'x-ottmesh-worker-discontinuity';

export function segmentHeaders(segment: CachedSegment): Record<string, string> {
  return {
    [epochHeader]: String(segment.epoch),
    [indexHeader]: String(segment.k),
    [durationHeader]: String(segment.durationS),
    [pdtHeader]: String(segment.pdtMs),
    [discontinuityHeader]: segment.workerDiscontinuity ? '1' : '0',
  };
}

/** The facts a peer sent; null when a header is missing or malformed (the answer is ignored). */
export function readSegmentHeaders(headers: IncomingHttpHeaders): SegmentFacts | null {
  const epoch = wholeNumber(headers[epochHeader]);
  const k = wholeNumber(headers[indexHeader]);
  const durationS = Number(one(headers[durationHeader]) ?? NaN);
  const pdtMs = wholeNumber(headers[pdtHeader]);
  const flag = one(headers[discontinuityHeader]);
  if (epoch === null || k === null || pdtMs === null || !(durationS > 0 && durationS <= 600) || (flag !== '0' && flag !== '1')) return null;
  return { epoch, k, durationS, pdtMs, workerDiscontinuity: flag === '1' };
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function wholeNumber(value: string | string[] | undefined): number | null {
  const text = one(value);
  if (text === undefined || !/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}
