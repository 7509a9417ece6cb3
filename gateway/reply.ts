import { NotifyOutcome, type HandleNotifyResponse } from '../src/gen/payment/callback/v1/payment_callback';

export interface Reply {
  readonly status: number;
  readonly body: string;
}

/**
 * The XML WeChat expects. `return_msg` is one CDATA section: a "]]>" or a control character in
 * the message (which may quote the request) is defused, and the message is kept short.
 */
export function replyXml(success: boolean, message: string): string {
  const code = success ? 'SUCCESS' : 'FAIL';
  const msg = message.replace(/]]>/g, ']] >').replace(/[\u0000-\u001F\u007F]/g, ' ').slice(0, 256);
  return `<xml><return_code><![CDATA[${code}]]></return_code><return_msg><![CDATA[${msg}]]></return_msg></xml>`;
}

/**
 * Turns the core's decision into the HTTP reply. The core decides `acknowledge`; the status code
 * only helps people reading access logs (WeChat retries on anything but SUCCESS either way).
 */
export function replyFor(res: HandleNotifyResponse): Reply {
  return { status: httpStatus(res.outcome), body: replyXml(res.acknowledge, res.acknowledge ? 'OK' : `${res.code}: ${res.message}`) };
}

export function httpStatus(outcome: NotifyOutcome): number {
  switch (outcome) {
    case NotifyOutcome.NOTIFY_OUTCOME_PAID: return 200; // paid now
    case NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE: return 200; // paid before
    case NotifyOutcome.NOTIFY_OUTCOME_CONFLICTING_PAYMENT: return 200; // stored for review; retries cannot help
    case NotifyOutcome.NOTIFY_OUTCOME_PAYMENT_FAILED: return 200; // failure stored
    case NotifyOutcome.NOTIFY_OUTCOME_REJECTED: return 401; // not signed by a merchant key we hold
    case NotifyOutcome.NOTIFY_OUTCOME_ORDER_MISMATCH: return 409; // conflicts with the registered order
    case NotifyOutcome.NOTIFY_OUTCOME_ORDER_NOT_FOUND: return 404; // not registered (yet)
    case NotifyOutcome.NOTIFY_OUTCOME_RETRY_LATER: return 503; // lock or database unavailable
    case NotifyOutcome.NOTIFY_OUTCOME_MALFORMED: return 400; // fields missing or of the wrong shape
    case NotifyOutcome.NOTIFY_OUTCOME_UNSPECIFIED: return 502; // a core that answered nothing usable
    case NotifyOutcome.UNRECOGNIZED: return 502; // a newer core with an outcome this gateway predates
  }
}
