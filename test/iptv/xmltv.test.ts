// The XMLTV side of the EPG: the streaming parser (chunk boundaries anywhere, entities, CDATA,
// comments, DOCTYPE, bounds, malformed input), matching guide ids to stream ids, the collector's
// retention and bounds, the merged guide's XMLTV (parsed back) and the Xtream listings.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { base64Utf8, guideWants, mergeGuide, shortEpg, shortEpgLimit, simpleDataTable } from '../../node/iptv/epg.ts';
import { formatXmltvTime, GuideCollector, parseXmltvTime, StreamMatcher } from '../../node/iptv/xmltv.ts';
import type { GuideSnapshot } from '../../node/iptv/xmltv.ts';
import { XmltvParser, XmltvSyntaxError, xmlAttr, xmlText } from '../../node/iptv/xmltv-parser.ts';
import type { XmlElement } from '../../node/iptv/xmltv-parser.ts';
import { defaultHls, emptyState } from '../../node/state/index.ts';
import type { ClusterState, StreamRecord } from '../../node/state/index.ts';

const nowMs = Date.UTC(2025, 5, 1, 12);

const guide = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE tv SYSTEM "xmltv.dtd" [ <!ENTITY boom "&boom;&boom;"> <!-- a > inside --> ]>
<!-- generated -->
<tv generator-info-name="test">
  <channel id="BBCOne.uk"><display-name lang="en">BBC One</display-name><icon src="http://logos.example/bbc1.png"/></channel>
  <channel id="other.uk"><display-name>Other</display-name></channel>
  <channel id="news"><display-name>News 24</display-name></channel>
  <programme start="20250601110000 +0000" stop="20250601120000 +0000" channel="BBCOne.uk">
    <title lang="en">Morning &amp; More</title><desc>Tom &lt;3 Jerry &#x263A; &nbsp; &boom;</desc><category>Talk</category>
  </programme>
  <programme start="20250601130000 +0100" stop="20250601133000 +0100" channel="BBCOne.uk" catchup-id="x&quot;1">
    <title><![CDATA[Lunch <Live>]]></title>
  </programme>
  <programme start="20250601133000 +0100" channel="BBCOne.uk"><title>No stop</title></programme>
  <programme start="20250601150000" channel="BBCOne.uk"><title>Last</title></programme>
  <programme start="20250530000000 +0000" stop="20250530010000 +0000" channel="BBCOne.uk"><title>Too old</title></programme>
  <programme start="20250601120000 +0000" stop="20250601130000 +0000" channel="other.uk"><title>Not ours</title></programme>
  <programme start="bad" channel="news"><title>Unplaceable</title></programme>
  <programme start="20250601120000 +0000" stop="20250601124500 +0000" channel="news"><title>Headlines</title><desc>Ünïcode ✓</desc></programme>
</tv>
`;

function parseAll(text: string, chunk: number): { channels: XmlElement[]; programmes: XmlElement[] } {
  const channels: XmlElement[] = [];
  const programmes: XmlElement[] = [];
  const parser = new XmltvParser({ wantChannel: () => true, wantProgramme: () => true, onChannel: (e) => channels.push(e), onProgramme: (e) => programmes.push(e) });
  for (let i = 0; i < text.length; i += chunk) parser.feed(text.slice(i, i + chunk));
  parser.end();
  return { channels, programmes };
}

test('parser: the same items whatever the chunk size; entities, CDATA, comments and DOCTYPE', () => {
  const whole = parseAll(guide, guide.length);
  assert.equal(whole.channels.length, 3);
  assert.equal(whole.programmes.length, 8);
  for (const size of [1, 2, 3, 7, 64, 1000]) assert.deepEqual(parseAll(guide, size), whole, `chunks of ${size}`);
  const first = whole.programmes[0]!;
  assert.equal(xmlText(first.children.find((c): c is XmlElement => typeof c !== 'string' && c.name === 'title')!), 'Morning & More');
  const desc = first.children.find((c): c is XmlElement => typeof c !== 'string' && c.name === 'desc')!;
  // Predefined and numeric references decode; HTML and DTD-declared entities stay literal.
  assert.equal(xmlText(desc), 'Tom <3 Jerry ☺ &nbsp; &boom;');
  assert.equal(xmlAttr(whole.programmes[1]!, 'catchup-id'), 'x"1');
  assert.equal(xmlText(whole.programmes[1]!.children.find((c): c is XmlElement => typeof c !== 'string')!), 'Lunch <Live>');
});

test('parser: malformed and hostile input is an XmltvSyntaxError naming the problem', () => {
  const cases: [string, RegExp][] = [
    ['<rss></rss>', /root element is <rss>/],
    ['<tv><channel id="a"></programme></tv>', /<\/programme> closes <channel>/],
    ['<tv><channel id="a">', /ends before <\/channel>/],
    ['<tv><channel id="a" id="b"/></tv>', /attribute id twice/],
    ['<tv><channel id=a/></tv>', /malformed attribute/],
    ['just text', /text outside the root element|no <tv> root/],
    ['<tv></tv><tv></tv>', /second root element/],
    ['<tv><!-- unterminated', /ends inside a tag/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseAll(text, 3), (err: unknown) => err instanceof XmltvSyntaxError && pattern.test(err.message), text);
  }
  const deep = `<tv><channel id="a">${'<x>'.repeat(40)}${'</x>'.repeat(40)}</channel></tv>`;
  assert.throws(() => parseAll(deep, 50), /nested deeper than 32/);
  const parser = new XmltvParser({ wantChannel: () => true, wantProgramme: () => true, onChannel: () => undefined, onProgramme: () => undefined }, { tokenCharsMax: 100 });
  assert.throws(() => parser.feed(`<tv><channel id="${'a'.repeat(200)}`), /token longer than 100/);
  const big = new XmltvParser({ wantChannel: () => true, wantProgramme: () => true, onChannel: () => undefined, onProgramme: () => undefined }, { itemCharsMax: 50 });
  assert.throws(() => big.feed(`<tv><channel id="a">${'t'.repeat(80)}</channel>`), /item larger than 50/);
});

