import { NotifyOutcome, type HandleNotifyResponse } from '../src/gen/payment/callback/v1/payment_callback';

export interface Reply {
  readonly status: number;
  /** Empty with 204. */
  readonly body: string;
  /** application/xml unless said otherwise (APIv3 replies are JSON). */
  readonly contentType?: string;
}

/**
 * The XML WeChat expects. `return_msg` is one CDATA section: a "]]>" or a control character in
 * the message (which may quote the request) is defused, and the message is kept short.
 */
export function replyXml(success: boolean, message: string): string {
  const code = success ? 'SUCCESS' : 'FAIL';
  const msg = message
    .replace(/]]>/g, ']] >')
    .replace(/[\u0000-\u001F\u007F]/g, ' ')
    .slice(0, 256);
  return `<xml><return_code><![CDATA[${code}]]></return_code><return_msg><![CDATA[${msg}]]></return_msg></xml>`;
}

/**
 * Turns the core's decision into the HTTP reply. The core decides `acknowledge`; the status code
 * only helps people reading access logs (WeChat retries on anything but SUCCESS either way).
 */
export function replyFor(res: HandleNotifyResponse): Reply {
  return {
    status: httpStatus(res.outcome),
    body: replyXml(res.acknowledge, res.acknowledge ? 'OK' : failureMessage(res)),
  };
}

/**
 * `<code>: <message>`, except for authentication failures: which check failed (the merchant, the
 * sign_type, the key, the serial, the timestamp) would teach a forger what to fix next. WeChat
 * does not read replies; the core's log and metrics keep the precise code for operators.
 *
 * failureMessage({ outcome: REJECTED, code: 'INVALID_SIGNATURE', message: 'signature verification failed' })
 *   => 'signature verification failed'
 */
function failureMessage(res: HandleNotifyResponse): string {
  return res.outcome === NotifyOutcome.NOTIFY_OUTCOME_REJECTED
    ? 'signature verification failed'
    : `${res.code}: ${res.message}`;
}

export function httpStatus(outcome: NotifyOutcome): number {
  switch (outcome) {
    case NotifyOutcome.NOTIFY_OUTCOME_PAID:
      return 200; // paid now
    case NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE:
      return 200; // paid before
    case NotifyOutcome.NOTIFY_OUTCOME_CONFLICTING_PAYMENT:
      return 200; // stored for review; retries cannot help
    case NotifyOutcome.NOTIFY_OUTCOME_PAYMENT_FAILED:
      return 200; // failure stored
    case NotifyOutcome.NOTIFY_OUTCOME_REJECTED:
      return 401; // not signed by a merchant key we hold
    case NotifyOutcome.NOTIFY_OUTCOME_ORDER_MISMATCH:
      return 409; // conflicts with the registered order
    case NotifyOutcome.NOTIFY_OUTCOME_ORDER_NOT_FOUND:
      return 404; // not registered (yet)
    case NotifyOutcome.NOTIFY_OUTCOME_RETRY_LATER:
      return 503; // lock or database unavailable
    case NotifyOutcome.NOTIFY_OUTCOME_MALFORMED:
      return 400; // fields missing or of the wrong shape
    case NotifyOutcome.NOTIFY_OUTCOME_REFUNDED:
      return 200; // refund applied
    case NotifyOutcome.NOTIFY_OUTCOME_REFUND_RECORDED:
      return 200; // abnormal or closed refund stored
    case NotifyOutcome.NOTIFY_OUTCOME_UNSPECIFIED:
      return 502; // a core that answered nothing usable
    case NotifyOutcome.UNRECOGNIZED:
      return 502; // a newer core with an outcome this gateway predates
  }
}

/**
 * The reply APIv3 expects: 204 without a body when the core acknowledged; otherwise
 * v3FailureStatus and {"code":"FAIL","message":"<code>: <message>"}. Unlike v2, the status is the
 * answer WeChat acts on.
 */
export function v3ReplyFor(res: HandleNotifyResponse): Reply {
  if (res.acknowledge) return { status: 204, body: '' };
  return v3Fail(v3FailureStatus(res.outcome), failureMessage(res));
}

/** {"code":"FAIL","message":...} with `status`; the message is kept short and single-line. */
export function v3Fail(status: number, message: string): Reply {
  const msg = message.replace(/[\u0000-\u001F\u007F]/g, ' ').slice(0, 256);
  return {
    status,
    body: JSON.stringify({ code: 'FAIL', message: msg }),
    contentType: 'application/json; charset=utf-8',
  };
}

/**
 * The status of an APIv3 notification the core did not acknowledge. WeChat retries every non-2xx
 * answer on its schedule; the class says what a retry can do: 5xx, it can succeed on its own
 * (the order or its payment may be committed meanwhile, the database or lock come back); 4xx, it
 * fails the same way until a person changes something (a key, the configuration, an anomaly).
 */
export function v3FailureStatus(outcome: NotifyOutcome): number {
  switch (outcome) {
    case NotifyOutcome.NOTIFY_OUTCOME_REJECTED:
      return 401; // not signed or encrypted for a merchant we hold
    case NotifyOutcome.NOTIFY_OUTCOME_MALFORMED:
      return 400; // headers or fields wrong, or an event type not handled here
    case NotifyOutcome.NOTIFY_OUTCOME_ORDER_MISMATCH:
      return 409; // an anomaly waits for a person
    case NotifyOutcome.NOTIFY_OUTCOME_ORDER_NOT_FOUND:
      return 503; // the order or its payment may arrive: retry
    case NotifyOutcome.NOTIFY_OUTCOME_RETRY_LATER:
      return 503; // lock or database unavailable: retry
    case NotifyOutcome.NOTIFY_OUTCOME_PAID:
      return 500; // acknowledging outcomes never get here unacknowledged
    case NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE:
      return 500; // (idem)
    case NotifyOutcome.NOTIFY_OUTCOME_CONFLICTING_PAYMENT:
      return 500; // (idem)
    case NotifyOutcome.NOTIFY_OUTCOME_PAYMENT_FAILED:
      return 500; // (idem)
    case NotifyOutcome.NOTIFY_OUTCOME_REFUNDED:
      return 500; // (idem)
    case NotifyOutcome.NOTIFY_OUTCOME_REFUND_RECORDED:
      return 500; // (idem)
    case NotifyOutcome.NOTIFY_OUTCOME_UNSPECIFIED:
      return 502; // a core that answered nothing usable
    case NotifyOutcome.UNRECOGNIZED:
      return 502; // a newer core with an outcome this gateway predates
  }
}
