// XMLTV guide items as the cluster keeps them (docs/iptv.md "EPG"): what one fetched guide
// yields for our streams, how a guide's channel ids are matched to stream ids, XMLTV times, and
// writing XML back out. Pure.
//
// Matching: a stream's tvg-id (in get.php and as epg_channel_id) is its id. A guide's channel
// matches a stream when its id, lowercased, is the stream id, or when it turns into the stream
// id the way M3U import makes ids from tvg-id (slugBase: "BBCOne.uk" -> "bbcone-uk"). An exact
// match wins over a slug match. Kept items are re-labelled with the stream id, so the guide we
// serve uses the same ids as our playlists.
import { parseIsoMs } from '../hls/date-time.ts';
import { isoFromMs } from '../state/names.ts';
import { slugBase } from './m3u.ts';
import { xmlAttr, xmlChildren, xmlText } from './xmltv-parser.ts';
import type { XmlElement, XmltvHandlers } from './xmltv-parser.ts';

export interface GuideChannel {
  /** The guide's <display-name>s, in order. */
  readonly displayNames: readonly string[];
  /** The first <icon src>, when http(s): used as the stream's logo. */
  readonly icon: string | null;
  /** The guide's children of <channel> (display names, icons, urls), as XML. */
  readonly innerXml: string;
}

export interface GuideProgramme {
  readonly startMs: number;
  /** The guide's stop, or the next programme's start, or start + defaultProgrammeMs. */
  readonly stopMs: number;
  readonly title: string;
  readonly description: string;
  /** The title's lang attribute ('' when none). */
  readonly lang: string;
  /** Attributes other than start, stop and channel, as XML (each with a leading space). */
  readonly attrsXml: string;
  /** The children (title, desc, category, episode-num, ...), as XML. */
  readonly innerXml: string;
}

/** What one guide gave for our streams, by stream id. */
export interface GuideSnapshot {
  readonly channels: ReadonlyMap<string, GuideChannel>;
  /** Sorted by start, no two with the same start. */
  readonly programmes: ReadonlyMap<string, readonly GuideProgramme[]>;
  readonly programmeCount: number;
  /** Programmes dropped by a bound (per channel or in total). */
  readonly droppedProgrammes: number;
}

export interface CollectorLimits {
  /** Programmes kept per stream. Default 5,000 (weeks of short programmes). */
  readonly programmesPerChannelMax?: number;
  /** Programmes kept from one guide. Default 200,000. */
  readonly programmesMax?: number;
  /** Programmes that ended longer ago than this are dropped. Default 24 h. */
  readonly pastKeptMs?: number;
}

/** A programme without stop and without a successor lasts this long. */
export const defaultProgrammeMs = 3_600_000;

/** A programme as read, its stop still unknown when the guide gave none. */
type CollectedProgramme = Omit<GuideProgramme, 'stopMs'> & { readonly stopMs: number | null };

/** Match quality of a guide channel id for a stream: exact beats slug. */
type Quality = 2 | 1;

/** Lookup from guide channel ids to stream ids, for the streams a guide serves. */
export class StreamMatcher {
  readonly #streamIds: ReadonlySet<string>;
  readonly #memo = new Map<string, { streamId: string; quality: Quality } | null>();
  static readonly memoMax = 100_000;

  constructor(streamIds: Iterable<string>) {
    this.#streamIds = new Set(streamIds);
  }

  get size(): number {
    return this.#streamIds.size;
  }

