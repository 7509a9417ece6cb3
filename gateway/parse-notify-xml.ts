import { parseFlatXml, type FlatXmlParse } from '../src/xml/parse-flat-xml';

export { decodeEntities, MAX_FIELDS } from '../src/xml/parse-flat-xml';

export type NotifyXmlParse = FlatXmlParse;

/**
 * Reads a WeChat Pay v2 notification body (payment or refund) into its fields: exactly one flat
 * `<xml>` root of leaf elements in UTF-8. The rules live in src/xml/parse-flat-xml.ts, shared
 * with the core, which reads the decrypted `<root>` of refund notifications the same way.
 *
 * parseNotifyXml(Buffer.from('<xml><a><![CDATA[1]]></a></xml>')) => { ok: true, fields: { a: '1' } }
 */
export function parseNotifyXml(body: Buffer): NotifyXmlParse {
  return parseFlatXml(body, 'xml');
}
