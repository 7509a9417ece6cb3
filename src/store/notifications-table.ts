import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { dialectOf } from './database';
import {
  parkedPaymentFromJson,
  parkedPaymentJson,
  subjectOrder,
  subjectTransaction,
  type MoneySubject,
} from '../notify/money-subject';
import type { NotifyResult } from '../notify/outcome';
import type { PaidNotice } from '../notify/payment-notice';

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

/**
 * The columns of a notifications row. Every delivery gets a row (when, from where, what came of
 * it) and the digest of its body; the body and fields themselves only when `keepBody`, so that
 * replays of one captured notification, padded to the size limit, add a few hundred bytes each
 * instead of their full size. A successful payment that found no order also keeps its facts
 * (subject_json), for CreateOrder to apply later.
 */
export function notificationRow(
  received: ReceivedNotification,
  subject: MoneySubject,
  outcome: NotifyResult,
  keepBody: boolean,
): Readonly<Record<string, string | number | null>> {
  const parked =
    outcome.outcome === 'ORDER_NOT_FOUND' && subject.kind === 'PAYMENT' && subject.notice.resultCode === 'SUCCESS'
      ? parkedPaymentJson(subject.notice)
      : null;
  const order = subjectOrder(subject);
  return {
    received_at_ms: received.receivedAt.getTime(),
    kind: `${subject.kind === 'REFUND' ? 'REFUND' : 'PAYMENT'}_${received.api === 'v3' ? 'V3' : 'V2'}`,
    source: received.source ?? 'notification',
    mch_id: order.mchId,
    appid: subjectAppid(subject),
    out_trade_no: order.outTradeNo,
    out_refund_no: subject.kind === 'REFUND' ? subject.change.outRefundNo : null,
    transaction_id: subjectTransaction(subject),
    result_code: subjectResultCode(subject),
    outcome: outcome.outcome,
    code: outcome.code,
    fields_json: keepBody ? JSON.stringify(received.fields) : '{}',
    raw_body: keepBody ? received.rawBody : '',
    body_sha256: createHash('sha256').update(received.rawBody).digest('hex'),
    subject_digest: subjectDigest(subject),
    subject_json: parked,
    client_ip: received.clientIp.slice(0, 64),
    request_id: received.requestId.slice(0, 128),
  };
}

/** A fixed-width key for "the same fact about this order" (MoneySubject.identity). */
export function subjectDigest(subject: MoneySubject): string {
  return createHash('sha256').update(subject.identity).digest('hex');
}

function subjectAppid(subject: MoneySubject): string {
  switch (subject.kind) {
    case 'PAYMENT':
      return subject.notice.appid;
    case 'REFUND':
      return subject.change.appid ?? '';
    case 'PAYMENT_REFUNDED':
      return subject.refunded.appid;
  }
}

/** A payment's result_code, a refund's status as WeChat spelled it (CHANGE, REFUNDCLOSE...), or REFUND. */
function subjectResultCode(subject: MoneySubject): string {
  switch (subject.kind) {
    case 'PAYMENT':
      return subject.notice.resultCode;
    case 'REFUND':
      return subject.change.reportedStatus;
    case 'PAYMENT_REFUNDED':
      return 'REFUND';
  }
}

/** Inserts a row built by notificationRow; returns its id. */
export async function insertNotification(
  trx: Knex.Transaction,
  row: Readonly<Record<string, string | number | null>>,
): Promise<number> {
  // Only PostgreSQL needs RETURNING to hand back the id; MySQL and SQLite return it anyway.
  const rows: unknown =
    dialectOf(trx) === 'pg' ? await trx('notifications').insert(row, ['id']) : await trx('notifications').insert(row);
  return insertedId(rows);
}

/** Whether a row about the same fact of this order already keeps a body. */
export async function hasBodyOf(
  trx: Knex.Transaction,
  order: { mchId: string; outTradeNo: string },
  digest: string,
): Promise<boolean> {
  const row: unknown = await trx('notifications')
    .select('id')
    .where({ mch_id: order.mchId, out_trade_no: order.outTradeNo, subject_digest: digest })
    .whereNot({ raw_body: '' })
    .first();
  return row !== undefined;
}

/**
 * PostgreSQL returns [{ id }] for `returning`; MySQL and SQLite return [id].
 */
function insertedId(rows: unknown): number {
  const first: unknown = Array.isArray(rows) ? rows[0] : undefined;
  const id = typeof first === 'object' && first !== null && 'id' in first ? first.id : first;
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
    .select(
      'id',
      'received_at_ms',
      'outcome',
      'code',
      'result_code',
      'transaction_id',
      'appid',
      'client_ip',
      'request_id',
      'kind',
      'out_refund_no',
    )
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

/** A successful payment notification that arrived before its order and was answered ORDER_NOT_FOUND. */
export interface ParkedPayment {
  /** The payment's facts (rows from before subject_json: undefined, and `fields` holds them). */
  readonly notice: PaidNotice | undefined;
  readonly kind: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly rawBody: string;
  readonly clientIp: string;
  readonly requestId: string;
}

/** Parked payments of an order that may remain, oldest first, one per fact (v2 and v3 alike). */
export async function findParkedPayments(
  db: Knex,
  mchId: string,
  outTradeNo: string,
  limit: number,
): Promise<ParkedPayment[]> {
  const rows = (await db('notifications')
    .select('subject_digest', 'subject_json', 'kind', 'fields_json', 'raw_body', 'client_ip', 'request_id')
    .where({ mch_id: mchId, out_trade_no: outTradeNo, outcome: 'ORDER_NOT_FOUND', result_code: 'SUCCESS' })
    .whereIn('kind', ['PAYMENT_V2', 'PAYMENT_V3'])
    .orderBy('id', 'asc')
    .limit(limit * 4)) as Array<Record<string, unknown>>;
  const seen = new Set<string>();
  const parked: ParkedPayment[] = [];
  for (const row of rows) {
    const digest = String(row['subject_digest'] ?? row['raw_body']);
    if (seen.has(digest) || parked.length >= limit) continue;
    seen.add(digest);
    const json = row['subject_json'];
    parked.push({
      notice: typeof json === 'string' ? parkedPaymentFromJson(json) : undefined,
      kind: String(row['kind']),
      fields: JSON.parse(String(row['fields_json'])) as Record<string, string>,
      rawBody: String(row['raw_body']),
      clientIp: String(row['client_ip']),
      requestId: String(row['request_id']),
    });
  }
  return parked;
}
