// What must hold after every reliability scenario, read from the database and the simulator's
// delivery log. Each violation is counted under the name the RELIABILITY.md table uses.

import type { Knex } from 'knex';
import type { Plan, PlannedNotification } from '../../tools/simulator/notification-mix';
import { deliveryDeadlineMs, type RetrySchedule } from '../../tools/simulator/retry-schedule';
import type { AttemptRecord } from '../../tools/simulator/sender';
import type { SimulationReport } from '../../tools/simulator/simulation';

export interface InvariantReport {
  /** Valid paid orders not PAID, or without their ORDER_PAID event. */
  readonly lost: number;
  /** Orders with more than one ORDER_PAID event or more than one PAID decision. */
  readonly doubled: number;
  /** Forged notifications that changed an order, were stored or were acknowledged. */
  readonly forgedAccepted: number;
  /** Wrong-amount orders changed, or not left with exactly one anomaly and one ANOMALY_RAISED event. */
  readonly wrongAmountViolations: number;
  /** Unknown-order or malformed notifications that created or changed an order, or were acknowledged. */
  readonly otherBadViolations: number;
  /** Valid notifications some sender gave up on, or acknowledged later than the scaled schedule allows. */
  readonly notAcknowledged: number;
  /** Processes that died without the test ending them, or exited uncleanly on SIGTERM. */
  readonly crashes: number;
  /** Wrong-amount orders whose mismatch was answered (409), so exactly one anomaly was required. */
  readonly wrongAmountDecided: number;
  /** Every violation, explained (empty when all holds). */
  readonly violations: readonly string[];
}

interface OrderRow {
  out_trade_no: string;
  status: string;
  transaction_id: string | null;
}
interface CountRow {
  out_trade_no: string;
  type?: string;
  kind?: string;
  outcome?: string;
  n: number | string;
}

export interface InvariantInput {
  readonly db: Knex;
  readonly plan: Plan;
  readonly report: SimulationReport;
  readonly schedule: RetrySchedule;
  readonly timeScale: number;
  readonly replyTimeoutMs: number;
  readonly invalidMaxAttempts: number;
  /** From the stack: processes that died on their own, unclean exits. */
  readonly processProblems: readonly string[];
  /** Every attempt of the run (the delivery log). */
  readonly attempts: readonly AttemptRecord[];
}

