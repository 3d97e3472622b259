// A streaming parser for the XML that XMLTV guides use (docs/iptv.md "EPG"): text arrives in
// chunks of any size; it hands over each <channel> and <programme> under the <tv> root as a
// small element tree, and skips everything else (and the items the caller does not want) without
// keeping them. It is not a general XML parser, and on purpose does less than one:
// - no DTD processing: a DOCTYPE (even with an internal subset) is skipped, so no entity is ever
//   declared or expanded (no billion laughs, no external entities);
// - the five predefined entities and character references are decoded; any other `&name;` is
//   kept as literal text (guides in the wild carry HTML entities such as &nbsp;);
// - comments, processing instructions and CDATA are handled; namespaces are just names.
// Every buffer is bounded: a token longer than tokenCharsMax, an item larger than
// itemCharsMax, deeper than depthMax or with more than nodesMax nodes is an error, so a hostile
// guide costs bounded memory. Pure: no I/O.

export interface XmlElement {
  readonly name: string;
  /** Null-prototype record: read with Object.hasOwn or the xmlAttr() helper. */
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly (XmlElement | string)[];
}

export interface XmltvParserLimits {
  /** One tag, comment, or text run between tags. Default 1 MiB. */
  readonly tokenCharsMax?: number;
  /** One kept item, counted as its source text. Default 1 MiB. */
  readonly itemCharsMax?: number;
  /** Element nesting inside an item. Default 32. */
  readonly depthMax?: number;
  /** Elements and text nodes in one item. Default 10,000. */
  readonly nodesMax?: number;
}

export interface XmltvHandlers {
  /** Whether to build the <channel> with this id (false: skipped cheaply). */
  wantChannel(id: string): boolean;
  /** Whether to build the <programme> of this channel. */
  wantProgramme(channelId: string): boolean;
  onChannel(element: XmlElement): void;
  onProgramme(element: XmlElement): void;
}

