// The shared flat-XML reader (src/xml/parse-flat-xml.ts) with its root element as a parameter:
// `<xml>` for notification bodies (the gateway), `<root>` for the decrypted req_info of a v2 refund
// notification (the core). The rules themselves are tabled in parse-notify-xml.test.ts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseNotifyXml } from '../../gateway/parse-notify-xml';
import { decodeEntities, MAX_FIELDS, parseFlatXml } from '../../src/xml/parse-flat-xml';

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-refund-req-info.json'), 'utf8'),
) as { readonly plaintext: string };

describe('public vector: the decrypted req_info of a v2 refund notification reads as <root> fields', () => {
  test('every field, values exactly as sent (Chinese included)', () => {
    const r = parseFlatXml(Buffer.from(vector.plaintext, 'utf8'), 'root');
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.deepEqual(r.fields, {
      out_refund_no: '50fd012ed1b311e7af7800163e32c503',
      out_trade_no: '4893e76d8c8b434cb64e9cd536338e33',
      refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
      refund_fee: '6',
      refund_id: '50000404922017112502468056157',
      refund_recv_accout: '支付用户零钱',
      refund_request_source: 'API',
      refund_status: 'SUCCESS',
      settlement_refund_fee: '6',
      settlement_total_fee: '6',
      success_time: '2017-11-25 15:36:17',
      total_fee: '6',
      transaction_id: '4200000015201711256947025404',
    });
  });
});

describe('the root element is the one asked for, and messages name it', () => {
  const cases: ReadonlyArray<{
    name: string;
    body: string;
    root: string;
    fields?: Record<string, string>;
    message?: RegExp;
  }> = [
    { name: '<xml> read as xml', body: '<xml><a>1</a></xml>', root: 'xml', fields: { a: '1' } },
    { name: '<root> read as root', body: '<root><a>1</a></root>', root: 'root', fields: { a: '1' } },
    {
      name: '<xml> refused as root',
      body: '<xml><a>1</a></xml>',
      root: 'root',
      message: /exactly one root element, <root>/,
    },
    {
      name: '<root> refused as xml',
      body: '<root><a>1</a></root>',
      root: 'xml',
      message: /exactly one root element, <xml>/,
    },
    { name: 'an empty body names the root', body: '', root: 'root', message: /expected <root>\.\.\.<\/root>/ },
    { name: 'an empty <root>', body: '<root></root>', root: 'root', message: /<root> has no fields/ },
    { name: 'text inside <root>', body: '<root>hello</root>', root: 'root', message: /<root> must contain elements/ },
    {
      name: 'nesting inside <root>',
      body: '<root><a><b>1</b></a></root>',
      root: 'root',
      message: /field a must be plain text or CDATA/,
    },
    {
      name: 'a DOCTYPE before <root>',
      body: '<!DOCTYPE root [<!ENTITY x "y">]><root><a>&x;</a></root>',
      root: 'root',
      message: /DOCTYPE/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseFlatXml(Buffer.from(c.body, 'utf8'), c.root);
      if (c.fields) {
        assert.ok(r.ok, r.ok ? '' : r.message);
        assert.deepEqual(r.fields, c.fields);
      } else {
        assert.equal(r.ok, false);
        assert.match(r.ok ? '' : r.message, c.message ?? /./);
      }
    });
  }
});

test("the gateway's parseNotifyXml is parseFlatXml with the root <xml>", () => {
  for (const body of ['<xml><a>1</a></xml>', '<root><a>1</a></root>', '<xml><a b="1">1</a></xml>', '']) {
    assert.deepEqual(parseNotifyXml(Buffer.from(body)), parseFlatXml(Buffer.from(body), 'xml'));
  }
});

/**
 * What the reader replaced: fast-xml-parser's XMLParser building a tree, walked for the same
 * rules. On every generated document both accept with the same fields, or both refuse.
 */