export async function checkInvariants(input: InvariantInput): Promise<InvariantReport> {
  const { db, plan, report } = input;
  const violations: string[] = [];
  const counters = {
    lost: 0,
    doubled: 0,
    forgedAccepted: 0,
    wrongAmountViolations: 0,
    otherBadViolations: 0,
    notAcknowledged: 0,
    crashes: 0,
  };
  const flag = (counter: keyof typeof counters, message: string): void => {
    counters[counter] += 1;
    if (violations.length < 50) violations.push(`${counter}: ${message}`);
  };

  const orderRows: OrderRow[] = await db('orders').select('out_trade_no', 'status', 'transaction_id');
  const orders = new Map(orderRows.map((o) => [o.out_trade_no, o]));
  const grouped = async (table: string, column: string): Promise<Map<string, Record<string, number>>> => {
    const rows: CountRow[] = await db(table)
      .select('out_trade_no', column)
      .count({ n: '*' })
      .groupBy('out_trade_no', column);
    const map = new Map<string, Record<string, number>>();
    for (const r of rows) {
      const key = String((r as unknown as Record<string, unknown>)[column]);
      const entry = map.get(r.out_trade_no) ?? {};
      entry[key] = (entry[key] ?? 0) + Number(r.n);
      map.set(r.out_trade_no, entry);
    }
    return map;
  };
  const events = await grouped('payment_events', 'type');
  const anomalies = await grouped('anomalies', 'kind');
  const decisions = await grouped('notifications', 'outcome');
  const total = (m: Record<string, number> | undefined): number => Object.values(m ?? {}).reduce((s, n) => s + n, 0);

  // Nothing but CreateOrder creates orders.
  if (orders.size !== plan.orders.length)
    flag('otherBadViolations', `${orders.size} orders in the database, ${plan.orders.length} were created`);

  const planById = new Map(plan.notifications.map((n) => [n.id, n]));
  const mismatchReplied = new Set(
    input.attempts
      .filter((a) => a.status === 409 && planById.get(a.id)?.kind === 'wrong-amount')
      .map((a) => planById.get(a.id)?.outTradeNo ?? ''),
  );
  let mismatchChecked = 0;
  const validByOrder = new Map<string, PlannedNotification>();
  for (const n of plan.notifications) if (n.valid) validByOrder.set(n.outTradeNo, n);
  const forgedTx = new Set(plan.notifications.filter((n) => n.kind === 'forged').map((n) => n.transactionId));

  for (const o of plan.orders) {
    const row = orders.get(o.outTradeNo);
    const ev = events.get(o.outTradeNo) ?? {};
    const an = anomalies.get(o.outTradeNo) ?? {};
    const dec = decisions.get(o.outTradeNo) ?? {};
    if (!row) {
      flag('lost', `order ${o.outTradeNo} is missing`);
      continue;
    }
    switch (o.role) {
      case 'paid': {
        const valid = validByOrder.get(o.outTradeNo);
        if (row.status !== 'PAID') flag('lost', `order ${o.outTradeNo} is ${row.status}`);
        else if (forgedTx.has(row.transaction_id))
          flag('forgedAccepted', `order ${o.outTradeNo} paid by forged transaction ${row.transaction_id ?? ''}`);
        else if (row.transaction_id !== valid?.transactionId)
          flag(
            'doubled',
            `order ${o.outTradeNo} paid by ${row.transaction_id ?? 'null'}, expected ${valid?.transactionId ?? '?'}`,
          );
        const paidEvents = ev['ORDER_PAID'] ?? 0;
        if (paidEvents === 0) flag('lost', `order ${o.outTradeNo} has no ORDER_PAID event`);
        if (paidEvents > 1) flag('doubled', `order ${o.outTradeNo} has ${paidEvents} ORDER_PAID events`);
        if ((dec['PAID'] ?? 0) > 1) flag('doubled', `order ${o.outTradeNo} was decided PAID ${dec['PAID'] ?? 0} times`);
        if (total(an) > 0)
          flag(
            'forgedAccepted',
            `order ${o.outTradeNo} has anomalies ${JSON.stringify(an)} (a forged notification got past the signature)`,
          );
        if (total(ev) !== paidEvents) flag('forgedAccepted', `order ${o.outTradeNo} has events ${JSON.stringify(ev)}`);
        break;
      }
      case 'bait': {
        // Named only by forged or malformed notifications: nothing about it may change or be stored.
        if (row.status !== 'NOTPAY' || row.transaction_id !== null || total(ev) + total(an) + total(dec) > 0) {
          const byForged = plan.notifications.some((n) => n.kind === 'forged' && n.outTradeNo === o.outTradeNo);
          flag(
            byForged ? 'forgedAccepted' : 'otherBadViolations',
            `bait order ${o.outTradeNo}: ${row.status}, events ${JSON.stringify(ev)}, anomalies ${JSON.stringify(an)}, notifications ${JSON.stringify(dec)}`,
          );
        }
        break;
      }
      case 'wrong-amount': {
        // One anomaly and one ANOMALY_RAISED event once the mismatch was decided (a 409 reply
        // proves a commit); none if every attempt met a fault first; never more, never a payment.
        const decided = mismatchReplied.has(o.outTradeNo);
        const expected = decided ? [1] : [0, 1];
        if (row.status !== 'NOTPAY' || row.transaction_id !== null)
          flag('wrongAmountViolations', `wrong-amount order ${o.outTradeNo} is ${row.status}`);
        if (!expected.includes(an['AMOUNT_MISMATCH'] ?? 0) || total(an) !== (an['AMOUNT_MISMATCH'] ?? 0)) {
          flag(
            'wrongAmountViolations',
            `wrong-amount order ${o.outTradeNo} (${decided ? 'answered 409' : 'never answered 409'}) has anomalies ${JSON.stringify(an)}`,
          );
        }
        if ((ev['ANOMALY_RAISED'] ?? 0) !== (an['AMOUNT_MISMATCH'] ?? 0) || total(ev) !== (ev['ANOMALY_RAISED'] ?? 0)) {
          flag(
            'wrongAmountViolations',
            `wrong-amount order ${o.outTradeNo} has events ${JSON.stringify(ev)} for anomalies ${JSON.stringify(an)}`,
          );
        }
        if (decided) mismatchChecked += 1;
        break;
      }
    }
  }

  // Forged transaction ids appear nowhere; unknown orders left no order, event or anomaly.
  const forgedStored = Number(
    (
      (await db('notifications')
        .whereIn(
          'transaction_id',
          [...forgedTx].filter((t): t is string => t !== null),
        )
        .count({ n: '*' })
        .first()) as { n: number | string } | undefined
    )?.n ?? 0,
  );
  if (forgedStored > 0)
    flag('forgedAccepted', `${forgedStored} notifications with a forged transaction_id were stored`);
  for (const n of plan.notifications.filter((x) => x.kind === 'unknown-order')) {
    if (orders.has(n.outTradeNo) || total(events.get(n.outTradeNo)) + total(anomalies.get(n.outTradeNo)) > 0) {
      flag('otherBadViolations', `unknown order ${n.outTradeNo} left an order, event or anomaly`);
    }
    const outcomes = Object.keys(decisions.get(n.outTradeNo) ?? {});
    if (outcomes.some((x) => x !== 'ORDER_NOT_FOUND'))
      flag('otherBadViolations', `unknown order ${n.outTradeNo} decided ${outcomes.join(',')}`);
  }

  // From the delivery log: valid ones acknowledged within the scaled schedule, bad ones never.
  const deadline = deliveryDeadlineMs(input.schedule, input.timeScale, input.replyTimeoutMs);
  const kindById = new Map(plan.notifications.map((n) => [n.id, n]));
  for (const d of report.deliveries) {
    const n = kindById.get(d.id);
    if (!n) continue;
    if (n.valid && !d.delivered)
      flag(
        'notAcknowledged',
        `${n.kind} ${n.outTradeNo} sender ${d.sender} given up after ${d.attempts} attempts: ${d.lastReason}`,
      );
    if (n.valid && d.delivered && d.elapsedMs > deadline)
      flag('notAcknowledged', `${n.outTradeNo} acknowledged after ${d.elapsedMs} ms > ${deadline} ms`);
    if (!n.valid && d.attempts !== input.invalidMaxAttempts && !d.delivered)
      flag('otherBadViolations', `${n.kind} ${n.outTradeNo} made ${d.attempts} attempts`);
  }
  for (const id of report.summary.invalidAcknowledged) {
    const n = kindById.get(id);
    flag(
      n?.kind === 'forged'
        ? 'forgedAccepted'
        : n?.kind === 'wrong-amount'
          ? 'wrongAmountViolations'
          : 'otherBadViolations',
      `${n?.kind ?? '?'} ${n?.outTradeNo ?? id} was acknowledged`,
    );
  }
  const expectedDeliveries = plan.notifications.reduce((s, n) => s + n.offsetsMs.length, 0);
  if (report.deliveries.length !== expectedDeliveries)
    flag('notAcknowledged', `${report.deliveries.length} deliveries finished of ${expectedDeliveries}`);

  for (const p of input.processProblems) flag('crashes', p);
  return { ...counters, violations, wrongAmountDecided: mismatchChecked };
}
