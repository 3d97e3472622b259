// The merged guide the node serves (docs/iptv.md "EPG"): which guide URLs serve which streams,
// the guide of every enabled stream built from the fetched snapshots, the XMLTV document, and
// the Xtream EPG answers (get_short_epg, get_simple_data_table). Pure: the refresher
// (node/epg/refresher.ts) fetches and parses; this decides what is kept and how it is written.
import type { ClusterState, StreamRecord } from '../state/index.ts';
import { panelTime } from './xtream.ts';
import { escapeXml, formatXmltvTime } from './xmltv.ts';
import type { GuideChannel, GuideProgramme, GuideSnapshot } from './xmltv.ts';

/** Per guide URL, the streams it serves: those of every service that lists it. */
export interface GuideWants {
  readonly streamIds: readonly string[];
  /** Changes when the set of streams changes (a refetch is then due: new ids may match). */
  readonly signature: string;
}

/** Every listed guide URL with the streams it serves (all of a service's streams, enabled or
 *  not: enabling one must not wait for the next fetch). */
export function guideWants(state: Pick<ClusterState, 'services' | 'streams'>): Map<string, GuideWants> {
  const byService = new Map<string, string[]>();
  for (const stream of Object.values(state.streams)) {
    if (stream.serviceId === null) continue;
    let list = byService.get(stream.serviceId);
    if (list === undefined) byService.set(stream.serviceId, list = []);
    list.push(stream.id);
  }
  const byUrl = new Map<string, Set<string>>();
  for (const service of Object.values(state.services)) {
    for (const url of service.epgUrls ?? []) {
      let set = byUrl.get(url);
      if (set === undefined) byUrl.set(url, set = new Set());
      for (const id of byService.get(service.id) ?? []) set.add(id);
    }
  }
  const wants = new Map<string, GuideWants>();
  for (const [url, set] of byUrl) {
    const streamIds = [...set].sort();
    wants.set(url, { streamIds, signature: `${streamIds.length}:${fnv1a(streamIds.join('\n'))}` });
  }
  return wants;
}

/** One stream's part of the merged guide. */
export interface StreamGuide {
  readonly streamId: string;
  readonly name: string;
  readonly serviceId: string | null;
  readonly channel: GuideChannel | null;
  readonly programmes: readonly GuideProgramme[];
}

/** The guide of every enabled stream whose service lists guides: for each, the channel and the
 *  programmes of the first of the service's URLs (in its order) that has them. Immutable; the
 *  rendered XMLTV is kept once made. */
export class Guide {
  readonly version: number;
  readonly #streams: ReadonlyMap<string, StreamGuide>;
  readonly #rendered = new Map<string, string>();

  constructor(version: number, streams: ReadonlyMap<string, StreamGuide>) {
    this.version = version;
    this.#streams = streams;
  }

  static readonly empty = new Guide(0, new Map());

  get size(): number {
    return this.#streams.size;
  }

  stream(streamId: string): StreamGuide | null {
    return this.#streams.get(streamId) ?? null;
  }

  /** The logo URL the guide gives a stream, or ''. */
  logo(streamId: string): string {
    return this.#streams.get(streamId)?.channel?.icon ?? '';
  }

  /** The XMLTV document of all streams, or of one service's (`serviceId`). Streams by name. */
  xmltv(serviceId?: string): string {
    const key = serviceId ?? '';
    let text = this.#rendered.get(key);
    if (text === undefined) {
      const streams = [...this.#streams.values()].filter((s) => serviceId === undefined || s.serviceId === serviceId);
      text = renderXmltv(streams.sort((a, b) => a.name.localeCompare(b.name) || a.streamId.localeCompare(b.streamId)));
      this.#rendered.set(key, text);
    }
    return text;
  }
}

/** Builds the merged guide from the state and the snapshots by URL. */
export function mergeGuide(version: number, state: Pick<ClusterState, 'services' | 'streams'>, snapshots: ReadonlyMap<string, GuideSnapshot>): Guide {
  const streams = new Map<string, StreamGuide>();
  for (const stream of Object.values(state.streams) as StreamRecord[]) {
    if (!stream.enabled || stream.serviceId === null || !Object.hasOwn(state.services, stream.serviceId)) continue;
    const urls = state.services[stream.serviceId]!.epgUrls ?? [];
    if (urls.length === 0) continue;
    let channel: GuideChannel | null = null;
    let programmes: readonly GuideProgramme[] = [];
    for (const url of urls) {
      const snapshot = snapshots.get(url);
      if (snapshot === undefined) continue;
      channel ??= snapshot.channels.get(stream.id) ?? null;
      if (programmes.length === 0) programmes = snapshot.programmes.get(stream.id) ?? [];
    }
    if (channel === null && programmes.length === 0) continue;
    streams.set(stream.id, { streamId: stream.id, name: stream.name, serviceId: stream.serviceId, channel, programmes });
  }
  return new Guide(version, streams);
}

/** The XMLTV document: each stream's channel (our name first, then the guide's display names
 *  and icons) and programmes, under the stream id. UTF-8, no BOM. */
export function renderXmltv(streams: readonly StreamGuide[]): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv generator-info-name="ottmesh">\n'];
  for (const s of streams) {
    parts.push(`  <channel id="${escapeXml(s.streamId)}"><display-name>${escapeXml(s.name)}</display-name>${s.channel?.innerXml ?? ''}</channel>\n`);
  }
  for (const s of streams) {
    const channel = escapeXml(s.streamId);
    for (const p of s.programmes) {
      parts.push(`  <programme start="${formatXmltvTime(p.startMs)}" stop="${formatXmltvTime(p.stopMs)}" channel="${channel}"${p.attrsXml}>${p.innerXml}</programme>\n`);
    }
  }
  parts.push('</tv>\n');
  return parts.join('');
}

