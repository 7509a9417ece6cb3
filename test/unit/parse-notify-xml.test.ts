// Reading a notification body (gateway/parse-notify-xml.ts): exactly one flat <xml> root of leaf
// elements in UTF-8, values exactly as sent; everything a real notification never contains is
// refused with a message.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeEntities, MAX_FIELDS, parseNotifyXml } from '../../gateway/parse-notify-xml';
import { DOC_EXAMPLE_FIELDS } from '../fixtures/doc-example-notification';

const BOM_UTF8 = Buffer.from([0xef, 0xbb, 0xbf]);

/** The example notification in WeChat Pay's v2 documentation, laid out as documented. */
const DOC_EXAMPLE_XML = `<xml>
  <appid><![CDATA[wx2421b1c4370ec43b]]></appid>
  <attach><![CDATA[支付测试]]></attach>
  <bank_type><![CDATA[CFT]]></bank_type>
  <fee_type><![CDATA[CNY]]></fee_type>
  <is_subscribe><![CDATA[Y]]></is_subscribe>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5d2b6c2a8db53831f7eda20af46e531c]]></nonce_str>
  <openid><![CDATA[oUpF8uMEb4qRXf22hE3X68TekukE]]></openid>
  <out_trade_no><![CDATA[1409811653]]></out_trade_no>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <sign><![CDATA[B552ED6B279343CB493C5DD0D78AB241]]></sign>
  <time_end><![CDATA[20140903131540]]></time_end>
  <total_fee>1</total_fee>
  <coupon_fee><![CDATA[10]]></coupon_fee>
  <coupon_count><![CDATA[1]]></coupon_count>
  <coupon_type><![CDATA[CASH]]></coupon_type>
  <coupon_id><![CDATA[10000]]></coupon_id>
  <coupon_fee_0><![CDATA[100]]></coupon_fee_0>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <transaction_id><![CDATA[1004400740201409030005092168]]></transaction_id>
</xml>`;

function fieldsXml(count: number): string {
  return `<xml>${Array.from({ length: count }, (_, i) => `<f${i}>${i}</f${i}>`).join('')}</xml>`;
}

const body = (b: string | Buffer): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

