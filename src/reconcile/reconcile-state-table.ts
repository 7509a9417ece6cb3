import type { Knex } from 'knex';
import { classifyStoreError, StoreError } from '../store/store-error';

/**
 * Where reconciliation of an order stands:
 * - PENDING: asked, not settled; asked again at next_attempt_at_ms.
 * - RECOVERED: WeChat confirmed the payment and reconciliation marked the order paid.
 * - ALREADY_PAID: WeChat confirmed it, but the notification had marked it paid in the meantime.
 * - ANOMALY: WeChat confirmed a payment that does not match the order; an anomaly was raised.
 * - STOPPED: WeChat says the order will not be paid (CLOSED, REVOKED, PAYERROR) or is being
 *   refunded (REFUND).
 * - GAVE_UP: still unpaid when the next attempt would pass RECONCILE_GIVE_UP_MS.
 */
export type ReconcileState = 'PENDING' | 'RECOVERED' | 'ALREADY_PAID' | 'ANOMALY' | 'STOPPED' | 'GAVE_UP';

/** A NOTPAY order that is due for a query; attempts is 0 when it was never asked about. */
export interface DueOrder {
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
  readonly createdAt: Date;
  readonly attempts: number;
}

export interface ReconcileStateRow {
  readonly state: ReconcileState;
  readonly attempts: number;
  /** What the last answered query said (NOTPAY, REJECTED...); null while an attempt is in flight. */
  readonly lastResult: string | null;
  readonly nextAttemptAt: Date;
  readonly lastAttemptAt: Date;
  readonly finishedAt: Date | null;
}

/**
 * NOTPAY orders created in [now - lookbackMs, now - afterMs] that were never asked about, or
 * whose next attempt is due; oldest first. The lower bound keeps the sweep's cost proportional
 * to recent orders rather than to every order ever abandoned.
 */
export async function findDueOrders(
  db: Knex,
  window: { readonly now: Date; readonly afterMs: number; readonly lookbackMs: number },
  limit: number,
): Promise<DueOrder[]> {
  const now = window.now.getTime();
  const rows = (await db('orders as o')
    .leftJoin('reconcile_state as r', function joinState() {
      this.on('r.mch_id', '=', 'o.mch_id').andOn('r.out_trade_no', '=', 'o.out_trade_no');
    })
    .select('o.mch_id', 'o.appid', 'o.out_trade_no', 'o.created_at_ms', 'r.attempts')
    .where('o.status', 'NOTPAY')
    .where('o.created_at_ms', '<=', now - window.afterMs)
    .where('o.created_at_ms', '>=', now - window.lookbackMs)
    .where((q) => {
      void q.whereNull('r.state').orWhere((due) => {
        void due.where('r.state', 'PENDING' satisfies ReconcileState).where('r.next_attempt_at_ms', '<=', now);
      });
    })
    .orderBy('o.created_at_ms', 'asc')
    .limit(limit)) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    mchId: String(r['mch_id']),
    appid: String(r['appid']),
    outTradeNo: String(r['out_trade_no']),
    // PostgreSQL returns bigint as a string; instants in ms are far below 2^53.
    createdAt: new Date(Number(r['created_at_ms'])),
    attempts: r['attempts'] === null || r['attempts'] === undefined ? 0 : Number(r['attempts']),
  }));
}

/**
 * Claims attempt number `order.attempts + 1` and books the next one at `nextAttemptAt` before
 * the query is sent, so a sweeper that dies mid-query only delays the order. Conditional on the
 * attempt count it read (or on inserting the first row): of two sweepers that picked the same
 * order, one claims it and the other gets false and skips it.
 */
export async function claimAttempt(db: Knex, order: DueOrder, now: Date, nextAttemptAt: Date): Promise<boolean> {
  const attempt = order.attempts + 1;
  if (order.attempts === 0) {
    try {
      await db('reconcile_state').insert({
        mch_id: order.mchId,
        out_trade_no: order.outTradeNo,
        state: 'PENDING' satisfies ReconcileState,
        attempts: attempt,
        last_result: null,
        next_attempt_at_ms: nextAttemptAt.getTime(),
        last_attempt_at_ms: now.getTime(),
        finished_at_ms: null,
        updated_at_ms: now.getTime(),
      });
      return true;
    } catch (e) {
      const classified = classifyStoreError(e);
      if (classified instanceof StoreError && classified.code === 'STORE_CONFLICT') return false;
      throw classified;
    }
  }
  const changed = await db('reconcile_state')
    .where({
      mch_id: order.mchId,
      out_trade_no: order.outTradeNo,
      attempts: order.attempts,
      state: 'PENDING' satisfies ReconcileState,
    })
    .where('next_attempt_at_ms', '<=', now.getTime())
    .update({
      attempts: attempt,
      // Null while the attempt is in flight (or if its sweeper died before recording an answer).
      last_result: null,
      next_attempt_at_ms: nextAttemptAt.getTime(),
      last_attempt_at_ms: now.getTime(),
      updated_at_ms: now.getTime(),
    });
  return changed === 1;
}

/**
 * Records what attempt `attempt` learned. Conditional on the attempt still being the latest, so
 * a slow sweeper cannot overwrite a newer attempt's result. `nextAttemptAt` replaces the time
 * booked by the claim (e.g. "at the next sweep" after a transient failure to record a payment).
 */
export async function settleAttempt(
  db: Knex,
  key: { readonly mchId: string; readonly outTradeNo: string },
  attempt: number,
  outcome: { readonly state: ReconcileState; readonly lastResult: string; readonly nextAttemptAt?: Date },
  now: Date,
): Promise<boolean> {
  const changed = await db('reconcile_state')
    .where({ mch_id: key.mchId, out_trade_no: key.outTradeNo, attempts: attempt })
    .update({
      state: outcome.state,
      last_result: outcome.lastResult.slice(0, 32),
      finished_at_ms: outcome.state === 'PENDING' ? null : now.getTime(),
      ...(outcome.nextAttemptAt ? { next_attempt_at_ms: outcome.nextAttemptAt.getTime() } : {}),
      updated_at_ms: now.getTime(),
    });
  return changed === 1;
}

/** The reconciliation record of one order, for operators and tests. */
export async function findReconcileState(
  db: Knex,
  mchId: string,
  outTradeNo: string,
): Promise<ReconcileStateRow | undefined> {
  const r = (await db('reconcile_state').where({ mch_id: mchId, out_trade_no: outTradeNo }).first()) as
    Record<string, unknown> | undefined;
  if (!r) return undefined;
  return {
    state: String(r['state']) as ReconcileState,
    attempts: Number(r['attempts']),
    lastResult: (r['last_result'] as string | null) ?? null,
    nextAttemptAt: new Date(Number(r['next_attempt_at_ms'])),
    lastAttemptAt: new Date(Number(r['last_attempt_at_ms'])),
    finishedAt:
      r['finished_at_ms'] === null || r['finished_at_ms'] === undefined ? null : new Date(Number(r['finished_at_ms'])),
  };
}
