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
