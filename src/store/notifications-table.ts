import type { Knex } from 'knex';
import type { NotifyResult } from '../notify/outcome';
import type { PaymentNotice } from '../notify/payment-notice';

/** A notification as it arrived, for the audit trail. */
export interface ReceivedNotification {
  /**
   * v2: the fields of the <xml> body (a refund's: the envelope without req_info, and the
   * decrypted fields). v3: the Wechatpay-* headers except the signature, event_type, the
   * notification id and the decrypted resource.
   */
  readonly fields: Readonly<Record<string, string>>;
  readonly rawBody: string;
  readonly clientIp: string;
  readonly requestId: string;
  readonly receivedAt: Date;
  /** Which API delivered it; v2 when absent. */
  readonly api?: 'v2' | 'v3';
  /** 'reconciliation' when we asked WeChat (orderquery) instead of being notified; 'notification' when absent. */
  readonly source?: 'notification' | 'reconciliation';
}

/** What a stored notification is about. */
export interface NotificationSubject {
  readonly kind: 'PAYMENT' | 'REFUND';
  /** The order's merchant (the sub-merchant for a service provider's notification). */
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
  readonly transactionId: string | null;
  /** A payment's result_code, or a refund's status as WeChat spelled it (CHANGE, REFUNDCLOSE...). */
  readonly resultCode: string;
  readonly outRefundNo: string | null;
}

/** Returns the new row's id. */
export async function insertNotification(
  trx: Knex.Transaction,
  received: ReceivedNotification,
  notice: PaymentNotice,
  outcome: NotifyResult,
): Promise<number> {
  return insertNotificationOf(trx, received, paymentSubject(notice), outcome);
}

export function paymentSubject(notice: PaymentNotice): NotificationSubject {
  return {
    kind: 'PAYMENT',
    mchId: notice.mchId,
    appid: notice.appid,
    outTradeNo: notice.outTradeNo,
    transactionId: notice.resultCode === 'SUCCESS' ? notice.transactionId : null,
    resultCode: notice.resultCode,
    outRefundNo: null,
  };
}

/** Returns the new row's id. */
export async function insertNotificationOf(
  trx: Knex.Transaction,
  received: ReceivedNotification,
  subject: NotificationSubject,
  outcome: NotifyResult,
): Promise<number> {
  const row = notificationRow(received, subject, outcome);
  // Only PostgreSQL needs RETURNING to hand back the id; MySQL and SQLite return it anyway.
  const rows: unknown = trx.client.config.client === 'pg'
    ? await trx('notifications').insert(row, ['id'])
    : await trx('notifications').insert(row);
  return insertedId(rows);
}

/** The columns of a notifications row. */
export function notificationRow(received: ReceivedNotification, subject: NotificationSubject, outcome: NotifyResult): Readonly<Record<string, string | number | null>> {
  return {
    received_at_ms: received.receivedAt.getTime(),
    kind: `${subject.kind}_${received.api === 'v3' ? 'V3' : 'V2'}`,
    source: received.source ?? 'notification',
    mch_id: subject.mchId,
    appid: subject.appid,
    out_trade_no: subject.outTradeNo,
    out_refund_no: subject.outRefundNo,
    transaction_id: subject.transactionId,
    result_code: subject.resultCode,
    outcome: outcome.outcome,
    code: outcome.code,
    fields_json: JSON.stringify(received.fields),
    raw_body: received.rawBody,
    client_ip: received.clientIp.slice(0, 64),
    request_id: received.requestId.slice(0, 128),
  };
}

/**
 * PostgreSQL returns [{ id }] for `returning`; MySQL and SQLite return [id].
 */
export function insertedId(rows: unknown): number {
  const first: unknown = Array.isArray(rows) ? rows[0] : undefined;
  const id = typeof first === 'object' && first !== null && 'id' in first ? (first as { id: unknown }).id : first;
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`insert returned no id (${JSON.stringify(rows)})`);
  return n;
}

export interface NotificationSummaryRow {
  readonly id: number;
  readonly receivedAt: Date;
  readonly outcome: string;
  readonly code: string;
  readonly resultCode: string;
  readonly transactionId: string | null;
  readonly appid: string;
  readonly clientIp: string;
  readonly requestId: string;
  /** PAYMENT_V2, REFUND_V2, PAYMENT_V3 or REFUND_V3. */
  readonly kind: string;
  readonly outRefundNo: string | null;
}

/** Newest first, ids below `beforeId`; never the raw body or the fields (they carry the signature). */
export async function listNotifications(
  db: Knex,
  key: { mchId: string; outTradeNo: string },
  limit: number,
  beforeId: number | undefined,
): Promise<NotificationSummaryRow[]> {
  let q = db('notifications')
    .select('id', 'received_at_ms', 'outcome', 'code', 'result_code', 'transaction_id', 'appid', 'client_ip', 'request_id', 'kind', 'out_refund_no')
    .where({ mch_id: key.mchId, out_trade_no: key.outTradeNo })
    .orderBy('id', 'desc')
    .limit(limit);
  if (beforeId !== undefined) q = q.where('id', '<', beforeId);
  const rows = (await q) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    id: Number(r['id']),
    receivedAt: new Date(Number(r['received_at_ms'])),
    outcome: String(r['outcome']),
    code: String(r['code']),
    resultCode: String(r['result_code']),
    transactionId: (r['transaction_id'] as string | null) ?? null,
    appid: String(r['appid']),
    clientIp: String(r['client_ip']),
    requestId: String(r['request_id']),
    kind: String(r['kind']),
    outRefundNo: (r['out_refund_no'] as string | null) ?? null,
  }));
}

/** A v2 payment notification that arrived before its order and was answered ORDER_NOT_FOUND. */
export interface ParkedPayment {
  readonly fields: Readonly<Record<string, string>>;
  readonly rawBody: string;
  readonly clientIp: string;
  readonly requestId: string;
}

/** The newest parked successful v2 payment for an order, if any. */
export async function findParkedPayment(db: Knex, mchId: string, outTradeNo: string): Promise<ParkedPayment | undefined> {
  const row = (await db('notifications')
    .select('fields_json', 'raw_body', 'client_ip', 'request_id')
    .where({ mch_id: mchId, out_trade_no: outTradeNo, kind: 'PAYMENT_V2', outcome: 'ORDER_NOT_FOUND', result_code: 'SUCCESS' })
    .orderBy('id', 'desc')
    .first()) as Record<string, unknown> | undefined;
  if (!row) return undefined;
  return {
    fields: JSON.parse(String(row['fields_json'])) as Record<string, string>,
    rawBody: String(row['raw_body']),
    clientIp: String(row['client_ip']),
    requestId: String(row['request_id']),
  };
}
