import { XMLValidator } from 'fast-xml-parser';

export type FlatXmlParse =
  { readonly ok: true; readonly fields: Record<string, string> } | { readonly ok: false; readonly message: string };

/** A generous bound: a real notification has about 20 fields, a few coupons add a few each. */
export const MAX_FIELDS = 256;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Reads WeChat Pay's flat v2 XML into its fields: a notification body or an API reply (root
 * `<xml>`). Its messages may quote the input, so it is not used on decrypted content: a refund's
 * req_info has its own stricter reader (src/notify/v2-refund/req-info-document.ts). Accepts
 * exactly one flat root of leaf elements, named `rootName`, in UTF-8; refuses what WeChat never
 * sends and attackers like: DOCTYPE and entity declarations, attributes, nesting, repeated tags,
 * other encodings. Pure: every value stays the string that was sent. fast-xml-parser's validator
 * judges the syntax; the fields are then read in one pass.
 *
 * parseFlatXml(Buffer.from('<xml><a><![CDATA[1]]></a></xml>'), 'xml') => { ok: true, fields: { a: '1' } }
 * parseFlatXml(Buffer.from('<root><a>1</a></root>'), 'xml')
 *   => { ok: false, message: 'the document must have exactly one root element, <xml>' }
 */
export function parseFlatXml(body: Buffer, rootName: string): FlatXmlParse {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    return fail('the body is not valid UTF-8');
  }
  if (text.trim() === '') return fail(`the body is empty; expected <${rootName}>...</${rootName}>`);
  // XML 1.0 forbids these outright; no WeChat value contains them.
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(text)) return fail('the body contains control characters');
  // DTDs are where entity expansion and external-entity tricks live; WeChat never sends one.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return fail('DOCTYPE and ENTITY declarations are not accepted');
  const declaration = /^\s*<\?xml\s[^?]*?encoding\s*=\s*["']([^"']+)["']/i.exec(text);
  if (declaration && !/^utf-?8$/i.test(declaration[1] ?? '')) {
    return fail(`encoding ${declaration[1] ?? ''} is not accepted; send UTF-8`);
  }
  const valid = XMLValidator.validate(text);
  // The validator's message can quote the whole stack of open tags: keep the reason short.
  if (valid !== true) return fail(`malformed XML: ${valid.err.msg.slice(0, 160)} (line ${valid.err.line})`);
  return readFlatRoot(text, rootName);
}

/**
 * The fields of a document XMLValidator has accepted, in one pass: the validator has already
 * checked that tags balance, names are well formed, and comments and CDATA inside the root are
 * closed, so what is left is the flat shape. Where the validator's idea of a comment's or
 * processing instruction's end is not the parser's, or there is none, the reader refuses
 * (skipComment) rather than read on from a guess. Reads what fast-xml-parser's own
 * XMLParser would (test/unit/parse-flat-xml.test.ts compares the two on generated documents) at a
 * fifth of its cost: the parser built a tree of objects only for this loop to walk it.
 */
function readFlatRoot(text: string, rootName: string): FlatXmlParse {
  let i = skipMarkup(text, 0);
  if (i < 0) return fail(UNREADABLE_MARKUP);
  const rootEnd = nameEnd(text, i + 1);
  if (text.charCodeAt(i) !== LT || text.slice(i + 1, rootEnd) !== rootName)
    return fail(`the document must have exactly one root element, <${rootName}>`);
  i = skipSpace(text, rootEnd);
  if (text.startsWith('/>', i)) return fail(`<${rootName}> has no fields`);
  if (text.charCodeAt(i) !== GT) return fail('attributes are not accepted');
  i++;
  const fields: Record<string, string> = {};
  let count = 0;
  let textBetween = false;
  for (;;) {
    const lt = text.indexOf('<', i);
    if (lt === -1) return fail('malformed XML');
    if (!isBlank(text, i, lt)) textBetween = true;
    i = lt;
    const skipped = skipComment(text, i);
    if (skipped < 0) return fail(UNREADABLE_MARKUP);
    if (skipped !== i) {
      i = skipped;
      continue;
    }
    if (text.startsWith(CDATA_OPEN, i)) {
      textBetween = true;
      const close = text.indexOf(CDATA_CLOSE, i);
      if (close < 0) return fail('malformed XML');
      i = close + CDATA_CLOSE.length;
      continue;
    }
    if (text.startsWith('</', i)) {
      const gt = text.indexOf('>', i);
      if (gt < 0) return fail('malformed XML');
      const rest = skipMarkup(text, gt + 1);
      if (rest < 0) return fail(UNREADABLE_MARKUP);
      // The validator lets a second, self-closing root follow the first (`<xml>...</xml><xml/>`).
      if (rest !== text.length) return fail(`the document must have exactly one root element, <${rootName}>`);
      break;
    }
    const field = readField(text, i);
    if (!field.ok) return field;
    i = field.next;
    const { name, value } = field;
    if (!FIELD_NAME.test(name) || name.startsWith('__') || name in Object.prototype)
      // Names such as __proto__ or toString would reach the signature renamed, or not at all.
      return fail(`field name ${name.slice(0, 64)} is not accepted`);
    if (Object.hasOwn(fields, name)) return fail(`field ${name} appears more than once`);
    if (++count > MAX_FIELDS) return fail(`too many fields (more than ${MAX_FIELDS})`);
    fields[name] = value;
  }
  if (textBetween)
    return fail(
      count === 0
        ? `<${rootName}> must contain elements, not text`
        : `<${rootName}> must contain only elements; found text between them`,
    );
  if (count === 0) return fail(`<${rootName}> has no fields`);
  return { ok: true, fields };
}

