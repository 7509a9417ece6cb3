import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import type { ReconcileConfig } from '../config';
import type { Logger } from '../logger';
import type { CoreMetrics } from '../metrics';
import { orderMerchant, type MerchantDirectory } from '../notify/merchant';
import { paymentSubject, refundedPaymentSubject, type MoneySubject } from '../notify/money-subject';
import type { NotifyOutcome, NotifyResult } from '../notify/outcome';
import type { ReceivedNotification } from '../store/notifications-table';
import type { Clock } from '../store/payment-store';
import { backoffDelay, nextAttempt, type ReconcileSchedule } from './backoff';
import { HttpOrderQueryClient, type OrderQueryAnswer, type OrderQueryClient } from './orderquery-client';
import {
  claimAttempt,
  findDueOrders,
  settleAttempt,
  type DueOrder,
  type ReconcileState,
} from './reconcile-state-table';
import { SweepLease } from './sweep-lease';
import { TokenBucket } from './token-bucket';

export interface ReconcilerDeps {
  readonly db: Knex;
  /** The one money path (NotifyService.applySubject): what a confirmed answer is applied through. */
  readonly apply: (subject: MoneySubject, received: ReceivedNotification) => Promise<NotifyResult>;
  readonly merchants: MerchantDirectory;
  readonly clock: Clock;
  readonly config: ReconcileConfig;
  readonly metrics: CoreMetrics;
  readonly log: Logger;
  /** Defaults: orderquery over HTTP at config.apiBase, a token bucket at config.maxQps, the database lease. */
  readonly client?: OrderQueryClient;
  readonly limiter?: TokenBucket;
  readonly lease?: SweepLease;
}

/** What one sweep did; for logs and tests. */
export interface SweepReport {
  /** False when another replica holds the lease and this one only waited. */
  readonly leader: boolean;
  readonly due: number;
  readonly queried: number;
}

/** At most this many queries in flight: the token bucket sets the pace, this bounds the sockets. */
const MAX_CONCURRENCY = 8;

/**
 * Finds orders whose payment notification never arrived (WeChat "does not guarantee" delivery)
 * and asks WeChat about them with orderquery. A confirmed payment is applied exactly like a
 * notification: the same PaidNotice, under the same order lock, through the same
 * PaymentStore.recordNotification transaction and its conditional `UPDATE ... WHERE
 * status = 'NOTPAY'`, stored with source 'reconciliation'. The late notification then finds the
 * order PAID by the same transaction_id and is a DUPLICATE.
 *
 * Every interval, the replica holding the sweep lease takes up to RECONCILE_BATCH_SIZE due
 * orders, claims each attempt in the database, waits for the rate limiter, queries, and records
 * what it learned (reconcile_state). Nothing here decides payment on its own: the reply must be
 * authentic, and the store decides.
 */
export class Reconciler {
  private readonly client: OrderQueryClient;
  private readonly limiter: TokenBucket;
  private readonly lease: SweepLease;
  private readonly schedule: ReconcileSchedule;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private sequence = 0;

  constructor(private readonly deps: ReconcilerDeps) {
    const { config, clock, db } = deps;
    this.schedule = config;
    this.client =
      deps.client ?? new HttpOrderQueryClient({ apiBase: config.apiBase, timeoutMs: config.timeoutMs, clock });
    // A burst of one second's worth, then the steady rate.
    this.limiter = deps.limiter ?? new TokenBucket(config.maxQps, config.maxQps, () => performance.now());
    this.lease =
      deps.lease ??
      new SweepLease(
        db,
        `${hostname().slice(0, 64)}:${process.pid}:${randomBytes(4).toString('hex')}`,
        config.leaseMs,
        clock,
      );
  }

