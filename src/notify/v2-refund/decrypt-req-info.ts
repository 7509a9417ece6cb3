import { createDecipheriv, createHash } from 'node:crypto';
import { refundError, type RefundError } from './refund-error';

export type ReqInfoDecryption =
  { readonly ok: true; readonly xml: string } | { readonly ok: false; readonly error: RefundError };

// Strict base64 (standard alphabet, padded): Buffer.from would silently skip anything else and
// turn a damaged value into a shorter, different ciphertext.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const AES_BLOCK = 16;

/**
 * The AES-256 key WeChat uses for req_info: the lower-case hex MD5 of the merchant's v2 API key.
 * Its 32 hex characters are the key bytes as ASCII (not the 16 digest bytes).
 *
 * refundAesKey('ziR0QKsTUfMOuochC9RfCdmfHECorQAP') => 'a1fdc4d1da9fb443b1091d34bcee9493'
 */
export function refundAesKey(apiKey: string): string {
  return createHash('md5').update(apiKey, 'utf8').digest('hex');
}

/**
 * Decrypts the req_info of a v2 refund notification: base64, then AES-256-ECB with PKCS#7 padding
 * under refundAesKey(apiKey). Refund notifications carry no `sign`: decrypting under the merchant's
 * key is the only proof they came from WeChat, so anything that does not decrypt cleanly into a
 * `<root>` document is refused.
 *
 * decryptRefundReqInfo('YYwp8C48th0w...', 'ziR0QKsTUfMOuochC9RfCdmfHECorQAP')
 *   => { ok: true, xml: '<root>\n<out_refund_no><![CDATA[50fd012e...]]></out_refund_no>...</root>' }
 */
export function decryptRefundReqInfo(reqInfoBase64: string, apiKey: string): ReqInfoDecryption {
  if (apiKey === '') {
    return fail('INVALID_API_KEY', "the merchant's API key is empty; configure its v2 API key (32 characters)");
  }
  if (reqInfoBase64 === '') return fail('REFUND_UNDECRYPTABLE', 'req_info is empty');
  if (!BASE64.test(reqInfoBase64)) {
    return fail('REFUND_UNDECRYPTABLE', 'req_info is not base64 (standard alphabet, padded, no whitespace)');
  }
  const ciphertext = Buffer.from(reqInfoBase64, 'base64');
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK !== 0) {
    return fail(
      'REFUND_UNDECRYPTABLE',
      `req_info is ${ciphertext.length} bytes, not a whole number of 16-byte AES blocks: it was truncated or altered`,
    );
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-ecb', Buffer.from(refundAesKey(apiKey), 'ascii'), null);
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // The only failure left is the PKCS#7 check: almost always a different key.
    return fail('REFUND_UNDECRYPTABLE', wrongKey('its padding is invalid'));
  }
  // A wrong key passes the padding check about once in 256 tries; the content catches those.
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    return fail('REFUND_UNDECRYPTABLE', wrongKey('the result is not UTF-8'));
  }
  const trimmed = xml.trim();
  if (!trimmed.startsWith('<root>') || !trimmed.endsWith('</root>')) {
    return fail('REFUND_UNDECRYPTABLE', wrongKey('the result is not a <root> XML document'));
  }
  return { ok: true, xml };
}

function wrongKey(what: string): string {
  return (
    `req_info does not decrypt (${what}); check that the merchant's v2 API key is configured ` +
    '(not the APIv3 key) and that req_info was passed exactly as received'
  );
}

function fail(code: 'INVALID_API_KEY' | 'REFUND_UNDECRYPTABLE', message: string): ReqInfoDecryption {
  return { ok: false, error: refundError(code, message) };
}