/** One entry of `epg_listings` (../shared/IPTV-CONVENTIONS.md 3.2): strings as panels send
 *  them, title and description base64 (UTF-8), times in UTC. */
export interface EpgListing {
  readonly id: string;
  readonly epg_id: string;
  readonly title: string;
  readonly lang: string;
  readonly start: string;
  readonly end: string;
  readonly description: string;
  readonly channel_id: string;
  readonly start_timestamp: string;
  readonly stop_timestamp: string;
  readonly stream_id: string;
  readonly now_playing?: 0 | 1;
  readonly has_archive?: 0;
}

/** get_short_epg answers this many programmes when the player gives no limit. */
export const shortEpgDefaultLimit = 4;
export const shortEpgLimitMax = 1000;

/** `get_short_epg`: the programme on now and the next ones, at most `limit`. */
export function shortEpg(guide: StreamGuide | null, xtreamId: number, nowMs: number, limit: number): { epg_listings: EpgListing[] } {
  if (guide === null) return { epg_listings: [] };
  const current = guide.programmes.filter((p) => p.stopMs > nowMs).slice(0, Math.max(1, Math.min(limit, shortEpgLimitMax)));
  return { epg_listings: current.map((p) => listing(guide, p, xtreamId)) };
}

/** `get_simple_data_table`: every programme kept, with `now_playing`. */
export function simpleDataTable(guide: StreamGuide | null, xtreamId: number, nowMs: number): { epg_listings: EpgListing[] } {
  if (guide === null) return { epg_listings: [] };
  return {
    epg_listings: guide.programmes.map((p) => ({ ...listing(guide, p, xtreamId), now_playing: p.startMs <= nowMs && nowMs < p.stopMs ? 1 : 0, has_archive: 0 })),
  };
}

/** The `limit` query of get_short_epg: a whole number from 1, else the default. */
export function shortEpgLimit(text: string | undefined): number {
  if (text === undefined || !/^\d{1,6}$/.test(text) || Number(text) < 1) return shortEpgDefaultLimit;
  return Math.min(Number(text), shortEpgLimitMax);
}

function listing(guide: StreamGuide, p: GuideProgramme, xtreamId: number): EpgListing {
  const startS = Math.floor(p.startMs / 1000);
  return {
    id: `${xtreamId}${startS}`, epg_id: String(xtreamId), title: base64Utf8(p.title), lang: p.lang,
    start: panelTime(p.startMs), end: panelTime(p.stopMs), description: base64Utf8(p.description),
    channel_id: guide.streamId, start_timestamp: String(startS), stop_timestamp: String(Math.floor(p.stopMs / 1000)),
    stream_id: String(xtreamId),
  };
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const utf8 = new TextEncoder();

/** Standard base64 (with padding) of the text's UTF-8 bytes, as Xtream panels send EPG text. */
export function base64Utf8(text: string): string {
  const bytes = utf8.encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += base64Alphabet[(n >> 18) & 63]! + base64Alphabet[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? base64Alphabet[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? base64Alphabet[n & 63]! : '=';
  }
  return out;
}

function fnv1a(text: string): string {
  let hash = 0x811c_9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x0100_0193) >>> 0;
  }
  return hash.toString(16);
}
