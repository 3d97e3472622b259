// The Xtream Codes answers players depend on (../shared/IPTV-CONVENTIONS.md section 3): the
// player_api.php JSON (user_info, server_info, live categories and streams) and the get.php
// m3u_plus playlist. Pure: the routes (node/http/routes/xtream.ts) pass the state, the line,
// the request's host and the time. Field types are what players expect (strings where panels
// send strings: Enigma2 clients crash without `active_cons`, Jellyfin needs `added` a string).
import { isoFromMs } from '../state/names.ts';
import type { LineRecord, ServiceRecord, StreamRecord } from '../state/index.ts';

/** Xtream ids are integers players store (favourites, recents): derived from our string ids by
 *  hashing, so they survive other channels being added or deleted. 31 bits: players in Java
 *  keep them in an int. Ids below `firstHashedId` are reserved (1: the default category). */
export const xtreamIdMax = 0x7fff_ffff;
export const firstHashedId = 2;
/** The category of streams in no service. */
export const defaultCategoryId = 1;
export const defaultCategoryName = 'Live';
/** What the line may play: HLS (our native form) and TS (relayed from the HLS segments). */
export const allowedOutputFormats = ['m3u8', 'ts'] as const;

/** FNV-1a (32 bit) of `key`, folded into [firstHashedId, xtreamIdMax]. */
export function hashedId(key: string): number {
  let hash = 0x811c_9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x0100_0193) >>> 0;
  }
  return firstHashedId + (hash % (xtreamIdMax - firstHashedId + 1));
}

/** Integer ids for `keys`, deterministic for the same set: each key gets its hash; on a
 *  collision (about 1 in 4000 for 1000 channels) the later key in sorted order takes the next
 *  free number. */
export function integerIds(keys: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  const taken = new Set<number>();
  for (const key of [...keys].sort()) {
    let id = hashedId(key);
    while (taken.has(id)) id = id >= xtreamIdMax ? firstHashedId : id + 1;
    taken.add(id);
    ids.set(key, id);
  }
  return ids;
}

export interface XtreamCatalog {
  readonly streams: Readonly<Record<string, StreamRecord>>;
  readonly services: Readonly<Record<string, ServiceRecord>>;
}

export interface LiveCategory {
  readonly category_id: string;
  readonly category_name: string;
  readonly parent_id: 0;
}

/** The Xtream stream id of every stream (by our stream id). */
export function streamNumbers(catalog: XtreamCatalog): Map<string, number> {
  return integerIds(Object.keys(catalog.streams));
}

/** The category id of every service (by service id). */
function serviceNumbers(catalog: XtreamCatalog): Map<string, number> {
  return integerIds(Object.keys(catalog.services));
}

function categoryOf(catalog: XtreamCatalog, stream: StreamRecord, services: Map<string, number>): number {
  if (stream.serviceId === null || !Object.hasOwn(catalog.services, stream.serviceId)) return defaultCategoryId;
  return services.get(stream.serviceId) ?? defaultCategoryId;
}

/** `get_live_categories`: one per service that has streams, and the default category when some
 *  stream is in no service; by name. */
export function liveCategories(catalog: XtreamCatalog): LiveCategory[] {
  const services = serviceNumbers(catalog);
  const used = new Set(Object.values(catalog.streams).map((s) => categoryOf(catalog, s, services)));
  const categories: LiveCategory[] = [];
  if (used.has(defaultCategoryId)) categories.push({ category_id: String(defaultCategoryId), category_name: defaultCategoryName, parent_id: 0 });
  for (const service of Object.values(catalog.services)) {
    const id = services.get(service.id)!;
    if (used.has(id)) categories.push({ category_id: String(id), category_name: service.name, parent_id: 0 });
  }
  return categories.sort((a, b) => a.category_name.localeCompare(b.category_name) || a.category_id.localeCompare(b.category_id));
}

export interface LiveStreamItem {
  readonly num: number;
  readonly name: string;
  readonly stream_type: 'live';
  readonly stream_id: number;
  readonly stream_icon: string;
  /** The m3u tvg-id (our stream id: the key an XMLTV export would use). */
  readonly epg_channel_id: string;
  readonly added: string;
  readonly is_adult: 0;
  readonly category_id: string;
  readonly category_ids: number[];
  readonly custom_sid: string;
  readonly tv_archive: 0;
  readonly direct_source: string;
  readonly tv_archive_duration: 0;
}

/** `get_live_streams`, optionally only category `categoryId` (a string, as players send it);
 *  enabled streams only, by name; `num` counts from 1 in that order. */
