import {
  amountField,
  fieldRule,
  objectField,
  optionalStringField,
  optionalTimeField,
  readJson,
  stringField,
  type V3Parse,
} from './json-fields';
import { MCHID, OUT_REFUND_NO, OUT_TRADE_NO, WECHAT_ID } from './v3-rules';

/** refund_status, one per notified event: REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED. */
export type V3RefundStatus = 'SUCCESS' | 'ABNORMAL' | 'CLOSED';

/** The event type that announces each status. */
export const V3_REFUND_EVENTS: Readonly<Record<V3RefundStatus, string>> = Object.freeze({
  SUCCESS: 'REFUND.SUCCESS',
  ABNORMAL: 'REFUND.ABNORMAL',
  CLOSED: 'REFUND.CLOSED',
});

/** The decrypted resource of a refund notification. Amounts are integers in fen. */
export interface V3Refund {
  /** mchid, or sp_mchid for a service provider. */
  readonly mchid: string;
  /** The sub-merchant the order belongs to (service-provider shape only). */
  readonly subMchid?: string;
  readonly outTradeNo: string;
  readonly transactionId: string;
  readonly outRefundNo: string;
  readonly refundId: string;
  /** ABNORMAL: the refund to the card failed (card cancelled or frozen); the merchant must act. */
  readonly refundStatus: V3RefundStatus;
  /** Present, and required, when refundStatus is SUCCESS. */
  readonly successTime?: Date;
  /** Where the money went, e.g. '招商银行信用卡0403' or '支付用户零钱'. */
  readonly userReceivedAccount?: string;
  readonly amount: {
    readonly total: number;
    readonly refund: number;
    readonly payerTotal: number;
    readonly payerRefund: number;
  };
}

const REFUND_STATUS = { pattern: /^(SUCCESS|ABNORMAL|CLOSED)$/, describe: 'SUCCESS, ABNORMAL or CLOSED' };

/**
 * Reads a decrypted refund resource. Given the notification's event_type, also checks that it
 * announces this refund_status (REFUND.SUCCESS must carry SUCCESS, and so on).
 *
 * parseV3Refund('{"mchid":"1900000100","transaction_id":"1008450740201411110005820873","out_trade_no":"20150806125346",
 *   "refund_id":"50200207182018070300011301001","out_refund_no":"7752501201407033233368018","refund_status":"SUCCESS",
 *   "success_time":"2018-06-08T10:34:56+08:00","user_received_account":"招商银行信用卡0403",
 *   "amount":{"total":999,"refund":999,"payer_total":999,"payer_refund":999}}', 'REFUND.SUCCESS')
 *   => { ok: true, value: { mchid: '1900000100', ..., refundStatus: 'SUCCESS', successTime: 2018-06-08T02:34:56.000Z,
 *        amount: { total: 999, refund: 999, payerTotal: 999, payerRefund: 999 } } }
 */
export function parseV3Refund(plaintextJson: string, eventType?: string): V3Parse<V3Refund> {
  return readJson(plaintextJson, 'the refund resource', (root) => {
    const refundStatus = stringField(root, 'refund_status', REFUND_STATUS) as V3RefundStatus;
    if (eventType !== undefined) {
      fieldRule(
        V3_REFUND_EVENTS[refundStatus] === eventType,
        `refund_status ${refundStatus} does not belong to event_type ${eventType.slice(0, 64)} (expected ${V3_REFUND_EVENTS[refundStatus]})`,
      );
    }
    const successTime = optionalTimeField(root, 'success_time');
    fieldRule(
      refundStatus !== 'SUCCESS' || successTime !== undefined,
      'success_time is required when refund_status is SUCCESS',
    );
    const userReceivedAccount = optionalStringField(root, 'user_received_account');
    const a = objectField(root, 'amount');
    const amount = {
      total: amountField(a, 'total', 'amount.'),
      refund: amountField(a, 'refund', 'amount.'),
      payerTotal: amountField(a, 'payer_total', 'amount.'),
      payerRefund: amountField(a, 'payer_refund', 'amount.'),
    };
    // WeChat never refunds more than was paid; a resource that says so is not one to act on.
    fieldRule(
      amount.refund <= amount.total,
      `amount.refund (${amount.refund}) must not exceed amount.total (${amount.total})`,
    );
    fieldRule(
      amount.payerRefund <= amount.payerTotal,
      `amount.payer_refund (${amount.payerRefund}) must not exceed amount.payer_total (${amount.payerTotal})`,
    );
    const partner = optionalStringField(root, 'sp_mchid', MCHID);
    return {
      // A service provider's refund: sp_mchid signed it, sub_mchid owns the order.
      mchid: partner ?? stringField(root, 'mchid', MCHID),
      ...(partner !== undefined ? { subMchid: stringField(root, 'sub_mchid', MCHID) } : {}),
      outTradeNo: stringField(root, 'out_trade_no', OUT_TRADE_NO),
      transactionId: stringField(root, 'transaction_id', WECHAT_ID),
      outRefundNo: stringField(root, 'out_refund_no', OUT_REFUND_NO),
      refundId: stringField(root, 'refund_id', WECHAT_ID),
      refundStatus,
      ...(successTime !== undefined ? { successTime } : {}),
      ...(userReceivedAccount !== undefined ? { userReceivedAccount } : {}),
      amount,
    };
  });
}