/** The guide is not well-formed XMLTV (or breaks a bound); `offset` counts characters. */
export class XmltvSyntaxError extends Error {
  override readonly name = 'XmltvSyntaxError';
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at character ${offset})`);
    this.offset = offset;
  }
}

interface Building {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: (XmlElement | string)[];
}

const namePattern = /^[A-Za-z_:][-A-Za-z0-9._:]*$/;
const predefined: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** feed() text in order, then end(). Handlers run synchronously inside feed(); an exception
 *  from a handler propagates. After an error the parser is unusable. */
export class XmltvParser {
  readonly #h: XmltvHandlers;
  readonly #tokenCharsMax: number;
  readonly #itemCharsMax: number;
  readonly #depthMax: number;
  readonly #nodesMax: number;
  #buf = '';
  /** Characters consumed before #buf (for error offsets). */
  #consumed = 0;
  /** Open elements outside an item: [] before the root, ['tv'] inside it, deeper when skipping. */
  readonly #outer: string[] = [];
  /** The item being built (its open elements); null when none. */
  #item: Building[] | null = null;
  #itemChars = 0;
  #itemNodes = 0;
  #sawRoot = false;
  #ended = false;

  constructor(handlers: XmltvHandlers, limits: XmltvParserLimits = {}) {
    this.#h = handlers;
    this.#tokenCharsMax = limits.tokenCharsMax ?? 1 << 20;
    this.#itemCharsMax = limits.itemCharsMax ?? 1 << 20;
    this.#depthMax = limits.depthMax ?? 32;
    this.#nodesMax = limits.nodesMax ?? 10_000;
  }

  feed(text: string): void {
    if (this.#ended) throw new Error('XmltvParser.feed() after end()');
    this.#buf = this.#buf.length === 0 ? text : this.#buf + text;
    const used = this.#parse(false);
    this.#consumed += used;
    this.#buf = this.#buf.slice(used);
    if (this.#buf.length > this.#tokenCharsMax) this.#fail(`a token longer than ${this.#tokenCharsMax} characters`, 0);
  }

  /** The end of the text: throws when the document is incomplete or had no <tv> root. */
  end(): void {
    this.#ended = true;
    const used = this.#parse(true);
    if (this.#buf.slice(used).trim() !== '') this.#fail('the guide ends inside a tag, comment or CDATA section', used);
    if (!this.#sawRoot) this.#fail('no <tv> root element: is this an XMLTV guide?', used);
    if (this.#outer.length > 0 || this.#item !== null) this.#fail(`the guide ends before </${this.#item?.[0]?.name ?? this.#outer.at(-1)}>`, used);
  }

  /** Consumes complete tokens from #buf; returns how many characters it used. */
  #parse(final: boolean): number {
    const buf = this.#buf;
    let at = 0;
    while (at < buf.length) {
      if (buf.charCodeAt(at) !== 0x3c /* < */) {
        const lt = buf.indexOf('<', at);
        if (lt < 0 && !final) break;
        const end = lt < 0 ? buf.length : lt;
        this.#text(buf.slice(at, end), at);
        at = end;
        continue;
      }
      const next = this.#markup(buf, at);
      if (next < 0) break; // incomplete: wait for more text
      at = next;
    }
    return at;
  }

  /** One markup token at `at` ('<'); the index after it, or -1 when it is not complete yet. */
  #markup(buf: string, at: number): number {
    if (buf.startsWith('<!--', at)) return this.#skipUntil(buf, at, '-->');
    if (buf.startsWith('<?', at)) return this.#skipUntil(buf, at, '?>');
    if (buf.startsWith('<![CDATA[', at)) {
      const end = buf.indexOf(']]>', at + 9);
      if (end < 0) return -1;
      this.#cdata(buf.slice(at + 9, end), at);
      return end + 3;
    }
    if (buf.startsWith('<!', at)) return this.#skipDoctype(buf, at);
    const end = tagEnd(buf, at + 1);
    if (end < 0) return -1;
    const raw = buf.slice(at + 1, end);
    if (raw.startsWith('/')) this.#close(raw.slice(1).trim(), at);
    else if (raw.endsWith('/')) this.#open(raw.slice(0, -1), true, at, end + 1 - at);
    else this.#open(raw, false, at, end + 1 - at);
    return end + 1;
  }

  #skipUntil(buf: string, at: number, terminator: string): number {
    const end = buf.indexOf(terminator, at + 2);
    return end < 0 ? -1 : end + terminator.length;
  }

  /** `<!DOCTYPE tv SYSTEM "xmltv.dtd">`, possibly with an internal subset `[...]`: skipped whole. */
  #skipDoctype(buf: string, at: number): number {
    let bracket = false;
    let quote = '';
    for (let i = at + 2; i < buf.length; i++) {
      const c = buf[i]!;
      if (quote !== '') {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '[') bracket = true;
      else if (c === ']') bracket = false;
      else if (c === '>' && !bracket) return i + 1;
    }
    return -1;
  }

  #open(raw: string, selfClosing: boolean, at: number, chars: number): void {
    const { name, attrs } = parseTag(raw, (message) => this.#fail(message, at));
    const item = this.#item;
    if (item !== null) {
      this.#grow(chars, at);
      if (item.length >= this.#depthMax) this.#fail(`elements nested deeper than ${this.#depthMax}`, at);
      const element: Building = { name, attrs, children: [] };
      item.at(-1)!.children.push(element);
      if (!selfClosing) item.push(element);
      return;
    }
    if (this.#outer.length === 0) {
      if (this.#sawRoot) this.#fail(`a second root element <${name}>`, at);
      if (name !== 'tv') this.#fail(`the root element is <${name}>, not <tv>: is this an XMLTV guide?`, at);
      this.#sawRoot = true;
      if (!selfClosing) this.#outer.push(name);
      return;
    }
    const wanted = this.#outer.length === 1 && (
      (name === 'channel' && this.#h.wantChannel(attrs['id'] ?? '')) || (name === 'programme' && this.#h.wantProgramme(attrs['channel'] ?? '')));
    if (!wanted) {
      if (!selfClosing) this.#outer.push(name);
      if (this.#outer.length > this.#depthMax) this.#fail(`elements nested deeper than ${this.#depthMax}`, at);
      return;
    }
    const element: Building = { name, attrs, children: [] };
    this.#itemChars = 0;
    this.#itemNodes = 0;
    this.#item = [element];
    this.#grow(chars, at);
    if (selfClosing) this.#finishItem(element);
  }

  #close(name: string, at: number): void {
    const item = this.#item;
    if (item !== null) {
      const open = item.pop()!;
      if (open.name !== name) this.#fail(`</${name}> closes <${open.name}>`, at);
      if (item.length === 0) this.#finishItem(open);
      return;
    }
    const open = this.#outer.pop();
    if (open !== name) this.#fail(open === undefined ? `</${name}> without an open element` : `</${name}> closes <${open}>`, at);
  }

  #finishItem(root: Building): void {
    this.#item = null;
    if (root.name === 'channel') this.#h.onChannel(root);
    else this.#h.onProgramme(root);
  }

  #text(raw: string, at: number): void {
    const item = this.#item;
    if (item === null) {
      if (this.#outer.length === 0 && raw.trim() !== '') this.#fail('text outside the root element', at);
      return;
    }
    this.#grow(raw.length, at);
    item.at(-1)!.children.push(decodeEntities(raw));
  }

  #cdata(text: string, at: number): void {
    const item = this.#item;
    if (item === null) return;
    this.#grow(text.length, at);
    item.at(-1)!.children.push(text);
  }

  #grow(chars: number, at: number): void {
    this.#itemChars += chars;
    this.#itemNodes++;
    if (this.#itemChars > this.#itemCharsMax) this.#fail(`an item larger than ${this.#itemCharsMax} characters`, at);
    if (this.#itemNodes > this.#nodesMax) this.#fail(`an item with more than ${this.#nodesMax} nodes`, at);
  }

  #fail(message: string, at: number): never {
    throw new XmltvSyntaxError(message, this.#consumed + at);
  }
}

/** The index of the '>' that ends the tag whose name starts at `from` (quotes respected); -1
 *  when the text ends first. */
function tagEnd(buf: string, from: number): number {
  let quote = '';
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
  }
  return -1;
}