  /** Sweeps every RECONCILE_SWEEP_INTERVAL_MS until stop(). */
  start(): void {
    const tick = async (): Promise<void> => {
      this.timer = undefined;
      this.running = this.sweepOnce().catch((e: unknown) => {
        if (!this.stopped)
          this.deps.log.error({ err: e }, 'reconciliation sweep failed; trying again at the next interval');
      });
      await this.running;
      this.running = undefined;
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.deps.config.sweepIntervalMs).unref();
    };
    this.timer = setTimeout(() => void tick(), this.deps.config.sweepIntervalMs).unref();
    this.deps.log.info(
      {
        holder: this.lease.holder,
        after_ms: this.deps.config.afterMs,
        max_qps: this.deps.config.maxQps,
        api_base: this.deps.config.apiBase,
      },
      'reconciliation started: NOTPAY orders are queried at WeChat',
    );
  }

  /** Stops sweeping, cancels waits and calls in flight, and hands the lease back. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort(new Error('reconciliation is stopping'));
    await this.running;
    await this.lease
      .release()
      .catch((e: unknown) => this.deps.log.warn({ err: e }, 'sweep lease not released; it expires on its own'));
  }

  /** One sweep, if this replica holds (or can take) the lease. */
  async sweepOnce(): Promise<SweepReport> {
    const { db, clock, config, metrics } = this.deps;
    if (!(await this.lease.acquire())) {
      metrics.reconcileSweeps.inc({ role: 'standby' });
      return { leader: false, due: 0, queried: 0 };
    }
    // The window reaches back far enough for any attempt booked before the give-up age (at most
    // one backoff cap after it). Older orders the sweeper never saw (it was off that long) are
    // not replayed; raise RECONCILE_GIVE_UP_MS to catch up on such a backlog.
    const lookbackMs = config.giveUpMs + config.backoffMaxMs;
    const due = await findDueOrders(db, { now: clock(), afterMs: config.afterMs, lookbackMs }, config.batchSize);
    let queried = 0;
    const queue = [...due];
    const worker = async (): Promise<void> => {
      for (let order = queue.shift(); order; order = queue.shift()) {
        if (this.abort.signal.aborted) return;
        // Lost the lease mid-sweep (a long pause): stop; the new holder carries on.
        if (!(await this.lease.ensure())) {
          queue.length = 0;
          return;
        }
        try {
          if (await this.reconcileOrder(order)) queried += 1;
        } catch (e) {
          if (this.abort.signal.aborted) return;
          this.deps.log.error(
            { err: e, mch_id: order.mchId, out_trade_no: order.outTradeNo },
            'reconciling an order failed; it is asked again at its next attempt',
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_CONCURRENCY, config.maxQps, due.length) }, worker));
    metrics.reconcileSweeps.inc({ role: 'leader' });
    if (due.length > 0) this.deps.log.debug({ due: due.length, queried }, 'reconciliation sweep done');
    return { leader: true, due: due.length, queried };
  }

  /** Claims, queries and settles one order; false when another sweeper had claimed it. */
  private async reconcileOrder(order: DueOrder): Promise<boolean> {
    const { db, clock, config, merchants } = this.deps;
    const attempt = order.attempts + 1;
    const now = clock();
    const booked = new Date(now.getTime() + backoffDelay(attempt, config.backoffMs, config.backoffMaxMs));
    if (!(await claimAttempt(db, order, now, booked))) return false;
    const merchant = orderMerchant(merchants, order.mchId);
    if (!merchant) {
      this.deps.log.warn(
        { mch_id: order.mchId, out_trade_no: order.outTradeNo },
        'no configured merchant for this order; it cannot be queried',
      );
      await this.notSettled(order, attempt, 'UNKNOWN_MERCHANT');
      return false;
    }
    await this.limiter.take(this.abort.signal);
    const answer = await this.client.query(order, merchant, this.abort.signal);
    // Stopping cut the call short: that is no answer from WeChat; the booked attempt stands.
    if (this.abort.signal.aborted) return false;
    this.deps.metrics.reconcileQueries.inc({ result: answer.verdict.label });
    await this.apply(order, attempt, answer);
    return true;
  }

  private async apply(order: DueOrder, attempt: number, answer: OrderQueryAnswer): Promise<void> {
    const v = answer.verdict;
    const log = this.deps.log.child({ mch_id: order.mchId, out_trade_no: order.outTradeNo, attempt, result: v.label });
    switch (v.kind) {
      case 'PAID':
      case 'REFUNDED': {
        const subject =
          v.kind === 'PAID'
            ? paymentSubject(v.notice)
            : refundedPaymentSubject({
                mchId: order.mchId,
                appid: answer.fields['appid'] ?? '',
                outTradeNo: order.outTradeNo,
                transactionId: answer.fields['transaction_id'] || null,
              });
        const recorded = await this.record(answer, subject);
        if (recorded.outcome === 'RETRY_LATER') {
          // Lock or database unavailable: nothing was written. WeChat answered, so try again at
          // the next sweep rather than after the backoff.
          log.warn(
            { code: recorded.code },
            `confirmed answer not recorded yet: ${recorded.message}; retrying at the next sweep`,
          );
          await this.settle(order, attempt, {
            state: 'PENDING',
            lastResult: v.label,
            nextAttemptAt: this.deps.clock(),
          });
          return;
        }
        const state = stateAfter(recorded.outcome);
        await this.settle(order, attempt, { state, lastResult: v.label });
        if (state === 'ANOMALY') {
          log.warn(
            { outcome: recorded.outcome, code: recorded.code },
            `reconciliation found a payment that does not match the order: ${recorded.message}`,
          );
        } else {
          log.info(
            { outcome: recorded.outcome, transaction_id: answer.fields['transaction_id'] },
            state === 'RECOVERED'
              ? 'order paid by reconciliation: its notification never arrived'
              : 'order was paid by its notification meanwhile',
          );
        }
        return;
      }
      case 'FINAL':
        await this.settle(order, attempt, { state: 'STOPPED', lastResult: v.label });
        log.info(`reconciliation stopped: ${v.message}`);
        return;
      case 'REJECTED':
        log.warn({ code: v.code }, `orderquery reply ignored: ${v.message}`);
        await this.notSettled(order, attempt, v.label);
        return;
      case 'NO_ANSWER':
        log.warn(`orderquery gave no usable answer: ${v.message}`);
        await this.notSettled(order, attempt, v.label);
        return;
      case 'NOT_PAID_YET':
        log.debug(`not paid yet: ${v.message}`);
        await this.notSettled(order, attempt, v.label);
        return;
    }
  }

  /** Asks again after the backoff, or gives up when that would pass RECONCILE_GIVE_UP_MS. */
  private async notSettled(order: DueOrder, attempt: number, lastResult: string): Promise<void> {
    const next = nextAttempt(attempt, order.createdAt, this.deps.clock(), this.schedule);
    if (next.kind === 'GIVE_UP') {
      await this.settle(order, attempt, { state: 'GAVE_UP', lastResult });
      this.deps.log.warn(
        { mch_id: order.mchId, out_trade_no: order.outTradeNo, attempts: attempt, result: lastResult },
        'reconciliation gave up: the order is still unpaid at its give-up age',
      );
      return;
    }
    await this.settle(order, attempt, { state: 'PENDING', lastResult, nextAttemptAt: next.at });
  }

  private async settle(
    order: DueOrder,
    attempt: number,
    outcome: { state: ReconcileState; lastResult: string; nextAttemptAt?: Date },
  ): Promise<void> {
    const written = await settleAttempt(this.deps.db, order, attempt, outcome, this.deps.clock());
    if (written && outcome.state !== 'PENDING') this.deps.metrics.reconcileOrders.inc({ state: outcome.state });
  }

  /** A signed answer, applied through the one money path and stored with source 'reconciliation'. */
  private record(answer: OrderQueryAnswer, subject: MoneySubject): Promise<NotifyResult> {
    this.sequence += 1;
    return this.deps.apply(subject, {
      fields: answer.fields,
      rawBody: answer.rawBody,
      clientIp: '',
      requestId: `reconcile:${this.lease.holder}:${this.sequence}`.slice(0, 128),
      receivedAt: this.deps.clock(),
      source: 'reconciliation',
    });
  }
}

/** Where reconciliation stands after the store applied a confirmed payment. */
function stateAfter(outcome: NotifyOutcome): ReconcileState {
  switch (outcome) {
    case 'PAID':
      return 'RECOVERED';
    case 'DUPLICATE':
      return 'ALREADY_PAID';
    // The same anomaly a notification raises (AMOUNT_MISMATCH, CONFLICTING_TRANSACTION...) is
    // stored; stopping here keeps later queries from raising it again under a new signature.
    default:
      return 'ANOMALY';
  }
}
