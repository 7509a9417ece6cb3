import { refundError, type RefundError } from './refund-error';

/**
 * The outer XML of a v2 refund notification, before req_info is decrypted. It has no `sign`: the
 * merchant (mch_id) names the API key that must decrypt req_info, and that decryption is the proof.
 */
export interface RefundEnvelope {
  readonly appid: string;
  readonly mchId: string;
  readonly nonceStr: string;
  /** Base64 AES-256-ECB ciphertext; decrypt with decryptRefundReqInfo. */
  readonly reqInfo: string;
  /** Service-provider (partner) mode only. */
  readonly subAppid?: string;
  readonly subMchId?: string;
}

export type RefundEnvelopeParse =
  { readonly ok: true; readonly envelope: RefundEnvelope } | { readonly ok: false; readonly error: RefundError };

const ID = /^[A-Za-z0-9_-]{1,32}$/;
const NONCE = /^[A-Za-z0-9]{1,32}$/;

/**
 * Checks the outer fields of a v2 refund notification (the caller parsed the `<xml>` body).
 *
 * parseRefundEnvelope({ return_code: 'SUCCESS', appid: 'wx2421b1c4370ec43b', mch_id: '10000100',
 *   nonce_str: 'TeqClE3i0mvn3DrK', req_info: 'YYwp8C48...' })
 *   => { ok: true, envelope: { appid: 'wx2421b1c4370ec43b', mchId: '10000100',
 *        nonceStr: 'TeqClE3i0mvn3DrK', reqInfo: 'YYwp8C48...' } }
 */
export function parseRefundEnvelope(fields: Readonly<Record<string, string>>): RefundEnvelopeParse {
  const returnCode = fields['return_code'];
  if (returnCode !== 'SUCCESS') {
    const said = fields['return_msg'] ? ` (return_msg: ${fields['return_msg'].slice(0, 128)})` : '';
    return fail(
      'RETURN_CODE_NOT_SUCCESS',
      `return_code must be SUCCESS for a refund notification, got ${returnCode === undefined || returnCode === '' ? 'none' : returnCode.slice(0, 16)}${said}`,
    );
  }
  // Empty values count as absent, as everywhere in v2.
  const missing = ['appid', 'mch_id', 'nonce_str', 'req_info'].filter((k) => !fields[k]);
  if (missing.length > 0) {
    return fail('MISSING_FIELD', `missing required field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  }
  const appid = fields['appid'] ?? '';
  const mchId = fields['mch_id'] ?? '';
  const nonceStr = fields['nonce_str'] ?? '';
  if (!ID.test(appid)) return fail('INVALID_FIELD', 'appid must be 1 to 32 letters, digits, _ or -');
  if (!ID.test(mchId)) return fail('INVALID_FIELD', 'mch_id must be 1 to 32 letters, digits, _ or -');
  if (!NONCE.test(nonceStr)) return fail('INVALID_FIELD', 'nonce_str must be 1 to 32 letters or digits');
  const subAppid = fields['sub_appid'] || undefined;
  const subMchId = fields['sub_mch_id'] || undefined;
  if (subAppid !== undefined && !ID.test(subAppid))
    return fail('INVALID_FIELD', 'sub_appid must be 1 to 32 letters, digits, _ or -');
  if (subMchId !== undefined && !ID.test(subMchId))
    return fail('INVALID_FIELD', 'sub_mch_id must be 1 to 32 letters, digits, _ or -');
  const envelope: RefundEnvelope = {
    appid,
    mchId,
    nonceStr,
    reqInfo: fields['req_info'] ?? '',
    ...(subAppid !== undefined ? { subAppid } : {}),
    ...(subMchId !== undefined ? { subMchId } : {}),
  };
  return { ok: true, envelope };
}

function fail(
  code: 'RETURN_CODE_NOT_SUCCESS' | 'MISSING_FIELD' | 'INVALID_FIELD',
  message: string,
): RefundEnvelopeParse {
  return { ok: false, error: refundError(code, message) };
}
