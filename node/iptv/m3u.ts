// Extended M3U as it exists in the wild (../shared/IPTV-CONVENTIONS.md section 2): BOM, CRLF,
// attributes with commas inside quotes, titles with commas, `#EXTVLCOPT` and `#KODIPROP`
// directives, `url|User-Agent=...` suffixes, entries without a URL, junk lines. Pure: text in,
// entries and what was skipped (with the line and why) out. Nothing here fetches or runs a URL.

export interface M3uEntry {
  /** 1-based line of the entry's #EXTINF (or of its URL when it had none). */
  readonly line: number;
  readonly title: string;
  /** The URL as written, without a `|header=value` suffix and surrounding spaces. */
  readonly url: string;
  /** #EXTINF attributes, keys lower-cased (`tvg-id`, `tvg-name`, `tvg-logo`, `group-title`...). */
  readonly attrs: Readonly<Record<string, string>>;
  /** group-title, else the #EXTGRP before it; null when neither. */
  readonly group: string | null;
  /** From #EXTVLCOPT:http-user-agent, a `user-agent` attribute or a `|User-Agent=` suffix. */
  readonly userAgent: string | null;
  /** From #EXTVLCOPT:http-referrer or a `|Referer=` suffix. */
  readonly referrer: string | null;
  /** Other #EXTVLCOPT options and #KODIPROP properties, kept as written. */
  readonly options: Readonly<Record<string, string>>;
}

export interface M3uSkip {
  readonly line: number;
  readonly title: string;
  readonly reason: string;
}

export interface M3uPlaylist {
  /** #EXTM3U attributes (`x-tvg-url` / `url-tvg`, `tvg-shift`, ...), keys lower-cased. */
  readonly header: Readonly<Record<string, string>>;
  readonly entries: readonly M3uEntry[];
  readonly skipped: readonly M3uSkip[];
}

/** Bound on a playlist's size and entries: an import is one request. */
export const m3uBytesMax = 16 * 1024 * 1024;
export const m3uEntriesMax = 20_000;

// One attribute: spaces, an optional comma and more spaces, then name="value". Written so that
// no two quantifiers compete for the same spaces: `\s*,?\s*` backtracked quadratically on a
// long run of spaces (a 16 MiB line of them would have taken hours).
const attrPattern = /\s*(?:,\s*)?([A-Za-z0-9_.:-]+)="([^"]*)"/y;

interface Pending {
  line: number;
  title: string;
  attrs: Record<string, string>;
  extgrp: string | null;
  userAgent: string | null;
  referrer: string | null;
  options: Record<string, string>;
}

export function parseM3u(text: string): M3uPlaylist {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const header: Record<string, string> = {};
  const entries: M3uEntry[] = [];
  const skipped: M3uSkip[] = [];
  let pending: Pending | null = null;
  let sawHeader = false;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#EXTM3U')) {
      if (!sawHeader) Object.assign(header, parseAttrs(line.slice('#EXTM3U'.length), 0).attrs);
      sawHeader = true;
      return;
    }
    if (line.startsWith('#EXTINF:')) {
      if (pending !== null) skipped.push({ line: pending.line, title: pending.title, reason: 'no URL after #EXTINF' });
      pending = parseExtinf(line, lineNo);
      return;
    }
    if (line.startsWith('#')) {
      if (pending !== null) directive(pending, line);
      return;
    }
    // A URL line (or junk such as "=====sudan=====").
    if (pending === null && !/^[a-z][a-z0-9+.-]*:/i.test(line)) return;
    const entry = pending ?? { line: lineNo, title: line, attrs: {}, extgrp: null, userAgent: null, referrer: null, options: {} };
    pending = null;
    if (entries.length >= m3uEntriesMax) {
      skipped.push({ line: entry.line, title: entry.title, reason: `more than ${m3uEntriesMax} entries in one playlist` });
      return;
    }
    entries.push(finish(entry, line));
  });
  if (pending !== null) {
    const last: Pending = pending;
    skipped.push({ line: last.line, title: last.title, reason: 'no URL after #EXTINF' });
  }
  return { header, entries, skipped };
}

