import {
  notifyOutcomeToJSON,
  orderStatusToJSON,
  paymentEventTypeToJSON,
  type NotifyOutcome,
  type OrderStatus,
  type PaymentEvent,
  type PaymentEventType,
} from '../gen/payment/callback/v1/payment_callback';
import { href } from './html';

/** fmtTime(new Date('2026-05-01T12:00:00.123Z')) => '2026-05-01 12:00:00Z'; '—' when unset. */
export function fmtTime(d: Date | undefined): string {
  return d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '—';
}

/** fmtFen(12345, 'CNY') => '123.45 CNY'; fen are integers, so no floating point. */
export function fmtFen(fen: number, feeType = 'CNY'): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(fen));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${feeType || 'CNY'}`;
}

export const outcomeName = (o: NotifyOutcome): string => notifyOutcomeToJSON(o).replace(/^NOTIFY_OUTCOME_/, '');
export const statusName = (s: OrderStatus): string => orderStatusToJSON(s).replace(/^ORDER_STATUS_/, '');
const eventTypeName = (t: PaymentEventType): string => paymentEventTypeToJSON(t).replace(/^PAYMENT_EVENT_TYPE_/, '');

/** A CSS class per outcome: what an operator should look at stands out. */
export function outcomeTone(name: string): 'ok' | 'muted' | 'warn' | 'bad' | 'wait' {
  switch (name) {
    case 'PAID':
    case 'REFUNDED':
    case 'ORDER_PAID':
    case 'REFUND_SUCCEEDED':
      return 'ok';
    case 'DUPLICATE':
    case 'REFUND_RECORDED':
    case 'REFUND_CLOSED':
      return 'muted';
    case 'CONFLICTING_PAYMENT':
    case 'ORDER_MISMATCH':
    case 'ANOMALY_RAISED':
    case 'PAYMENT_FAILED':
    case 'REFUND_FAILED':
      return 'warn';
    case 'REJECTED':
    case 'MALFORMED':
      return 'bad';
    default:
      return 'wait';
  }
}

/** What the live feed and the timeline show of one event; built once, sent as-is to browsers. */
export interface EventView {
  readonly cursor: string;
  readonly type: string;
  readonly tone: string;
  readonly mchId: string;
  readonly outTradeNo: string;
  readonly transactionId: string;
  readonly occurredAt: string;
  /** The same to the millisecond, for ordering a timeline. */
  readonly occurredAtIso: string;
  readonly summary: string;
  /** The order's timeline, a same-origin path. */
  readonly orderHref: string;
}

export function eventView(e: PaymentEvent): EventView {
  const type = eventTypeName(e.type);
  return {
    cursor: e.cursor,
    type,
    tone: outcomeTone(type),
    mchId: e.mchId,
    outTradeNo: e.outTradeNo,
    transactionId: e.transactionId,
    occurredAt: fmtTime(e.occurredAt),
    occurredAtIso: e.occurredAt?.toISOString() ?? '',
    summary: eventSummary(type, e),
    orderHref: href(['orders', e.mchId, e.outTradeNo]),
  };
}

function eventSummary(type: string, e: PaymentEvent): string {
  switch (type) {
    case 'ORDER_PAID':
      return `paid ${fmtFen(e.totalFee, e.feeType)} (WeChat time_end ${fmtTime(e.paidAt)})`;
    case 'PAYMENT_FAILED':
      return `payment failed: ${e.errCode || 'no err_code'}`;
    case 'ANOMALY_RAISED':
      return `${e.anomalyKind}: ${e.anomalyDetail}`;
    case 'REFUND_SUCCEEDED':
    case 'REFUND_FAILED':
    case 'REFUND_CLOSED':
      return `refund ${e.outRefundNo} ${fmtFen(e.refundFee, e.feeType)} ${e.refundStatus}`;
    default:
      return '';
  }
}