const attributePattern = /\s*([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;

/** `name a="1" b='2'` (without the angle brackets and the closing '/'). */
function parseTag(raw: string, fail: (message: string) => never): { name: string; attrs: Record<string, string> } {
  const nameEnd = raw.search(/\s|$/);
  const name = raw.slice(0, nameEnd);
  if (!namePattern.test(name)) fail(`<${name.slice(0, 40)}> is not an element name`);
  const attrs = Object.create(null) as Record<string, string>;
  let at = nameEnd;
  for (;;) {
    if (raw.slice(at).trim() === '') break;
    attributePattern.lastIndex = at;
    const match = attributePattern.exec(raw);
    if (match === null) fail(`a malformed attribute in <${name}>`);
    const key = match[1]!;
    if (!namePattern.test(key)) fail(`"${key.slice(0, 40)}" is not an attribute name in <${name}>`);
    if (Object.hasOwn(attrs, key)) fail(`attribute ${key} twice in <${name}>`);
    attrs[key] = decodeEntities(match[2] ?? match[3] ?? '');
    at = attributePattern.lastIndex;
  }
  return { name, attrs };
}

/** The predefined entities and character references; unknown ones stay as they are. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{0,31});/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return isXmlChar(code) ? String.fromCodePoint(code) : whole;
    }
    return predefined[ref] ?? whole;
  });
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** An attribute of an element ('' when absent). */
export function xmlAttr(element: XmlElement, name: string): string {
  return Object.hasOwn(element.attrs, name) ? element.attrs[name]! : '';
}

/** The text of an element's direct text children, trimmed. */
export function xmlText(element: XmlElement): string {
  return element.children.filter((c): c is string => typeof c === 'string').join('').trim();
}

/** The child elements named `name`. */
export function xmlChildren(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c): c is XmlElement => typeof c !== 'string' && c.name === name);
}
