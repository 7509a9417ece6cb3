import type { Knex } from 'knex';
import type { PlannedAnomaly } from '../notify/write-plan';

/**
 * Records an anomaly once per discrepancy (its dedupe key). Returns false when the same one was
 * already recorded (WeChat repeats the notification that caused it).
 */
export async function insertAnomaly(
  trx: Knex.Transaction,
  planned: PlannedAnomaly,
  order: { readonly mchId: string; readonly outTradeNo: string },
  notificationId: number,
  now: Date,
): Promise<boolean> {
  const existing: unknown = await trx('anomalies').select('id').where({ dedupe_key: planned.dedupeKey }).first();
  if (existing) return false;
  // A concurrent insert of the same key fails the unique index and rolls the transaction back;
  // the notification then answers FAIL and WeChat's retry finds the row.
  await trx('anomalies').insert({
    kind: planned.anomaly.kind,
    mch_id: order.mchId,
    out_trade_no: order.outTradeNo,
    transaction_id: planned.transactionId,
    detail: planned.anomaly.detail,
    dedupe_key: planned.dedupeKey,
    notification_id: notificationId,
    created_at_ms: now.getTime(),
    resolved_at_ms: null,
    resolution_note: null,
  });
  return true;
}

export interface AnomalyRow {
  readonly id: number;
  readonly kind: string;
  readonly mchId: string;
  readonly outTradeNo: string;
  readonly transactionId: string | null;
  readonly detail: string;
  readonly createdAt: Date;
  readonly resolvedAt: Date | null;
  readonly resolvedBy: string | null;
  readonly resolutionNote: string | null;
}

const ANOMALY_COLUMNS = [
  'id',
  'kind',
  'mch_id',
  'out_trade_no',
  'transaction_id',
  'detail',
  'created_at_ms',
  'resolved_at_ms',
  'resolved_by',
  'resolution_note',
];

/** Newest first, ids below `beforeId`. */
export async function listAnomalies(
  db: Knex,
  /** mchIds: these merchants only; undefined for all. */
  filter: { mchIds: readonly string[] | undefined; includeResolved: boolean },
  limit: number,
  beforeId: number | undefined,
): Promise<AnomalyRow[]> {
  let q = db('anomalies').select(ANOMALY_COLUMNS).orderBy('id', 'desc').limit(limit);
  if (filter.mchIds !== undefined) q = q.whereIn('mch_id', filter.mchIds);
  if (!filter.includeResolved) q = q.whereNull('resolved_at_ms');
  if (beforeId !== undefined) q = q.where('id', '<', beforeId);
  return ((await q) as Array<Record<string, unknown>>).map(toAnomaly);
}

export async function findAnomaly(db: Knex, id: number): Promise<AnomalyRow | undefined> {
  const row = (await db('anomalies').select(ANOMALY_COLUMNS).where({ id }).first()) as
    Record<string, unknown> | undefined;
  return row ? toAnomaly(row) : undefined;
}

/** Closes an open anomaly; false when it was already resolved (or does not exist). */
export async function resolveAnomaly(
  db: Knex,
  id: number,
  resolution: { by: string; note: string },
  now: Date,
): Promise<boolean> {
  const changed = await db('anomalies')
    .where({ id })
    .whereNull('resolved_at_ms')
    .update({
      resolved_at_ms: now.getTime(),
      resolved_by: resolution.by.slice(0, 64),
      resolution_note: resolution.note,
    });
  return changed === 1;
}

function toAnomaly(r: Record<string, unknown>): AnomalyRow {
  const ms = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));
  return {
    id: Number(r['id']),
    kind: String(r['kind']),
    mchId: String(r['mch_id']),
    outTradeNo: String(r['out_trade_no']),
    transactionId: (r['transaction_id'] as string | null) ?? null,
    detail: String(r['detail']),
    createdAt: new Date(Number(r['created_at_ms'])),
    resolvedAt: ms(r['resolved_at_ms']),
    resolvedBy: (r['resolved_by'] as string | null) ?? null,
    resolutionNote: (r['resolution_note'] as string | null) ?? null,
  };
}
