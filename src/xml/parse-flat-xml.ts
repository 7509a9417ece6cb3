import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type FlatXmlParse =
  { readonly ok: true; readonly fields: Record<string, string> } | { readonly ok: false; readonly message: string };

/** A generous bound: a real notification has about 20 fields, a few coupons add a few each. */
export const MAX_FIELDS = 256;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const CDATA = '#cdata';

const parser = new XMLParser({
  // Every value stays a string: "0100" must not become 100 before the signature is checked.
  parseTagValue: false,
  parseAttributeValue: false,
  // Entities are decoded below, by a decoder that knows only XML's predefined ones.
  processEntities: false,
  htmlEntities: false,
  // Signed values are used exactly as sent.
  trimValues: false,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  cdataPropName: CDATA,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

/**
 * Reads WeChat Pay's flat v2 XML into its fields: a notification body or an API reply (root
 * `<xml>`). Its messages may quote the input, so it is not used on decrypted content: a refund's
 * req_info has its own stricter reader (src/notify/v2-refund/req-info-document.ts). Accepts
 * exactly one flat root of leaf elements, named `rootName`, in UTF-8; refuses what WeChat never
 * sends and attackers like: DOCTYPE and entity declarations, attributes, nesting, repeated tags,
 * other encodings. Pure: every value stays the string that was sent.
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

  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (e) {
    // fast-xml-parser refuses names such as __proto__ by throwing.
    return fail(`malformed XML: ${e instanceof Error ? e.message.slice(0, 120) : 'unparseable'}`);
  }
  if (!isRecord(doc)) return fail('malformed XML');
  const roots = Object.keys(doc);
  if (roots.length !== 1 || roots[0] !== rootName)
    return fail(`the document must have exactly one root element, <${rootName}>`);
  const root = doc[rootName];
  if (root === '') return fail(`<${rootName}> has no fields`);
  if (!isRecord(root)) return fail(`<${rootName}> must contain elements, not text`);

  const fields: Record<string, string> = {};
  const names = Object.keys(root);
  if (names.length > MAX_FIELDS) return fail(`too many fields (more than ${MAX_FIELDS})`);
  for (const name of names) {
    const node = root[name];
    if (name === '#text') {
      if (typeof node === 'string' && node.trim() === '') continue;
      return fail(`<${rootName}> must contain only elements; found text between them`);
    }
    if (name.startsWith('@')) return fail('attributes are not accepted');
    if (!FIELD_NAME.test(name)) return fail(`field name ${name.slice(0, 64)} is not accepted`);
    // fast-xml-parser renames tags such as <toString> to __toString: the signature would then
    // cover a name that was never sent. No WeChat field starts with "__".
    if (name.startsWith('__')) return fail(`field name ${name.slice(0, 64)} is not accepted`);
    if (Array.isArray(node)) return fail(`field ${name} appears more than once`);
    const value = leafValue(node);
    if (value === undefined)
      return fail(`field ${name} must be plain text or CDATA, without attributes or child elements`);
    if (value === null) return fail(`field ${name} has an undefined entity or a bare &`);
    fields[name] = value;
  }
  return { ok: true, fields };
}

/** undefined: not a leaf; null: text with a bad entity. */
function leafValue(node: unknown): string | undefined | null {
  if (typeof node === 'string') return decodeEntities(node);
  if (!isRecord(node)) return undefined;
  const keys = Object.keys(node);
  const raw = node[CDATA];
  // Adjacent CDATA sections are one value: it is the only way to carry "]]>" inside CDATA.
  const cdata = Array.isArray(raw) && raw.every((part) => typeof part === 'string') ? raw.join('') : raw;
  if (typeof cdata !== 'string') return undefined;
  // Whitespace around a CDATA section is layout; anything else mixed with it is ambiguous.
  if (keys.every((k) => k === CDATA)) return cdata;
  if (keys.length === 2 && keys.includes('#text') && typeof node['#text'] === 'string' && node['#text'].trim() === '')
    return cdata;
  return undefined;
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string): FlatXmlParse {
  return { ok: false, message };
}