describe('accepted', () => {
  const cases: ReadonlyArray<{ name: string; body: string | Buffer; fields: Record<string, string> }> = [
    {
      name: 'official example: the documented notification, indented, CDATA and plain text',
      body: DOC_EXAMPLE_XML,
      fields: DOC_EXAMPLE_FIELDS,
    },
    { name: 'a CDATA value', body: '<xml><a><![CDATA[1]]></a></xml>', fields: { a: '1' } },
    { name: 'a plain-text value', body: '<xml><a>1</a></xml>', fields: { a: '1' } },
    {
      name: 'numbers stay strings, leading zeros kept',
      body: '<xml><total_fee>0100</total_fee></xml>',
      fields: { total_fee: '0100' },
    },
    {
      name: 'the five predefined entities and numeric references are decoded in text',
      body: '<xml><a>&lt;&gt;&amp;&quot;&apos;&#65;&#x4E2D;</a></xml>',
      fields: { a: '<>&"\'A中' },
    },
    {
      name: 'entities are decoded once: &amp;lt; is the text &lt;',
      body: '<xml><a>&amp;lt;</a></xml>',
      fields: { a: '&lt;' },
    },
    {
      name: 'CDATA is literal: &amp; inside it stays &amp;',
      body: '<xml><a><![CDATA[&amp;]]></a></xml>',
      fields: { a: '&amp;' },
    },
    {
      name: 'CDATA is literal: < > & inside it',
      body: '<xml><a><![CDATA[<b> & </b>]]></a></xml>',
      fields: { a: '<b> & </b>' },
    },
    {
      name: 'spaces and newlines between elements',
      body: '<xml>\n  <a>1</a>\n  <b>2</b>\n</xml>\n',
      fields: { a: '1', b: '2' },
    },
    {
      name: 'CRLF and tabs between elements',
      body: '<xml>\r\n\t<a>1</a>\r\n\t<b><![CDATA[2]]></b>\r\n</xml>',
      fields: { a: '1', b: '2' },
    },
    {
      name: 'whitespace around a CDATA section is layout',
      body: '<xml><a>\n  <![CDATA[1]]>\n</a></xml>',
      fields: { a: '1' },
    },
    {
      name: 'XML declaration with encoding="UTF-8"',
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<xml><a>1</a></xml>',
      fields: { a: '1' },
    },
    {
      name: 'XML declaration with encoding="utf-8"',
      body: '<?xml version="1.0" encoding="utf-8"?><xml><a>1</a></xml>',
      fields: { a: '1' },
    },
    { name: 'XML declaration without encoding', body: '<?xml version="1.0"?><xml><a>1</a></xml>', fields: { a: '1' } },
    {
      name: 'a UTF-8 byte order mark',
      body: Buffer.concat([BOM_UTF8, Buffer.from('<xml><a>1</a></xml>')]),
      fields: { a: '1' },
    },
    { name: 'an empty element <a></a> is ""', body: '<xml><a></a><b>1</b></xml>', fields: { a: '', b: '1' } },
    { name: 'a self-closing element <a/> is ""', body: '<xml><a/><b>1</b></xml>', fields: { a: '', b: '1' } },
    { name: 'an empty CDATA section is ""', body: '<xml><a><![CDATA[]]></a></xml>', fields: { a: '' } },
    { name: 'Chinese text', body: '<xml><attach>支付测试</attach></xml>', fields: { attach: '支付测试' } },
    {
      name: 'Chinese in CDATA and an emoji',
      body: '<xml><attach><![CDATA[测试 😀]]></attach></xml>',
      fields: { attach: '测试 😀' },
    },
    { name: 'leading and trailing spaces kept in text', body: '<xml><a>  1  </a></xml>', fields: { a: '  1  ' } },
    {
      name: 'leading and trailing spaces kept in CDATA',
      body: '<xml><a><![CDATA[ 1 ]]></a></xml>',
      fields: { a: ' 1 ' },
    },
    { name: 'field names are case-sensitive', body: '<xml><A>1</A><a>2</a></xml>', fields: { A: '1', a: '2' } },
    {
      name: 'a comment between fields is ignored',
      body: '<xml><a>1</a><!-- note --><b>2</b></xml>',
      fields: { a: '1', b: '2' },
    },
    {
      name: 'CR LF and a lone CR inside a value read as LF, as XML reads them (text and CDATA)',
      body: '<xml><a>1\r\n2\r3</a><b><![CDATA[x\r\ny\r]]></b></xml>',
      fields: { a: '1\n2\n3', b: 'x\ny\n' },
    },
    {
      name: 'a CR on each side of a comment is two line feeds, not one CR LF',
      body: '<xml><a>1\r<!-- c -->\n2</a></xml>',
      fields: { a: '1\n\n2' },
    },
    { name: 'a CR sent as &#13; stays a CR', body: '<xml><a>1&#13;\n2</a></xml>', fields: { a: '1\r\n2' } },
    {
      name: 'a processing instruction whose quotes close before its ?>',
      body: `<xml><a>1</a><?q "x" 'y'?><b>2<??></b></xml>`,
      fields: { a: '1', b: '2' },
    },
    {
      name: `exactly ${MAX_FIELDS} fields`,
      body: fieldsXml(MAX_FIELDS),
      fields: Object.fromEntries(Array.from({ length: MAX_FIELDS }, (_, i) => [`f${i}`, String(i)])),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseNotifyXml(body(c.body));
      assert.ok(r.ok, r.ok ? '' : r.message);
      assert.deepEqual(r.fields, c.fields);
    });
  }
});