function parseAttrs(text: string, from: number): { attrs: Record<string, string>; end: number } {
  const attrs: Record<string, string> = {};
  let pos = from;
  for (;;) {
    attrPattern.lastIndex = pos;
    const m = attrPattern.exec(text);
    if (m === null) break;
    attrs[m[1]!.toLowerCase()] = m[2]!;
    pos = attrPattern.lastIndex;
  }
  return { attrs, end: pos };
}

/** `#EXTINF:<duration> <attrs>,<title>`; the title starts after the attributes' comma. */
function parseExtinf(line: string, lineNo: number): Pending {
  const body = line.slice('#EXTINF:'.length);
  const duration = /^\s*-?[\d.]+/.exec(body);
  const { attrs, end } = parseAttrs(body, duration?.[0].length ?? 0);
  const rest = body.slice(end);
  const comma = rest.indexOf(',');
  const title = (comma < 0 ? rest : rest.slice(comma + 1)).trim();
  const userAgent = attrs['user-agent'] !== undefined && attrs['user-agent'] !== '' ? attrs['user-agent'] : null;
  return { line: lineNo, title: title === '' ? (attrs['tvg-name'] ?? '') : title, attrs, extgrp: null, userAgent, referrer: null, options: {} };
}

function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

function directive(p: Pending, line: string): void {
  const colon = line.indexOf(':');
  if (colon < 0) return;
  const tag = line.slice(0, colon).toUpperCase();
  const value = line.slice(colon + 1);
  if (tag === '#EXTGRP') p.extgrp = value.trim();
  if (tag !== '#EXTVLCOPT' && tag !== '#KODIPROP') return;
  const eq = value.indexOf('=');
  if (eq < 0) return;
  const key = value.slice(0, eq).trim().toLowerCase();
  const v = unquote(value.slice(eq + 1));
  if (tag === '#EXTVLCOPT' && key === 'http-user-agent') p.userAgent = v;
  else if (tag === '#EXTVLCOPT' && key === 'http-referrer') p.referrer = v;
  else p.options[`${tag === '#KODIPROP' ? 'kodiprop' : 'vlcopt'}:${key}`] = v;
}

/** The entry with its URL; a Kodi-style `url|User-Agent=...&Referer=...` suffix becomes headers. */
function finish(p: Pending, urlLine: string): M3uEntry {
  let url = urlLine;
  let { userAgent, referrer } = p;
  const bar = urlLine.indexOf('|');
  if (bar >= 0 && /^[a-z][a-z0-9+.-]*:\/\//i.test(urlLine)) {
    url = urlLine.slice(0, bar).trim();
    for (const pair of urlLine.slice(bar + 1).split('&')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      const value = pair.slice(eq + 1).trim();
      if (key === 'user-agent') userAgent = value;
      else if (key === 'referer' || key === 'referrer') referrer = value;
    }
  }
  const group = p.attrs['group-title'] !== undefined && p.attrs['group-title'] !== '' ? p.attrs['group-title'] : p.extgrp;
  return { line: p.line, title: p.title, url, attrs: p.attrs, group, userAgent, referrer, options: p.options };
}

/** A stream id (slug) for an imported entry, unique against `taken` (which it extends): from
 *  tvg-id, else the title; ASCII letters and digits, '-' elsewhere; a number appended on clashes.
 *  `suffixes` (kept across the entries of one import) remembers the next number to try per base,
 *  so a playlist of 20,000 entries with one title does not try 2, 3, 4 ... for each of them. */
export function slugFor(entry: Pick<M3uEntry, 'title' | 'attrs'>, taken: Set<string>, suffixes: Map<string, number> = new Map()): string {
  const from = entry.attrs['tvg-id'] !== undefined && entry.attrs['tvg-id'] !== '' ? entry.attrs['tvg-id'] : entry.title;
  const base = slugBase(from) || 'channel';
  let id = base;
  let n = suffixes.get(base) ?? 2;
  for (; taken.has(id); n++) id = `${base}-${n}`;
  suffixes.set(base, n);
  taken.add(id);
  return id;
}

/** The slug part of an id made from `text`: ASCII letters and digits lowercased, '-' elsewhere,
 *  at most 56 characters ('' when nothing is left). The EPG matches guide channel ids with it. */
export function slugBase(text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 56);
}
