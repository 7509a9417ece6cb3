import { decodeEntities } from '../../xml/parse-flat-xml';
import { refundError, type RefundError } from './refund-error';

/**
 * The fields WeChat documents inside a v2 refund notification's req_info ("以下为返回的加密字段"
 * of the refund-result notification, direct and service-provider mode alike), in ASCII order as
 * WeChat writes them. Nothing else is ever in a genuine req_info.
 */
export const REQ_INFO_FIELDS: readonly string[] = Object.freeze([
  'out_refund_no',
  'out_trade_no',
  'refund_account',
  'refund_fee',
  'refund_id',
  'refund_recv_accout',
  'refund_request_source',
  'refund_status',
  'settlement_refund_fee',
  'settlement_total_fee',
  'success_time',
  'total_fee',
  'transaction_id',
]);

/**
 * The one message for every decrypted req_info that is not WeChat's document. Fixed on purpose:
 * it goes back to an unauthenticated sender in return_msg, so it says nothing about the content.
 */
export const NOT_A_REFUND_NOTIFICATION =
  'req_info did not decrypt to a refund notification; ' + 'check that req_info was passed exactly as received';

export type ReqInfoDocumentRead =
  | { readonly ok: true; readonly fields: Readonly<Record<string, string>> }
  | {
      readonly ok: false;
      readonly error: RefundError;
      /** For the log: which rule failed, in fixed words (no name or value from the document). */
      readonly detail: string;
    };

// Why this is strict, and why it never quotes what it read.
//
// req_info is AES-256-ECB with no MAC: every 16-byte block is encrypted on its own, and only the
// last block's padding is checked. Whoever holds one genuine req_info (a log line, a proxy, a
// replayed notification) can drop, repeat or reorder its blocks, or splice in blocks of another
// genuine req_info of the same merchant, and the result still decrypts under the merchant's key.
// Decryption therefore proves little about the *shape* of the plaintext; the shape must be
// checked here, and it is checked against what WeChat writes, not against what XML allows: one
// <root> holding only the documented leaf fields, each at most once, as CDATA or plain text, with
// nothing else (no unknown, repeated or nested element, no attribute, comment, declaration or
// text between or after the elements).
//
// Every refusal carries the same fixed message. A parser's excerpt of a re-cut document sent
// back in return_msg would turn the notify URL into a decryption oracle: place any captured
// ciphertext block where the parser fails, and the reply spells out its plaintext. For the same
// reason a value WeChat would never write (parseRefundNotice) gets this same answer from
// readRefundNotification: different answers for "bad shape" and "bad value" would tell a
// re-cutter which of its documents parsed, and so where the values lie.
//
// This narrows re-cuts; it does not authenticate. Blocks spliced at identical offsets of two
// documents with the same layout still form a valid document that mixes their values, which is
// why a merchant can have each v2 SUCCESS confirmed with a signed refundquery
// (confirm_refunds_with_query, src/reconcile/refundquery-reply.ts).
const ROOT_OPEN = /[ \t\r\n]*<root>/y;
const ROOT_CLOSE = /[ \t\r\n]*<\/root>[ \t\r\n]*$/y;
// A CDATA section ends at its first "]]>"; plain text may hold entities, decoded below.
const ELEMENT = /[ \t\r\n]*<([a-z_]{1,32})>(?:<!\[CDATA\[((?:(?!\]\]>)[^])*)\]\]>|([^<]*))<\/\1>/y;
// XML 1.0 forbids these outright; no WeChat value contains them.
const FORBIDDEN_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Reads a decrypted req_info into its fields, accepting exactly WeChat's document (see the
 * comment above for why). Pure; the failure is always REFUND_UNDECRYPTABLE with
 * NOT_A_REFUND_NOTIFICATION, whatever was wrong, and a content-free `detail` for the log.
 *
 * readReqInfoDocument('<root>\n<refund_fee><![CDATA[6]]></refund_fee>\n</root>')
 *   => { ok: true, fields: { refund_fee: '6' } }
 * readReqInfoDocument('<root><refund_fee>6</refund_fee><refund_fee>7</refund_fee></root>')
 *   => { ok: false, error: { code: 'REFUND_UNDECRYPTABLE', message: NOT_A_REFUND_NOTIFICATION },
 *        detail: 'a field that appears twice' }
 */
export function readReqInfoDocument(xml: string): ReqInfoDocumentRead {
  if (FORBIDDEN_CHARACTERS.test(xml)) return refused('a control character');
  ROOT_OPEN.lastIndex = 0;
  if (!ROOT_OPEN.test(xml)) return refused('no <root> start tag');
  let position = ROOT_OPEN.lastIndex;
  const fields: Record<string, string> = {};
  for (;;) {
    ELEMENT.lastIndex = position;
    const element = ELEMENT.exec(xml);
    if (!element) break;
    position = ELEMENT.lastIndex;
    const name = element[1] ?? '';
    if (!REQ_INFO_FIELDS.includes(name)) return refused('an element that is not a documented field');
    if (Object.hasOwn(fields, name)) return refused('a field that appears twice');
    const cdata = element[2];
    const value = cdata !== undefined ? cdata : decodeEntities(element[3] ?? '');
    if (value === null) return refused('an undefined entity or a bare &');
    fields[name] = value;
  }
  ROOT_CLOSE.lastIndex = position;
  // Whatever stopped the elements (nesting, an attribute, a comment, text, a second root...)
  // is not </root> followed by nothing.
  if (!ROOT_CLOSE.test(xml)) return refused('something other than a field or </root> after the fields');
  return { ok: true, fields };
}

function refused(detail: string): ReqInfoDocumentRead {
  return { ok: false, error: refundError('REFUND_UNDECRYPTABLE', NOT_A_REFUND_NOTIFICATION), detail };
}
