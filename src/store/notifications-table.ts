import type { Knex } from 'knex';
import type { NotifyResult } from '../notify/outcome';
import type { PaymentNotice } from '../notify/payment-notice';

/** A notification as it arrived, for the audit trail. */
export interface ReceivedNotification {
  readonly fields: Readonly<Record<string, string>>;
  readonly rawBody: string;
  readonly clientIp: string;
  readonly requestId: string;
  readonly receivedAt: Date;
}

/** Returns the new row's id. */
export async function insertNotification(
  trx: Knex.Transaction,
  received: ReceivedNotification,
  notice: PaymentNotice,
  outcome: NotifyResult,
): Promise<number> {
  const row = {
    received_at_ms: received.receivedAt.getTime(),
    mch_id: notice.mchId,
    appid: notice.appid,
    out_trade_no: notice.outTradeNo,
    transaction_id: notice.resultCode === 'SUCCESS' ? notice.transactionId : null,
    result_code: notice.resultCode,
    outcome: outcome.outcome,
    code: outcome.code,
    fields_json: JSON.stringify(received.fields),
    raw_body: received.rawBody,
    client_ip: received.clientIp.slice(0, 64),
    request_id: received.requestId.slice(0, 128),
  };
  // Only PostgreSQL needs RETURNING to hand back the id; MySQL and SQLite return it anyway.
  const rows: unknown = trx.client.config.client === 'pg'
    ? await trx('notifications').insert(row, ['id'])
    : await trx('notifications').insert(row);
  return insertedId(rows);
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
}

/** Newest first, ids below `beforeId`; never the raw body or the fields (they carry the signature). */
export async function listNotifications(
  db: Knex,
  key: { mchId: string; outTradeNo: string },
  limit: number,
  beforeId: number | undefined,
): Promise<NotificationSummaryRow[]> {
  let q = db('notifications')
    .select('id', 'received_at_ms', 'outcome', 'code', 'result_code', 'transaction_id', 'appid', 'client_ip', 'request_id')
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
  }));
}