  match(guideId: string): { streamId: string; quality: Quality } | null {
    let found = this.#memo.get(guideId);
    if (found !== undefined) return found;
    const lower = guideId.toLowerCase();
    if (this.#streamIds.has(lower)) found = { streamId: lower, quality: 2 };
    else {
      const slug = slugBase(guideId);
      found = this.#streamIds.has(slug) ? { streamId: slug, quality: 1 } : null;
    }
    if (this.#memo.size < StreamMatcher.memoMax) this.#memo.set(guideId, found);
    return found;
  }
}

/** Collects one guide's items for the matcher's streams, as parser handlers; finish() once the
 *  parser has ended. `nowMs` is the time of the fetch (what "past" means). */
export class GuideCollector implements XmltvHandlers {
  readonly #matcher: StreamMatcher;
  readonly #nowMs: number;
  readonly #perChannelMax: number;
  readonly #totalMax: number;
  readonly #pastKeptMs: number;
  /** By guide channel id, first one wins. */
  readonly #channels = new Map<string, GuideChannel>();
  readonly #programmes = new Map<string, CollectedProgramme[]>();
  #total = 0;
  #dropped = 0;

  constructor(matcher: StreamMatcher, nowMs: number, limits: CollectorLimits = {}) {
    this.#matcher = matcher;
    this.#nowMs = nowMs;
    this.#perChannelMax = limits.programmesPerChannelMax ?? 5000;
    this.#totalMax = limits.programmesMax ?? 200_000;
    this.#pastKeptMs = limits.pastKeptMs ?? 86_400_000;
  }

  wantChannel(id: string): boolean {
    return this.#matcher.match(id) !== null && !this.#channels.has(id);
  }

  wantProgramme(channelId: string): boolean {
    return this.#matcher.match(channelId) !== null;
  }

  onChannel(element: XmlElement): void {
    const names = xmlChildren(element, 'display-name').map(xmlText).filter((n) => n !== '');
    const icon = xmlChildren(element, 'icon').map((e) => xmlAttr(e, 'src')).find((src) => /^https?:\/\//i.test(src)) ?? null;
    this.#channels.set(xmlAttr(element, 'id'), { displayNames: names, icon, innerXml: childrenXml(element) });
  }

  onProgramme(element: XmlElement): void {
    const startMs = parseXmltvTime(xmlAttr(element, 'start'));
    const stopText = xmlAttr(element, 'stop');
    const stopMs = stopText === '' ? null : parseXmltvTime(stopText);
    // A programme without a readable start cannot be placed; a bad stop is as good as none.
    if (startMs === null || (stopMs !== null && stopMs <= startMs)) return;
    if ((stopMs ?? startMs + defaultProgrammeMs) < this.#nowMs - this.#pastKeptMs) return;
    const channel = xmlAttr(element, 'channel');
    let list = this.#programmes.get(channel);
    if (list === undefined) this.#programmes.set(channel, list = []);
    if (list.length >= this.#perChannelMax || this.#total >= this.#totalMax) {
      this.#dropped++;
      return;
    }
    const title = xmlChildren(element, 'title')[0];
    const desc = xmlChildren(element, 'desc')[0];
    let attrsXml = '';
    for (const [name, value] of Object.entries(element.attrs)) if (name !== 'start' && name !== 'stop' && name !== 'channel') attrsXml += ` ${name}="${escapeXml(value)}"`;
    list.push({
      startMs, stopMs, title: title === undefined ? '' : xmlText(title), description: desc === undefined ? '' : xmlText(desc),
      lang: title === undefined ? '' : xmlAttr(title, 'lang'), attrsXml, innerXml: childrenXml(element),
    });
    this.#total++;
  }

  /** Picks, per stream, the best matching guide channel id and returns its items. */
  finish(): GuideSnapshot {
    const best = new Map<string, { guideId: string; quality: Quality }>();
    for (const guideId of new Set([...this.#channels.keys(), ...this.#programmes.keys()])) {
      const m = this.#matcher.match(guideId);
      if (m === null) continue;
      const current = best.get(m.streamId);
      const hasProgrammes = (this.#programmes.get(guideId)?.length ?? 0) > 0;
      const currentHas = current !== undefined && (this.#programmes.get(current.guideId)?.length ?? 0) > 0;
      if (current === undefined || m.quality > current.quality || (m.quality === current.quality && hasProgrammes && !currentHas)) {
        best.set(m.streamId, { guideId, quality: m.quality });
      }
    }
    const channels = new Map<string, GuideChannel>();
    const programmes = new Map<string, GuideProgramme[]>();
    let programmeCount = 0;
    for (const [streamId, { guideId }] of best) {
      const channel = this.#channels.get(guideId);
      if (channel !== undefined) channels.set(streamId, channel);
      const list = completeProgrammes(this.#programmes.get(guideId) ?? []);
      if (list.length > 0) programmes.set(streamId, list);
      programmeCount += list.length;
    }
    return { channels, programmes, programmeCount, droppedProgrammes: this.#dropped };
  }
}

/** Sorted by start, duplicates of a start dropped, every stop filled in. */
function completeProgrammes(list: readonly CollectedProgramme[]): GuideProgramme[] {
  const sorted = [...list].sort((a, b) => a.startMs - b.startMs);
  const out: GuideProgramme[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.startMs === p.startMs) continue;
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.startMs === p.startMs) j++;
    out.push({ ...p, stopMs: p.stopMs ?? sorted[j]?.startMs ?? p.startMs + defaultProgrammeMs });
  }
  return out;
}

const xmltvTimePattern = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?\s*(?:([+-]\d{2}:?\d{2})|(Z|UTC|GMT))?$/;

/** An XMLTV time (`20250601120000 +0100`; minutes, seconds and zone optional; no zone is read
 *  as UTC) in ms since 1970; null when it is not one. */
export function parseXmltvTime(text: string): number | null {
  const m = xmltvTimePattern.exec(text.trim());
  if (m === null) return null;
  const zone = m[7] === undefined ? 'Z' : m[7].replace(':', '');
  return parseIsoMs(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${zone}`);
}

/** `20250601120000 +0000`. */
export function formatXmltvTime(ms: number): string {
  const iso = isoFromMs(ms);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)} +0000`;
}

/** Text and attribute values: the five XML specials escaped, and the characters XML 1.0
 *  forbids (C0 controls other than tab and line breaks, U+FFFE, U+FFFF) dropped. */
export function escapeXml(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x3c) out += '&lt;';
    else if (code === 0x3e) out += '&gt;';
    else if (code === 0x26) out += '&amp;';
    else if (code === 0x22) out += '&quot;';
    else if (code === 0x27) out += '&apos;';
    else if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0xfffe || code === 0xffff) continue;
    else out += text[i];
  }
  return out;
}

/** An element as XML (attributes and text escaped). */
export function elementXml(element: XmlElement): string {
  let attrs = '';
  for (const [name, value] of Object.entries(element.attrs)) attrs += ` ${name}="${escapeXml(value)}"`;
  if (element.children.length === 0) return `<${element.name}${attrs}/>`;
  return `<${element.name}${attrs}>${childrenXml(element)}</${element.name}>`;
}

/** The children as XML; whitespace between child elements (indentation) is left out. */
function childrenXml(element: XmlElement): string {
  const mixed = element.children.some((c) => typeof c !== 'string');
  return element.children.map((c) => (typeof c !== 'string' ? elementXml(c) : mixed && c.trim() === '' ? '' : escapeXml(c))).join('');
}