export function liveStreams(catalog: XtreamCatalog, categoryId?: string, logo: (streamId: string) => string = () => ''): LiveStreamItem[] {
  const numbers = streamNumbers(catalog);
  const services = serviceNumbers(catalog);
  const streams = Object.values(catalog.streams)
    .filter((s) => s.enabled)
    .filter((s) => categoryId === undefined || categoryId === '' || String(categoryOf(catalog, s, services)) === categoryId)
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return streams.map((stream, i) => {
    const category = categoryOf(catalog, stream, services);
    return {
      num: i + 1, name: stream.name, stream_type: 'live', stream_id: numbers.get(stream.id)!, stream_icon: logo(stream.id), epg_channel_id: stream.id,
      added: String(Math.floor(stream.createdAtMs / 1000)), is_adult: 0, category_id: String(category), category_ids: [category],
      custom_sid: '', tv_archive: 0, direct_source: '', tv_archive_duration: 0,
    };
  });
}

/** "YYYY-MM-DD HH:MM:SS" in UTC, as panels write times. */
export function panelTime(ms: number): string {
  return isoFromMs(ms).slice(0, 19).replace('T', ' ');
}

/** `user_info` of an active line; `password` is echoed as the player sent it (players compare). */
export function userInfo(line: LineRecord, password: string, activeConnections: number) {
  return {
    username: line.username, password, message: '', auth: 1, status: 'Active',
    exp_date: line.expiresAtMs === null ? null : String(Math.floor(line.expiresAtMs / 1000)),
    is_trial: '0', active_cons: String(activeConnections), created_at: String(Math.floor(line.createdAtMs / 1000)),
    max_connections: String(line.maxConnections), allowed_output_formats: [...allowedOutputFormats],
  };
}

/** What a failed login answers: real panels send only `auth: 0`. */
export const deniedLogin = { user_info: { auth: 0 } } as const;

export interface ServerView {
  /** Host name as the player reached us (Host header without the port). */
  readonly host: string;
  readonly port: number;
  readonly https: boolean;
  readonly nowMs: number;
}

/** `server_info`; ports as strings like the panels; times in UTC (we keep everything UTC). */
export function serverInfo(server: ServerView) {
  return {
    url: server.host, port: String(server.https ? 80 : server.port), https_port: String(server.https ? server.port : 443),
    server_protocol: server.https ? 'https' : 'http', rtmp_port: '0', timezone: 'UTC',
    timestamp_now: Math.floor(server.nowMs / 1000), time_now: panelTime(server.nowMs), process: true,
  };
}

/** An m3u attribute value: no double quotes or line breaks (they would end the attribute or the entry). */
/** `value` safe inside a double-quoted #EXTINF attribute. */
export function attribute(value: string): string {
  return value.replace(/["\r\n]/g, (c) => (c === '"' ? "'" : ' '));
}

export interface PlaylistLinks {
  /** e.g. `http://tv.example.com:8080` (no trailing slash). */
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  readonly extension: 'ts' | 'm3u8';
  /** The XMLTV guide for these streams (written as x-tvg-url and url-tvg); none when absent. */
  readonly guideUrl?: string;
}

/** The get.php `m3u_plus` playlist: CRLF lines, the guide URL in the header (both spellings
 *  players read), every enabled stream with its tvg-id, name, logo (from the guide) and group,
 *  and its /live/<user>/<pass>/<id>.<ext> URL (credentials URL-encoded). */
export function m3uPlus(catalog: XtreamCatalog, links: PlaylistLinks, logo: (streamId: string) => string = () => ''): string {
  const names = new Map(liveCategories(catalog).map((c) => [c.category_id, c.category_name]));
  const guide = links.guideUrl === undefined ? '' : attribute(links.guideUrl);
  const lines = [guide === '' ? '#EXTM3U' : `#EXTM3U x-tvg-url="${guide}" url-tvg="${guide}"`];
  const user = encodeURIComponent(links.username);
  const password = encodeURIComponent(links.password);
  for (const item of liveStreams(catalog, undefined, logo)) {
    const name = attribute(item.name);
    lines.push(
      `#EXTINF:-1 tvg-id="${attribute(item.epg_channel_id)}" tvg-name="${name}" tvg-logo="${attribute(item.stream_icon)}" ` +
        `group-title="${attribute(names.get(item.category_id) ?? defaultCategoryName)}",${item.name.replace(/[\r\n]/g, ' ')}`,
      `${links.baseUrl}/live/${user}/${password}/${item.stream_id}.${links.extension}`,
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The stream an Xtream id names, or null. */
export function streamOfNumber(catalog: XtreamCatalog, number: number): StreamRecord | null {
  for (const [id, n] of streamNumbers(catalog)) {
    if (n === number) return catalog.streams[id] ?? null;
  }
  return null;
}