test('parser: unwanted items are skipped without being built', () => {
  const built: string[] = [];
  const parser = new XmltvParser({
    wantChannel: (id) => id === 'news', wantProgramme: (channel) => channel === 'news',
    onChannel: (e) => built.push(`c:${xmlAttr(e, 'id')}`), onProgramme: (e) => built.push(`p:${xmlAttr(e, 'channel')}`),
  });
  parser.feed(guide);
  parser.end();
  assert.deepEqual(built, ['c:news', 'p:news', 'p:news']);
});

test('times: XMLTV times with and without zones; formatting back', () => {
  assert.equal(parseXmltvTime('20250601130000 +0100'), Date.UTC(2025, 5, 1, 12));
  assert.equal(parseXmltvTime('20250601120000'), Date.UTC(2025, 5, 1, 12));
  assert.equal(parseXmltvTime('202506011200 -02:30'), Date.UTC(2025, 5, 1, 14, 30));
  assert.equal(parseXmltvTime('20250601'), Date.UTC(2025, 5, 1));
  assert.equal(parseXmltvTime('20250601120000 UTC'), Date.UTC(2025, 5, 1, 12));
  for (const bad of ['', '2025-06-01', '20251301120000', '20250601120000 CEST']) assert.equal(parseXmltvTime(bad), null, bad);
  assert.equal(formatXmltvTime(Date.UTC(2025, 5, 1, 9, 5, 7)), '20250601090507 +0000');
});

test('matching: exact (case-insensitive) id, or the slug M3U import makes; exact wins', () => {
  const matcher = new StreamMatcher(['bbcone-uk', 'news']);
  assert.deepEqual(matcher.match('BBCOne.uk'), { streamId: 'bbcone-uk', quality: 1 });
  assert.deepEqual(matcher.match('bbcone-uk'), { streamId: 'bbcone-uk', quality: 2 });
  assert.deepEqual(matcher.match('NEWS'), { streamId: 'news', quality: 2 });
  assert.equal(matcher.match('other.uk'), null);
});

function collect(streamIds: string[], text = guide, limits = {}): GuideSnapshot {
  const collector = new GuideCollector(new StreamMatcher(streamIds), nowMs, limits);
  const parser = new XmltvParser(collector);
  parser.feed(text);
  parser.end();
  return collector.finish();
}

test('collector: keeps our channels and programmes, sorted, stops filled in, old ones dropped', () => {
  const snapshot = collect(['bbcone-uk', 'news']);
  assert.deepEqual([...snapshot.channels.keys()].sort(), ['bbcone-uk', 'news']);
  assert.equal(snapshot.channels.get('bbcone-uk')!.icon, 'http://logos.example/bbc1.png');
  const bbc = snapshot.programmes.get('bbcone-uk')!;
  assert.deepEqual(bbc.map((p) => p.title), ['Morning & More', 'Lunch <Live>', 'No stop', 'Last']);
  assert.equal(bbc[2]!.stopMs, Date.UTC(2025, 5, 1, 15), 'no stop: the next start');
  assert.equal(bbc[3]!.stopMs, Date.UTC(2025, 5, 1, 16), 'no stop, no successor: one hour');
  assert.deepEqual(snapshot.programmes.get('news')!.map((p) => p.title), ['Headlines']);
  assert.equal(snapshot.programmeCount, 5);
  const bounded = collect(['bbcone-uk'], guide, { programmesPerChannelMax: 2 });
  assert.equal(bounded.programmeCount, 2);
  assert.equal(bounded.droppedProgrammes, 2);
});

