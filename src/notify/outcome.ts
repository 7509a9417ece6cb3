/**
 * The core's decisions about a notification and the stable codes that explain them.
 * One outcome per rule of the notify table (docs/exactly-once.md "What happens to a notification").
 */
export type NotifyOutcome =
  | 'PAID'
  | 'DUPLICATE'
  | 'CONFLICTING_PAYMENT'
  | 'PAYMENT_FAILED'
  | 'REJECTED'
  | 'ORDER_MISMATCH'
  | 'ORDER_NOT_FOUND'
  | 'RETRY_LATER'
  | 'MALFORMED'
  | 'REFUNDED'
  | 'REFUND_RECORDED';

/** Machine-readable reasons; a caller can act on these, people read `message`. */
export type NotifyCode =
  | 'OK'
  | 'DUPLICATE'
  | 'CONFLICTING_TRANSACTION'
  // One transaction already pays another order of the merchant.
  | 'TRANSACTION_REUSED'
  // orderquery: paid and refunded at WeChat, never confirmed here.
  | 'REFUNDED_BEFORE_PAID'
  // A v2 notification whose fields can be cut two ways (recut-suspicion.ts): WeChat's orderquery
  // did not confirm its payment, or could not be asked.
  | 'NOT_CONFIRMED'
  | 'CONFIRMATION_UNAVAILABLE'
  | 'PAYMENT_FAILED'
  | 'MISSING_SIGNATURE'
  | 'INVALID_SIGNATURE'
  | 'UNKNOWN_SIGN_TYPE'
  | 'SIGN_TYPE_NOT_ALLOWED'
  | 'UNKNOWN_MERCHANT'
  | 'AMOUNT_MISMATCH'
  | 'FEE_TYPE_MISMATCH'
  | 'APPID_MISMATCH'
  | 'ORDER_NOT_FOUND'
  | 'LOCK_BUSY'
  | 'LOCK_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'CALLER_CANCELLED'
  | 'MISSING_FIELD'
  | 'INVALID_FIELD'
  | 'RETURN_CODE_NOT_SUCCESS'
  // Service providers (sub_mch_id) and key rotation.
  | 'UNKNOWN_SUB_MERCHANT'
  // Refunds (v2 and v3).
  | 'REFUND_UNDECRYPTABLE'
  | 'ORDER_NOT_PAID'
  | 'OVER_REFUND'
  | 'REFUND_STATUS_CONFLICT'
  | 'REFUND_AMOUNT_CONFLICT'
  | 'REFUND_OTHER_TRANSACTION'
  | 'REFUND_ID_REUSED'
  | 'REFUND_ABNORMAL'
  | 'REFUND_CLOSED'
  // API v3.
  | 'MISSING_HEADER'
  | 'INVALID_HEADER'
  | 'TIMESTAMP_OUT_OF_WINDOW'
  | 'SIGNATURE_PROBE'
  | 'UNKNOWN_SERIAL'
  | 'CERTIFICATE_NOT_VALID'
  | 'RESOURCE_UNDECRYPTABLE'
  | 'MERCHANT_MISMATCH'
  | 'INVALID_JSON'
  | 'UNSUPPORTED_EVENT_TYPE';

export interface NotifyResult {
  readonly outcome: NotifyOutcome;
  readonly code: NotifyCode;
  /** For people, and safe to send to WeChat as return_msg: never contains a key or a signature. */
  readonly message: string;
}

/**
 * Whether WeChat should stop retrying. Only outcomes whose effect is durably stored, or that no
 * retry could change, acknowledge.
 */
export function acknowledges(outcome: NotifyOutcome): boolean {
  switch (outcome) {
    case 'PAID':
      return true; // the transition is committed
    case 'DUPLICATE':
      return true; // committed earlier
    case 'CONFLICTING_PAYMENT':
      return true; // an anomaly is stored for a person; retries cannot fix it
    case 'PAYMENT_FAILED':
      return true; // the failure is stored
    case 'REJECTED':
      return false; // not from WeChat, or our key is wrong: let WeChat retry while we fix it
    case 'ORDER_MISMATCH':
      return false; // an anomaly is stored; WeChat keeps the payment flagged as unconfirmed
    case 'ORDER_NOT_FOUND':
      return false; // the order may not be committed yet: a retry may find it
    case 'RETRY_LATER':
      return false; // nothing was written
    case 'MALFORMED':
      return false; // nothing was written
    case 'REFUNDED':
      return true; // the refund and the order's refunded total are committed
    case 'REFUND_RECORDED':
      return true; // an abnormal or closed refund is stored; no money moved
  }
}

export function result(outcome: NotifyOutcome, code: NotifyCode, message: string): NotifyResult {
  return Object.freeze({ outcome, code, message });
}

/**
 * What the sender of a notification is told: nothing it did not send, and nothing that helps a
 * forger. The message of a result names orders, amounts and decrypted fields (for the log); the
 * reply says only what kind of thing happened. Authentication failures all read the same:
 * WeChat does not read them, and operators have the log and the metrics, which keep the code.
 *
 * publicMessage(result('ORDER_MISMATCH', 'AMOUNT_MISMATCH', 'total_fee 1 differs from the order\'s 100; ...'))
 *   => 'the notification does not match the order; held for review'
 */
export function publicMessage(r: NotifyResult): string {
  switch (r.outcome) {
    case 'PAID':
    case 'DUPLICATE':
    case 'CONFLICTING_PAYMENT':
    case 'PAYMENT_FAILED':
    case 'REFUNDED':
    case 'REFUND_RECORDED':
      return 'OK';
    case 'REJECTED':
      return 'signature verification failed';
    case 'MALFORMED':
      return 'the notification is malformed';
    case 'ORDER_MISMATCH':
      return 'the notification does not match the order; held for review';
    case 'ORDER_NOT_FOUND':
      return 'the order is not registered or not paid yet; retry later';
    case 'RETRY_LATER':
      return 'temporarily unable to record the notification; retry later';
  }
}