type FieldRead =
  | { readonly ok: true; readonly name: string; readonly value: string; readonly next: number }
  | { readonly ok: false; readonly message: string };

/** One field starting at its `<`: plain text (entities decoded) or CDATA, nothing else. */
function readField(text: string, start: number): FieldRead {
  const end = nameEnd(text, start + 1);
  const name = text.slice(start + 1, end);
  let i = skipSpace(text, end);
  if (text.startsWith('/>', i)) return { ok: true, name, value: '', next: i + 2 };
  if (text.charCodeAt(i) !== GT) return fail('attributes are not accepted');
  i++;
  let raw = '';
  let cdata: string[] | undefined;
  for (;;) {
    const lt = text.indexOf('<', i);
    if (lt === -1) return fail('malformed XML');
    raw += lineFeeds(text.slice(i, lt));
    i = lt;
    const skipped = skipComment(text, i);
    if (skipped < 0) return fail(UNREADABLE_MARKUP);
    if (skipped !== i) {
      i = skipped;
      continue;
    }
    if (text.startsWith(CDATA_OPEN, i)) {
      const close = text.indexOf(CDATA_CLOSE, i);
      if (close < 0) return fail('malformed XML');
      // Adjacent CDATA sections are one value: it is the only way to carry "]]>" inside CDATA.
      (cdata ??= []).push(lineFeeds(text.slice(i + CDATA_OPEN.length, close)));
      i = close + CDATA_CLOSE.length;
      continue;
    }
    if (!text.startsWith('</', i))
      return fail(`field ${name} must be plain text or CDATA, without attributes or child elements`);
    const gt = text.indexOf('>', i);
    if (gt < 0) return fail('malformed XML');
    i = gt + 1;
    break;
  }
  if (cdata !== undefined) {
    // Whitespace around a CDATA section is layout; anything else mixed with it is ambiguous.
    if (raw.trim() !== '')
      return fail(`field ${name} must be plain text or CDATA, without attributes or child elements`);
    return { ok: true, name, value: cdata.join(''), next: i };
  }
  const value = decodeEntities(raw);
  if (value === null) return fail(`field ${name} has an undefined entity or a bare &`);
  return { ok: true, name, value, next: i };
}

const LT = 0x3c;
const GT = 0x3e;
const CDATA_OPEN = '<![CDATA[';
const CDATA_CLOSE = ']]>';
const UNREADABLE_MARKUP =
  'malformed XML: an unclosed comment, or a processing instruction without a target or with a quote open at its ?>';

/**
 * XML reads CR LF and a lone CR as LF, in text and CDATA alike (fast-xml-parser's parser did so
 * over the whole document); `&#13;` is how a CR is sent.
 */
function lineFeeds(s: string): string {
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

/** Past whitespace, comments and processing instructions (the XML declaration among them); -1 as skipComment. */
function skipMarkup(text: string, from: number): number {
  let i = from;
  for (;;) {
    i = skipSpace(text, i);
    const next = skipComment(text, i);
    if (next === i || next < 0) return next;
    i = next;
  }
}

/**
 * Past one comment or processing instruction at `i`; `i` when there is none; -1 when it is
 * unclosed or one whose end the validator and fast-xml-parser's parser would place differently:
 * `<?>` (the validator ends it at once inside an element, but reads on to the next `?>` before the
 * root) and a quote still open at the first `?>` (the parser reads on past the closing quote).
 * Reading on from the wrong place would take fields from inside a comment, or skip some, and a
 * missing end must never send the reader back to the start of the text.
 */
function skipComment(text: string, i: number): number {
  if (text.startsWith('<!--', i)) {
    const close = text.indexOf('-->', i + 4);
    return close < 0 ? -1 : close + 3;
  }
  if (!text.startsWith('<?', i)) return i;
  if (text.charCodeAt(i + 2) === GT) return -1;
  const close = text.indexOf('?>', i + 2);
  if (close < 0) return -1;
  for (let j = i + 2; j < close; j++) {
    const c = text.charCodeAt(j);
    if (c !== 0x22 && c !== 0x27) continue;
    j = text.indexOf(c === 0x22 ? '"' : "'", j + 1);
    if (j < 0 || j > close) return -1;
  }
  return close + 2;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** A tag name ends at whitespace, `>` or `/` (the validator has checked its characters). */
function nameEnd(text: string, from: number): number {
  let i = from;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === GT || c === 0x2f || isSpace(c)) break;
  }
  return i;
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML's five predefined entities and numeric character references; nothing else. */
export function decodeEntities(text: string): string | null {
  if (!text.includes('&')) return text;
  let bad = false;
  const out = text.replace(/&([^;&\s]{0,10});?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) {
      bad = true;
      return whole;
    }
    const named = Object.hasOwn(NAMED, ref) ? NAMED[ref] : undefined;
    if (named !== undefined) return named;
    const num = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(ref);
    const code = num ? parseInt(num[1] ?? num[2] ?? '', num[1] ? 16 : 10) : NaN;
    const forbidden = code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d;
    if (!Number.isInteger(code) || code > 0x10ffff || forbidden || (code >= 0xd800 && code <= 0xdfff)) {
      bad = true;
      return whole;
    }
    return String.fromCodePoint(code);
  });
  return bad ? null : out;
}

function fail(message: string): { readonly ok: false; readonly message: string } {
  return { ok: false, message };
}