function stateWith(epgUrls: string[], streams: [string, string, string | null, boolean?][]): ClusterState {
  const base = emptyState();
  const records: Record<string, StreamRecord> = {};
  for (const [id, name, serviceId, enabled] of streams) {
    records[id] = { id, name, sources: [{ url: 'http://127.0.0.1:9/x.ts', priority: 0, userAgent: null, referrer: null }], profile: 'copy', serviceId, pinGroup: null, pinNode: null, priority: 0, enabled: enabled ?? true, policy: {}, createdAtMs: nowMs };
  }
  return {
    ...base,
    services: {
      tv: { id: 'tv', name: 'TV', policy: {}, hls: defaultHls, epgUrls, createdAtMs: nowMs },
      radio: { id: 'radio', name: 'Radio', policy: {}, hls: defaultHls, epgUrls: [epgUrls[0]!], createdAtMs: nowMs },
    },
    streams: records,
  };
}

test('wants and merge: a URL serves every stream of the services listing it; the first URL with data wins', () => {
  const state = stateWith(['http://a/guide.xml', 'http://b/guide.xml'], [['bbcone-uk', 'BBC One', 'tv'], ['news', 'News', 'tv'], ['jazz', 'Jazz', 'radio'], ['off', 'Off', 'tv', false], ['loose', 'Loose', null]]);
  const wants = guideWants(state);
  assert.deepEqual(wants.get('http://a/guide.xml')!.streamIds, ['bbcone-uk', 'jazz', 'news', 'off']);
  assert.deepEqual(wants.get('http://b/guide.xml')!.streamIds, ['bbcone-uk', 'news', 'off']);
  assert.notEqual(guideWants({ ...state, streams: { ...state.streams, extra: { ...state.streams.news!, id: 'extra' } } }).get('http://b/guide.xml')!.signature, wants.get('http://b/guide.xml')!.signature);

  const a = collect(['news']);
  const b = collect(['bbcone-uk', 'news'], guide.replace('Headlines', 'From B'));
  const merged = mergeGuide(1, state, new Map([['http://a/guide.xml', a], ['http://b/guide.xml', b]]));
  assert.equal(merged.stream('news')!.programmes[0]!.title, 'Headlines', 'A is listed first');
  assert.equal(merged.stream('bbcone-uk')!.programmes.length, 4, 'A has none for it: B');
  assert.equal(merged.stream('off'), null, 'disabled streams are left out');
  assert.equal(merged.logo('bbcone-uk'), 'http://logos.example/bbc1.png');

  // The XMLTV we serve parses back, under the stream ids, with the programmes' extra children.
  const xml = merged.xmltv();
  const again = parseAll(xml, 97);
  assert.deepEqual(again.channels.map((c) => xmlAttr(c, 'id')), ['bbcone-uk', 'news']);
  assert.equal(again.programmes.length, 5);
  assert.equal(xmlAttr(again.programmes[1]!, 'start'), '20250601120000 +0000');
  assert.equal(xmlAttr(again.programmes[1]!, 'catchup-id'), 'x"1');
  assert.match(xml, /<category>Talk<\/category>/);
  assert.match(xml, /<channel id="bbcone-uk"><display-name>BBC One<\/display-name><display-name lang="en">BBC One<\/display-name><icon src="http:\/\/logos.example\/bbc1.png"\/><\/channel>/);
  assert.equal(merged.xmltv('radio'), merged.xmltv('radio'), 'rendered once');
  assert.doesNotMatch(merged.xmltv('radio'), /<channel /);
});

test('Xtream listings: base64 title and description, panel times, current and next for the short EPG', () => {
  const state = stateWith(['http://a/guide.xml'], [['bbcone-uk', 'BBC One', 'tv']]);
  const merged = mergeGuide(1, state, new Map([['http://a/guide.xml', collect(['bbcone-uk'])]]));
  const entry = merged.stream('bbcone-uk');
  const short = shortEpg(entry, 77, nowMs + 60_000, 2).epg_listings;
  assert.deepEqual(short.map((l) => Buffer.from(l.title, 'base64').toString('utf8')), ['Lunch <Live>', 'No stop']);
  assert.deepEqual(short[0], {
    id: `77${nowMs / 1000}`, epg_id: '77', title: Buffer.from('Lunch <Live>').toString('base64'), lang: '', start: '2025-06-01 12:00:00', end: '2025-06-01 12:30:00',
    description: '', channel_id: 'bbcone-uk', start_timestamp: String(nowMs / 1000), stop_timestamp: String(nowMs / 1000 + 1800), stream_id: '77',
  });
  const table = simpleDataTable(entry, 77, nowMs + 60_000).epg_listings;
  assert.deepEqual(table.map((l) => l.now_playing), [0, 1, 0, 0]);
  assert.equal(Buffer.from(table[0]!.description, 'base64').toString('utf8'), 'Tom <3 Jerry ☺ &nbsp; &boom;');
  assert.deepEqual(shortEpg(null, 1, nowMs, 4), { epg_listings: [] });
  assert.equal(shortEpgLimit(undefined), 4);
  assert.equal(shortEpgLimit('0'), 4);
  assert.equal(shortEpgLimit('x'), 4);
  assert.equal(shortEpgLimit('12'), 12);
  for (const text of ['', 'a', 'ab', 'abc', 'Ünïcode ✓ ☺', '\u0000\u00ff']) assert.equal(base64Utf8(text), Buffer.from(text, 'utf8').toString('base64'), text);
});