describe('rejected, with a message', () => {
  const cases: ReadonlyArray<{ name: string; body: string | Buffer }> = [
    // Not a document.
    { name: 'empty body', body: '' },
    { name: 'whitespace only', body: ' \r\n\t ' },
    { name: 'truncated XML', body: '<xml><a>1</a>' },
    { name: 'truncated inside a CDATA section', body: '<xml><a><![CDATA[1' },
    { name: 'trailing text after the root', body: '<xml><a>1</a></xml>junk' },
    { name: 'JSON instead of XML', body: '{"a":"1"}' },
    // Encoding.
    {
      name: 'invalid UTF-8 bytes',
      body: Buffer.concat([Buffer.from('<xml><a>'), Buffer.from([0xc3, 0x28]), Buffer.from('</a></xml>')]),
    },
    {
      name: 'a lone continuation byte',
      body: Buffer.concat([Buffer.from('<xml><a>'), Buffer.from([0x80]), Buffer.from('</a></xml>')]),
    },
    {
      name: 'UTF-16LE with a BOM',
      body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<xml><a>1</a></xml>', 'utf16le')]),
    },
    {
      name: 'UTF-16BE with a BOM',
      body: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('<xml><a>1</a></xml>', 'utf16le').swap16()]),
    },
    { name: 'declared encoding GBK', body: '<?xml version="1.0" encoding="GBK"?><xml><a>1</a></xml>' },
    { name: 'declared encoding ISO-8859-1', body: "<?xml version='1.0' encoding='ISO-8859-1'?><xml><a>1</a></xml>" },
    // DTDs and entities.
    { name: 'DOCTYPE with an internal subset', body: '<!DOCTYPE xml [<!ENTITY x "y">]><xml><a>&x;</a></xml>' },
    {
      name: 'billion laughs',
      body:
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><xml><a>&lol2;</a></xml>',
    },
    {
      name: 'external SYSTEM entity (XXE)',
      body: '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><a>&x;</a></xml>',
    },
    { name: 'DOCTYPE without a subset', body: '<!DOCTYPE xml><xml><a>1</a></xml>' },
    { name: 'lower-case doctype', body: '<!doctype xml><xml><a>1</a></xml>' },
    { name: 'an undefined entity &foo;', body: '<xml><a>&foo;</a></xml>' },
    { name: 'an upper-case &AMP; (entity names are case-sensitive)', body: '<xml><a>&AMP;</a></xml>' },
    { name: 'a bare &', body: '<xml><a>a & b</a></xml>' },
    { name: 'a numeric reference without ;', body: '<xml><a>&#65</a></xml>' },
    { name: '&#0;', body: '<xml><a>&#0;</a></xml>' },
    { name: '&#xD800; (a surrogate)', body: '<xml><a>&#xD800;</a></xml>' },
    { name: '&#x110000; (beyond Unicode)', body: '<xml><a>&#x110000;</a></xml>' },
    // Structure.
    { name: 'root is not <xml>', body: '<root><a>1</a></root>' },
    { name: 'root is <XML> (case-sensitive)', body: '<XML><a>1</a></XML>' },
    { name: 'two roots', body: '<xml><a>1</a></xml><xml><b>2</b></xml>' },
    { name: 'a second, self-closing root', body: '<xml><a>1</a></xml><xml/>' },
    { name: 'an empty <xml></xml>', body: '<xml></xml>' },
    { name: 'a self-closing <xml/>', body: '<xml/>' },
    { name: 'a nested element', body: '<xml><a><b>1</b></a></xml>' },
    { name: 'a repeated tag', body: '<xml><a>1</a><a>2</a></xml>' },
    { name: 'a repeated tag with the same value', body: '<xml><a>1</a><a>1</a></xml>' },
    { name: 'an attribute on a field', body: '<xml><a b="1">1</a></xml>' },
    { name: 'an attribute on a CDATA field', body: '<xml><a b="1"><![CDATA[1]]></a></xml>' },
    { name: 'an attribute on the root', body: '<xml version="2"><a>1</a></xml>' },
    { name: 'text directly inside <xml>, before fields', body: '<xml>hello<a>1</a></xml>' },
    { name: 'text directly inside <xml>, after fields', body: '<xml><a>1</a>hello</xml>' },
    { name: 'only text inside <xml>', body: '<xml>hello</xml>' },
    { name: `more than ${MAX_FIELDS} fields`, body: fieldsXml(MAX_FIELDS + 1) },
    { name: 'a field name with a dash', body: '<xml><a-b>1</a-b></xml>' },
    { name: 'a field name starting with a digit', body: '<xml><1a>1</1a></xml>' },
    { name: 'a field name with a namespace prefix', body: '<xml><x:a>1</x:a></xml>' },
    { name: 'a field named __proto__', body: '<xml><__proto__>1</__proto__><a>2</a></xml>' },
    { name: 'a field named constructor', body: '<xml><constructor>1</constructor></xml>' },
    // Comments and processing instructions the validator and fast-xml-parser's parser end in
    // different places: reading on from either guess loses or invents fields.
    { name: '<?> first inside the root (once read forever)', body: '<xml><?><a>1</a></xml>' },
    { name: '<?> between fields', body: '<xml><a>1</a><?><b>2</b></xml>' },
    { name: '<?> inside a value', body: '<xml><a>1<?>2</a></xml>' },
    { name: '<?> before the root', body: '<?>?><xml><a>1</a></xml>' },
    {
      name: '<?> skipping to a ?> in a comment, to read a field from inside it',
      body: '<xml><a>1</a><?><!--?><total_fee>100</total_fee></z><? --></xml><?x?>',
    },
    {
      name: 'a processing instruction with a quote open at its ?> (hiding a field from the parser)',
      body: '<xml><a>1</a><?q "?><b>2</b><?q "?></xml>',
    },
    { name: "the same with '", body: "<xml><a>1</a><?q '?><b>2</b><?q '?></xml>" },
    { name: 'an unclosed processing instruction after the root', body: '<xml><a>1</a></xml><?pi ' },
    { name: 'an unclosed comment after the root', body: '<xml><a>1</a></xml><!-- x ' },
    // The validator reads `</b/>` as an empty element; the parser closed the open one with it.
    { name: 'a closing tag ending in /> inside a field', body: '<xml><a>1</b/></a></xml>' },
    { name: 'a closing tag ending in /> between fields', body: '<xml><a>1</a></b/></xml>' },
    // The validator takes U+1680 and U+FEFF as name characters; the parser trimmed them as spaces.
    { name: 'a field name ending in U+1680', body: '<xml><a\u1680>1</a\u1680></xml>' },
    { name: 'a root name ending in U+FEFF', body: '<xml\ufeff><a>1</a></xml\ufeff>' },
    { name: 'text then CDATA in one field', body: '<xml><a>x<![CDATA[y]]></a></xml>' },
    { name: 'CDATA then text in one field', body: '<xml><a><![CDATA[y]]>x</a></xml>' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseNotifyXml(body(c.body));
      assert.equal(r.ok, false, `accepted: ${JSON.stringify(r)}`);
      assert.ok(!r.ok && r.message.length > 0);
    });
  }
});