function readWithXmlParser(text: string): Record<string, string> | undefined {
  if (XMLValidator.validate(text) !== true) return undefined;
  let doc: unknown;
  try {
    doc = treeParser.parse(text);
  } catch {
    return undefined;
  }
  const root = isRecord(doc) && Object.keys(doc).length === 1 ? doc['xml'] : undefined;
  if (!isRecord(root) || Object.keys(root).length > MAX_FIELDS) return undefined;
  const fields: Record<string, string> = {};
  for (const [name, node] of Object.entries(root)) {
    if (name === '#text' && typeof node === 'string' && node.trim() === '') continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) || name.startsWith('__') || Array.isArray(node)) return undefined;
    let value: string | null | undefined;
    if (typeof node === 'string') value = decodeEntities(node);
    else if (isRecord(node)) {
      const raw = node['#cdata'];
      const cdata = Array.isArray(raw) && raw.every((p) => typeof p === 'string') ? raw.join('') : raw;
      const text = node['#text'];
      const keys = Object.keys(node);
      const layoutOnly = keys.every(
        (k) => k === '#cdata' || (k === '#text' && typeof text === 'string' && text.trim() === ''),
      );
      value = typeof cdata === 'string' && layoutOnly ? cdata : undefined;
    }
    if (value === undefined || value === null) return undefined;
    fields[name] = value;
  }
  return Object.keys(fields).length > 0 ? fields : undefined;
}

const treeParser = new XMLParser({
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

describe("the one-pass reader reads what fast-xml-parser's tree parser reads", () => {
  const piece = fc.constantFrom(
    'x',
    '1',
    ' ',
    '\n',
    '\t',
    '中',
    '>',
    '&amp;',
    '&lt;',
    '&#65;',
    '&foo;',
    '&',
    '<!-- c -->',
    '<?pi x?>',
    '<![CDATA[y]]>',
    '<![CDATA[]]>',
    '<![CDATA[<b>&amp;]]>',
    '<b>1</b>',
    '<b/>',
    ']]>',
    '\r\n',
    '\r',
    '&#13;',
    '?>',
    '<??>',
    '<?q "x"?>',
    '<?>',
    '<?q "?>',
    "<?q '?>",
    '</q/>',
    '\u1680',
  );
  const value = fc.array(piece, { maxLength: 4 }).map((parts) => parts.join(''));
  const name = fc.constantFrom(
    'a',
    'b',
    'total_fee',
    'A',
    '_x',
    'toString',
    'constructor',
    '__p',
    'x-y',
    'hasOwnProperty',
    'a\u1680',
  );
  const field = fc
    .tuple(name, value, fc.constantFrom('', ' ', ' k="v"', '\n'))
    .map(([n, v, attr]) => (v === '' && attr === '\n' ? `<${n}/>` : `<${n}${attr}>${v}</${n}>`));
  const between = fc.constantFrom(
    '',
    '',
    '\n  ',
    ' ',
    'junk',
    '<!-- note -->',
    '<?pi?>',
    '<![CDATA[z]]>',
    '<?>',
    '<?q "?>',
    '<!--?>-->',
    '<!--?> <b>9</b> -->',
    '<!--?><b>9</b></q><? -->',
    '</q/>',
  );
  const document = fc
    .tuple(
      fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>', '<!-- c -->', ' ', '<?>?>'),
      fc.array(fc.tuple(between, field), { maxLength: 6 }),
      between,
      fc.constantFrom('', ' ', '\n', '<!-- end -->', 'tail', '<xml/>', '<?x?>', '<?pi ', '<!-- x ', '</q/>'),
      fc.constantFrom('<xml>', '<xml >', '<xml a="1">'),
    )
    .map(
      ([head, fields, last, tail, open]) =>
        `${head}${open}${fields.map(([b, f]) => b + f).join('')}${last}</xml>${tail}`,
    );

  // Where the validator and the tree parser disagree, the reader refuses what the parser read:
  // `<?>` and a quote open at a `?>` end a processing instruction in different places; `</q/>` is
  // an empty element to the validator and closed the open element in the parser; U+1680 is a
  // name character to the validator and a space the parser trimmed off names.
  const refusedOnPurpose = ['<?>', '<?q "?>', "<?q '?>", '</q/>', '\u1680'];

  test('on generated documents: the same fields, or both refuse', () => {
    fc.assert(
      fc.property(document, (text) => {
        const ours = parseFlatXml(Buffer.from(text, 'utf8'), 'xml');
        const old = readWithXmlParser(text);
        if (!ours.ok && old !== undefined && refusedOnPurpose.some((p) => text.includes(p))) return;
        assert.deepEqual(ours.ok ? ours.fields : undefined, old, text);
      }),
      { numRuns: 3000 },
    );
  });
});
