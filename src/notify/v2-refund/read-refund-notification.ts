import { invalidFieldName } from '../field-names';
import { v2KeysAt, type Merchant, type MerchantDirectory } from '../merchant';
import { v2Merchant } from '../v2-merchant';
import { result, type NotifyResult } from '../outcome';
import { refundStateOfV2, type RefundChange } from '../refund-decide';
import { decryptRefundReqInfo } from './decrypt-req-info';
import { parseRefundEnvelope } from './refund-envelope';
import type { RefundError } from './refund-error';
import { parseRefundNotice } from './refund-notice';
import { NOT_A_REFUND_NOTIFICATION, readReqInfoDocument } from './req-info-document';

export type RefundNotificationRead =
  | {
      readonly ok: true;
      readonly merchant: Merchant;
      readonly change: RefundChange;
      /** The envelope's fields without req_info, and the decrypted ones: what the audit trail keeps. */
      readonly fields: Readonly<Record<string, string>>;
    }
  | {
      readonly ok: false;
      readonly result: NotifyResult;
      /**
       * For the log, when result.message is deliberately vague: which rule a decrypted req_info
       * broke, by rule and field name only (never a value). Absent otherwise.
       */
      readonly detail?: string;
    };

/**
 * Reads a v2 refund notification (the gateway parsed its `<xml>` body into fields): the envelope,
 * the merchant by mch_id (and appid, and sub_mch_id for a service provider), req_info decrypted
 * with the merchant's v2 key (or the previous key while its rotation overlap lasts at `now`), and
 * the decrypted `<root>` fields. There is no signature: decryption under the merchant's key is the
 * only proof, so anything that does not decrypt, or does not decrypt to exactly WeChat's document
 * with values of WeChat's shapes (readReqInfoDocument, parseRefundNotice), is REJECTED with
 * REFUND_UNDECRYPTABLE. Every failure after decryption has the one message
 * NOT_A_REFUND_NOTIFICATION (the rule broken is in `detail`, for the log). Pure.
 *
 * readRefundNotification({ return_code: 'SUCCESS', appid: 'wx2421b1c4370ec43b', mch_id: '10000100',
 *   nonce_str: 'TeqClE3i0mvn3DrK', req_info: 'YYwp8C48...' }, merchants, now)
 *   => { ok: true, merchant: { mchId: '10000100', ... }, change: { outRefundNo: '50fd012e...', state: 'SUCCESS', refundFee: 6, ... } }
 */
export function readRefundNotification(
  fields: Readonly<Record<string, string>>,
  merchants: MerchantDirectory,
  now: Date | undefined,
): RefundNotificationRead {
  // The envelope's fields are stored with the refund: the same names as anywhere else.
  const badName = invalidFieldName(fields);
  if (badName !== undefined)
    return fail(result('MALFORMED', 'INVALID_FIELD', 'a field name is not letters, digits and underscores'));
  const envelope = parseRefundEnvelope(fields);
  if (!envelope.ok) return refused(envelope.error);
  const { mchId, appid, subMchId, reqInfo } = envelope.envelope;
  const found = v2Merchant(merchants, { mchId, appid, subMchId });
  if (!found.ok) return found;
  const merchant = found.merchant;
  let xml: string | undefined;
  let firstError: RefundError | undefined;
  for (const key of v2KeysAt(merchant, now)) {
    const decrypted = decryptRefundReqInfo(reqInfo, key);
    if (decrypted.ok) {
      xml = decrypted.xml;
      break;
    }
    firstError ??= decrypted.error;
  }
  if (xml === undefined) {
    return fail(result('REJECTED', 'REFUND_UNDECRYPTABLE', firstError?.message ?? 'req_info does not decrypt'));
  }
  // From here on the sender gets one fixed answer whatever is wrong: it is not authenticated, and
  // nothing in return_msg may reveal the plaintext or which re-cut parsed (req-info-document.ts).
  const inner = readReqInfoDocument(xml);
  if (!inner.ok) return notARefundNotification(inner.detail);
  const parsed = parseRefundNotice(inner.fields);
  if (!parsed.ok) return notARefundNotification(parsed.error.message);
  const n = parsed.notice;
  const outer = { ...fields };
  delete outer['req_info'];
  return {
    ok: true,
    merchant,
    change: {
      mchId: subMchId ?? mchId,
      appid,
      outTradeNo: n.outTradeNo,
      transactionId: n.transactionId,
      outRefundNo: n.outRefundNo,
      refundId: n.refundId,
      totalFee: n.totalFee,
      refundFee: n.refundFee,
      state: refundStateOfV2(n.refundStatus),
      reportedStatus: n.refundStatus,
      successTime: n.successTime,
    },
    fields: { ...outer, ...inner.fields },
  };
}

function refused(error: RefundError): RefundNotificationRead {
  switch (error.code) {
    case 'RETURN_CODE_NOT_SUCCESS':
    case 'MISSING_FIELD':
    case 'INVALID_FIELD':
      return fail(result('MALFORMED', error.code, error.message));
    case 'INVALID_API_KEY':
    case 'REFUND_UNDECRYPTABLE':
      return fail(result('REJECTED', 'REFUND_UNDECRYPTABLE', error.message));
  }
}

/** `detail` names a rule and perhaps a field, never a value: it is for the log. */
function notARefundNotification(detail: string): RefundNotificationRead {
  return { ok: false, result: result('REJECTED', 'REFUND_UNDECRYPTABLE', NOT_A_REFUND_NOTIFICATION), detail };
}

function fail(r: NotifyResult): RefundNotificationRead {
  return { ok: false, result: r };
}