describe("decodeEntities: XML's five predefined entities and numeric references, nothing else", () => {
  const cases: ReadonlyArray<{ name: string; text: string; decoded: string | null }> = [
    { name: 'no & at all', text: 'plain 文本', decoded: 'plain 文本' },
    { name: '&lt; &gt; &amp; &quot; &apos;', text: '&lt;&gt;&amp;&quot;&apos;', decoded: '<>&"\'' },
    { name: 'decimal &#65;', text: '&#65;', decoded: 'A' },
    { name: 'decimal with leading zeros &#00065;', text: '&#00065;', decoded: 'A' },
    { name: 'hex &#x4E2D;', text: '&#x4E2D;', decoded: '中' },
    { name: 'hex lower case &#x4e2d;', text: '&#x4e2d;', decoded: '中' },
    { name: 'astral plane &#x1F600;', text: '&#x1F600;', decoded: '😀' },
    { name: 'one pass: &amp;lt; -> &lt;', text: '&amp;lt;', decoded: '&lt;' },
    { name: 'text around entities', text: 'a &lt; b &amp;&amp; c', decoded: 'a < b && c' },
    { name: 'undefined &foo;', text: '&foo;', decoded: null },
    { name: 'HTML-only &nbsp;', text: '&nbsp;', decoded: null },
    { name: 'bare &', text: 'a & b', decoded: null },
    { name: '& at the end', text: 'a&', decoded: null },
    { name: 'missing ; &lt', text: '&lt', decoded: null },
    { name: 'empty &;', text: '&;', decoded: null },
    { name: 'empty numeric &#;', text: '&#;', decoded: null },
    { name: 'upper-case X &#X41;', text: '&#X41;', decoded: null },
    { name: '&#0;', text: '&#0;', decoded: null },
    { name: 'surrogate &#xD800;', text: '&#xD800;', decoded: null },
    { name: 'surrogate &#xDFFF;', text: '&#xDFFF;', decoded: null },
    { name: 'beyond Unicode &#x110000;', text: '&#x110000;', decoded: null },
    { name: 'beyond Unicode &#1114112;', text: '&#1114112;', decoded: null },
    { name: 'one bad entity spoils the value', text: '&lt;&bogus;', decoded: null },
  ];
  for (const c of cases) test(c.name, () => assert.equal(decodeEntities(c.text), c.decoded));
});
