/**
 * The core's decisions about a notification and the stable codes that explain them.
 * One outcome per rule of the notify table (README "What happens to a notification").
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
  | 'MALFORMED';

/** Machine-readable reasons; a caller can act on these, people read `message`. */
export type NotifyCode =
  | 'OK'
  | 'DUPLICATE'
  | 'CONFLICTING_TRANSACTION'
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
  | 'RETURN_CODE_NOT_SUCCESS';

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
    case 'PAID': return true; // the transition is committed
    case 'DUPLICATE': return true; // committed earlier
    case 'CONFLICTING_PAYMENT': return true; // an anomaly is stored for a person; retries cannot fix it
    case 'PAYMENT_FAILED': return true; // the failure is stored
    case 'REJECTED': return false; // not from WeChat, or our key is wrong: let WeChat retry while we fix it
    case 'ORDER_MISMATCH': return false; // an anomaly is stored; WeChat keeps the payment flagged as unconfirmed
    case 'ORDER_NOT_FOUND': return false; // the order may not be committed yet: a retry may find it
    case 'RETRY_LATER': return false; // nothing was written
    case 'MALFORMED': return false; // nothing was written
  }
}

export function result(outcome: NotifyOutcome, code: NotifyCode, message: string): NotifyResult {
  return Object.freeze({ outcome, code, message });
}
