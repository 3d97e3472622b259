// What makes a stream, service, group or policy acceptable: checks apply() runs before changing
// the state (the API runs the same ones first, for its 400s). Pure; each returns a reason or null.
import { nameProblem } from './names.ts';
import { sourceSchemes } from './stream-types.ts';
import type { HlsSettings, Policy, PolicyOverride, Profile, ServiceRecord, SourceRecord, StreamRecord } from './stream-types.ts';

/** Stream and service ids: they become URL path segments and directory names. */
export const slugPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const sourcesMax = 16;
export const streamsMax = 10_000;
export const servicesMax = 1_000;
export const groupsMax = 1_000;
export const segmentSMin = 1;
export const segmentSMax = 10;
export const windowSegmentsMax = 30;

export function slugProblem(what: 'stream id' | 'service id', id: string): string | null {
  if (!slugPattern.test(id)) return `${what} "${id.slice(0, 70)}" must be 1-64 of a-z, 0-9, '-' and '_', starting with a letter or digit`;
  return null;
}

/** Why `url` may not be a source: only network schemes, and nothing ffmpeg could read as an
 *  option, a protocol chain (concat:, subfile,) or a local file. */
export function sourceUrlProblem(url: string): string | null {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return `source "${url.slice(0, 80)}" is not an absolute URL (like http://host/stream.ts or udp://239.0.0.1:1234)`;
  if (!(sourceSchemes as readonly string[]).includes(scheme)) {
    return `source scheme "${scheme}:" is not allowed: use one of ${sourceSchemes.join(', ')} (local files and programs are never run)`;
  }
  if (!url.toLowerCase().startsWith(`${scheme}://`)) return `source "${url.slice(0, 80)}" must be ${scheme}://...`;
  if ([...url].some((ch) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) === 0x7f)) return `source "${url.slice(0, 80)}" contains spaces or control characters`;
  return null;
}

export function sourceProblem(source: SourceRecord): string | null {
  const problem = sourceUrlProblem(source.url);
  if (problem !== null) return problem;
  if (!Number.isInteger(source.priority)) return `source priority must be an integer, not ${source.priority}`;
  for (const [field, value] of [['userAgent', source.userAgent], ['referrer', source.referrer]] as const) {
    if (value !== null && /[\r\n]/.test(value)) return `source ${field} must be one line`;
  }
  return null;
}

export function profileProblem(profile: Profile): string | null {
  if (profile === 'copy') return null;
  const { height, videoKbps, audioKbps } = profile;
  if (!Number.isInteger(height) || height < 144 || height > 2160 || height % 2 !== 0) return `profile height must be an even number of lines from 144 to 2160, not ${height}`;
  if (!Number.isInteger(videoKbps) || videoKbps < 100 || videoKbps > 50_000) return `profile videoKbps must be from 100 to 50000, not ${videoKbps}`;
  if (!Number.isInteger(audioKbps) || audioKbps < 32 || audioKbps > 512) return `profile audioKbps must be from 32 to 512, not ${audioKbps}`;
  return null;
}

export function policyProblem(policy: PolicyOverride): string | null {
  const p = policy as Partial<Policy>;
  if (p.strategy !== undefined && p.strategy !== 'spread' && p.strategy !== 'binpack') return `policy strategy must be "spread" or "binpack", not "${String(p.strategy)}"`;
  if (p.groups !== undefined) {
    for (const group of p.groups) {
      const problem = nameProblem('group name', group);
      if (problem !== null) return `policy groups: ${problem}`;
    }
  }
  for (const field of ['cpuCeilPct', 'memCeilPct'] as const) {
    const value = p[field];
    if (value !== undefined && !(value > 0 && value <= 100)) return `policy ${field} must be more than 0 and at most 100, not ${value}`;
  }
  if (p.maxStreamsPerNode !== undefined && !(Number.isInteger(p.maxStreamsPerNode) && p.maxStreamsPerNode >= 0)) return `policy maxStreamsPerNode must be a whole number (0: no limit), not ${p.maxStreamsPerNode}`;
  if (p.stickiness !== undefined && !(p.stickiness >= 0 && p.stickiness <= 1)) return `policy stickiness must be from 0 to 1, not ${p.stickiness}`;
  if (p.rebalanceMovesPerMin !== undefined && !(Number.isInteger(p.rebalanceMovesPerMin) && p.rebalanceMovesPerMin >= 0 && p.rebalanceMovesPerMin <= 1000)) {
    return `policy rebalanceMovesPerMin must be a whole number from 0 to 1000, not ${p.rebalanceMovesPerMin}`;
  }
  return null;
}

export function hlsProblem(hls: HlsSettings): string | null {
  if (!(hls.segmentS >= segmentSMin && hls.segmentS <= segmentSMax)) return `hls segmentS must be from ${segmentSMin} to ${segmentSMax} seconds, not ${hls.segmentS}`;
  if (!Number.isInteger(hls.windowSegments) || hls.windowSegments > windowSegmentsMax || hls.windowSegments * hls.segmentS < 3 * Math.ceil(hls.segmentS)) {
    return `hls windowSegments must be a whole number up to ${windowSegmentsMax} covering at least 3 target durations, not ${hls.windowSegments}`;
  }
  if (hls.signingSecret !== null && hls.signingSecret.length < 16) return 'hls signingSecret must be at least 16 characters (or null: no signing)';
  return null;
}

export function streamProblem(stream: StreamRecord): string | null {
  const id = slugProblem('stream id', stream.id);
  if (id !== null) return id;
  if (stream.name.trim() === '') return 'stream name is empty';
  if (stream.sources.length === 0) return `stream ${stream.id} needs at least one source`;
  if (stream.sources.length > sourcesMax) return `stream ${stream.id} has ${stream.sources.length} sources, at most ${sourcesMax}`;
  for (const source of stream.sources) {
    const problem = sourceProblem(source);
    if (problem !== null) return problem;
  }
  if (!Number.isInteger(stream.priority)) return `stream priority must be an integer, not ${stream.priority}`;
  if (stream.pinGroup !== null) {
    const problem = nameProblem('group name', stream.pinGroup);
    if (problem !== null) return `pinGroup: ${problem}`;
  }
  return profileProblem(stream.profile) ?? policyProblem(stream.policy);
}

export function serviceProblem(service: ServiceRecord): string | null {
  const id = slugProblem('service id', service.id);
  if (id !== null) return id;
  if (service.name.trim() === '') return 'service name is empty';
  const badEpg = (service.epgUrls ?? []).find((u) => !/^https?:\/\/[^\s/]+/i.test(u));
  if (badEpg !== undefined) return `epgUrls: ${JSON.stringify(badEpg)} is not an http(s) URL of an XMLTV guide`;
  return policyProblem(service.policy) ?? hlsProblem(service.hls);
}
