// The commands of the money model: each one acts on the real core (over gRPC, as WeChat or the
// merchant would) and on the model, checks the core's replies against the model's verdicts, then
// compares the core's tables with the model.
//
// Reconciliation (asking WeChat's orderquery) is left out: it needs a stand-in of WeChat and a
// moved clock per run, which would triple the time of a run; reconciliation.test.ts covers it.

import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { OrderStatus } from '../../src/gen/payment/callback/v1/payment_callback';
import { sleep } from '../../harness/wait-until';
import { deliver, describeReply, type Reply } from './model-deliveries';
import { MODEL_MERCHANTS } from './model-merchants';
import type { ModelSystem } from './model-system';
import {
  acknowledged,
  type MoneyModel,
  type Note,
  type OrderSlot,
  type PaymentApi,
  type PaymentNote,
  type RefundApi,
  type RefundNote,
  type Verdict,
} from './money-model';
import { observeMoney } from './observed-money';

export type MoneyCommand = fc.AsyncCommand<MoneyModel, ModelSystem>;

const SLOT_LABELS = ['A0', 'A1', 'B0', 'B1'] as const;

/**
 * The run's four orders: two per merchant, so one merchant's transaction can be reused for its
 * other order; A0 and B0 share an out_trade_no, which must not make them one order. Every id
 * starts with the run's prefix, so runs never see each other's rows.
 */
export function makeSlots(prefix: string, plannedFees: readonly number[]): OrderSlot[] {
  const tradeNos = [`${prefix}o0`, `${prefix}o1`, `${prefix}o0`, `${prefix}o3`];
  return SLOT_LABELS.map((label, i) => {
    const merchant = i < 2 ? 0 : 1;
    const m = MODEL_MERCHANTS[merchant];
    return {
      label,
      merchant,
      mchId: m.mchId,
      appid: m.appids[0],
      otherAppid: m.appids[1],
      outTradeNo: tradeNos[i] ?? '',
      plannedFee: plannedFees[i] ?? 100,
      transactionId: `4200${prefix}t${i}`,
      otherTransactionId: `4200${prefix}t${i}x`,
    };
  });
}

/** Terminate the core's database sessions this many ms after the delivery is sent (PostgreSQL). */
interface Fault {
  readonly terminateAfterMs: number;
}

/** Retries a delivery gets, as WeChat would retry a FAIL reply; far more than a fault needs. */
const MAX_ATTEMPTS = 40;

async function assertMatchesModel(m: MoneyModel, r: ModelSystem, after: string): Promise<void> {
  r.commandsRun += 1;
  const observed = await observeMoney(r.observer, m.slots, m.rules);
  assert.deepEqual(observed.broken, [], `after ${after}: money rules broken in the core's tables`);
  assert.deepStrictEqual(
    observed.view,
    m.view(),
    `after ${after}: the core's orders, events, anomalies or refunds differ from the model`,
  );
  // What the merchant's services read (GetOrder) must be the same.
  const api = await Promise.all(
    m.slots.map(async (s) => {
      for (let attempt = 1; ; attempt++) {
        try {
          const o = (await r.core.getOrder(s.outTradeNo, s.mchId)).order;
          return o
            ? {
                status: OrderStatus[o.status],
                transactionId: o.transactionId || null,
                totalFee: o.totalFee,
                refundedFee: o.refundedFee,
              }
            : 'no order';
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (code === status.NOT_FOUND) return null;
          // A session a fault ended may still be in the core's pool: retry, as the API asks.
          if (code !== status.UNAVAILABLE || attempt >= 5) throw e;
          await sleep(20);
        }
      }
    }),
  );
  const wanted = m.slots.map((_, i) => {
    const o = m.orders[i];
    return o
      ? {
          status: `ORDER_STATUS_${o.status}`,
          transactionId: o.transactionId,
          totalFee: o.totalFee,
          refundedFee: o.refundedFee,
        }
      : null;
  });
  assert.deepStrictEqual(
    api,
    wanted,
    `after ${after}: GetOrder differs from the model (orders ${m.slots.map((s) => s.label).join(', ')})`,
  );
  const { notifications, notificationSlack } = m;
  assert.ok(
    observed.notifications >= notifications && observed.notifications <= notifications + notificationSlack,
    `after ${after}: ${observed.notifications} notifications stored, expected ${notifications}${notificationSlack ? ` to ${notifications + notificationSlack}` : ''} (one per authenticated delivery)`,
  );
}

/**
 * Sends `copies` identical deliveries at once and retries each RETRY_LATER (and, under a fault,
 * each UNAVAILABLE) until the core decides, as WeChat retries a FAIL. The verdicts must be the
 * model's: the first copy's effect, then repeats. With a fault, an attempt that failed may still
 * have committed; then every copy may answer as a repeat.
 */
async function runDelivery(
  m: MoneyModel,
  r: ModelSystem,
  note: Note,
  copies: number,
  fault: Fault | undefined,
  name: string,
): Promise<void> {
  const started = Date.now();
  const slot = m.slot(note.slot);
  const expected = Array.from({ length: copies }, () => m.deliver(note));
  for (const v of expected.slice(0, 1)) r.count(`${v.outcome}/${v.code}`);
  const repeat = m.clone().deliver(note);
  m.sent.push(note);

  const retried: Reply[] = [];
  const isRetry = (reply: Reply): boolean =>
    (reply.kind === 'verdict' && reply.outcome === 'RETRY_LATER') ||
    (fault !== undefined && reply.kind === 'error' && reply.status === status.UNAVAILABLE);
  const once = async (): Promise<Reply> => {
    for (let attempt = 1; ; attempt++) {
      const reply = await deliver(r, slot, note);
      if (!isRetry(reply) || attempt >= MAX_ATTEMPTS) return reply;
      retried.push(reply);
      await sleep(10 + Math.floor(Math.random() * 40));
    }
  };
  const sending = Promise.allSettled(Array.from({ length: copies }, once));
  let terminated = 0;
  if (fault) {
    await sleep(fault.terminateAfterMs);
    terminated = await r.terminateSessions();
  }
  const settled = await sending;
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  const replies = settled.map((s) => (s as PromiseFulfilledResult<Reply>).value);
  if (fault) m.notificationSlack += retried.length;
  if (fault) r.count(retried.length > 0 ? 'fault: delivery retried' : 'fault: no retry needed');

  const shown = (vs: readonly Verdict[]): string[] => vs.map((v) => `${v.outcome}/${v.code}`).sort();
  const got = replies.map(describeReply).sort();
  const context =
    `${name}: replies ${JSON.stringify(got)}${retried.length ? `, after ${retried.length} retried (${[...new Set(retried.map(describeReply))].join('; ')})` : ''}` +
    `${fault ? `, ${terminated} sessions terminated` : ''}; messages: ${[...new Set(replies.map((x) => (x.kind === 'verdict' ? x.message : x.details)))].join(' | ')}`;
  // Right after a fault the core's pool may still hand out a session the fault ended (pg flags
  // it only when its socket's end event arrives): that delivery fails, unwritten, and is retried.
  const poolRecovering = r.recovering && retried.every((x) => x.kind === 'verdict' && x.code === 'STORE_UNAVAILABLE');
  if (!fault && copies === 1 && retried.length > 0 && poolRecovering)
    r.count('after a fault: retried while the pool recovers');
  assert.ok(
    fault || copies > 1 || retried.length === 0 || poolRecovering,
    `${context}: a lone delivery with no fault must not be told to retry`,
  );
  if (fault) r.recovering = true;
  else if (retried.length === 0) r.recovering = false;
  const wanted = shown(expected);
  const ambiguous = fault && retried.length > 0 ? shown(expected.map(() => repeat)) : undefined;
  assert.ok(
    isDeepStrictEqual(got, wanted) || (ambiguous !== undefined && isDeepStrictEqual(got, ambiguous)),
    `${context}; the model expects ${JSON.stringify(wanted)}${ambiguous ? ` or ${JSON.stringify(ambiguous)}` : ''}`,
  );
  for (const reply of replies) {
    if (reply.kind === 'verdict') {
      assert.equal(
        reply.acknowledge,
        acknowledged(reply.outcome as Verdict['outcome']),
        `${context}: acknowledge of ${reply.outcome}`,
      );
    }
  }
  r.timed(name, started);
  await assertMatchesModel(m, r, name);
}

const copiesText = (copies: number): string => (copies > 1 ? ` x${copies} at once` : '');
const faultText = (fault: Fault | undefined): string =>
  fault ? ` [sessions terminated after ${fault.terminateAfterMs} ms]` : '';

/** An order of the pool, or (resolved when the command runs) the first one a payment waits for. */
type OrderPick = number | 'waited for';

function waitedFor(m: Readonly<MoneyModel>): number | undefined {
  const i = m.parked.findIndex((p, slot) => p.length > 0 && m.orders[slot]?.status !== 'PAID');
  return i < 0 ? undefined : i;
}

class CreateOrderCommand implements MoneyCommand {
  constructor(
    readonly pick: OrderPick,
    readonly conflicting: boolean,
  ) {}
  private slot(m: Readonly<MoneyModel>): number | undefined {
    return this.pick === 'waited for' ? waitedFor(m) : this.pick;
  }
  check(m: Readonly<MoneyModel>): boolean {
    return this.slot(m) !== undefined;
  }
  async run(m: MoneyModel, r: ModelSystem): Promise<void> {
    const slot = this.slot(m);
    if (slot === undefined) throw new Error(`${this.toString()} ran although its check failed`);
    const s = m.slot(slot);
    const totalFee = s.plannedFee + (this.conflicting ? 1 : 0);
    const expected = m.createOrder(slot, totalFee);
    const name = `${this.toString()}${this.pick === 'waited for' ? ` = ${s.label}` : ''}`;
    const started = Date.now();
    let retries = 0;
    for (;;) {
      try {
        const res = await r.core.createOrder({
          mchId: s.mchId,
          appid: s.appid,
          outTradeNo: s.outTradeNo,
          totalFee,
          feeType: 'CNY',
        });
        assert.ok(expected.ok, `${name}: created ${JSON.stringify(res)}, the model expects ALREADY_EXISTS`);
        const o = res.order;
        const got = {
          created: retries > 0 ? expected.created : res.created,
          status:
            o?.status === OrderStatus.ORDER_STATUS_PAID
              ? 'PAID'
              : o?.status === OrderStatus.ORDER_STATUS_NOTPAY
                ? 'NOTPAY'
                : `status ${o?.status}`,
          transactionId: o?.transactionId || null,
          totalFee: o?.totalFee,
          refundedFee: o?.refundedFee,
        };
        const e = expected.order;
        assert.deepStrictEqual(
          got,
          {
            created: expected.created,
            status: e.status,
            transactionId: e.transactionId,
            totalFee: e.totalFee,
            refundedFee: e.refundedFee,
          },
          `${name}: the CreateOrder response differs from the model`,
        );
        break;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (err instanceof assert.AssertionError) throw err;
        if (!expected.ok && code === status.ALREADY_EXISTS) break;
        // What the API tells a caller to do with these: retry with backoff.
        if ((code === status.UNAVAILABLE || code === status.ABORTED) && retries < 10) {
          retries += 1;
          await sleep(50);
          continue;
        }
        throw err;
      }
    }
    r.timed(name, started);
    await assertMatchesModel(m, r, name);
  }
  toString(): string {
    const which = this.pick === 'waited for' ? 'the order a payment waits for' : SLOT_LABELS[this.pick];
    return `CreateOrder(${which}${this.conflicting ? ', amount + 1' : ''})`;
  }
}

/** CreateOrder with the planned amount, as a run's setup does for the orders that exist first. */
export function createOrder(slot: number): MoneyCommand {
  return new CreateOrderCommand(slot, false);
}

/** A genuine v2 payment of the order, as a run's setup does for the orders paid first. */
export function payOrder(slot: number): MoneyCommand {
  return new PaymentCommand(slot, 'v2-MD5', 'genuine', 1, undefined);
}

type PaymentVariant =
  'genuine' | 'other-transaction' | 'wrong-amount' | 'wrong-appid' | 'forged' | 'reused-transaction';

class PaymentCommand implements MoneyCommand {
  constructor(
    readonly slot: number,
    readonly api: PaymentApi,
    readonly variant: PaymentVariant,
    readonly copies: number,
    readonly fault: Fault | undefined,
  ) {}

  /** The notification, from the order as the model has it (undefined: nothing to reuse yet). */
  note(m: Readonly<MoneyModel>): PaymentNote | undefined {
    const s = m.slot(this.slot);
    const order = m.orders[this.slot];
    let transactionId = s.transactionId;
    let appid = s.appid;
    let totalFee = order?.totalFee ?? s.plannedFee;
    switch (this.variant) {
      case 'genuine':
      case 'forged':
        break;
      case 'other-transaction':
        transactionId = s.otherTransactionId;
        break;
      case 'wrong-amount':
        totalFee += 3;
        break;
      case 'wrong-appid':
        appid = s.otherAppid;
        break;
      case 'reused-transaction': {
        // The transaction that pays the merchant's other order.
        const other = m.orders[this.slot ^ 1];
        if (other?.status !== 'PAID' || !other.transactionId) return undefined;
        transactionId = other.transactionId;
        break;
      }
    }
    const forged = this.variant === 'forged';
    return {
      kind: 'payment',
      api: this.api,
      slot: this.slot,
      appid,
      transactionId,
      totalFee,
      forged,
      identity: `pay|${this.api}|${s.label}|${appid}|${transactionId}|${totalFee}${forged ? '|forged' : ''}`,
    };
  }
  check(m: Readonly<MoneyModel>): boolean {
    const note = this.note(m);
    return note !== undefined && m.mayDeliver(note) && (!this.fault || m.faults.terminateSessions);
  }
  async run(m: MoneyModel, r: ModelSystem): Promise<void> {
    const note = this.note(m);
    if (!note) throw new Error(`${this.toString()} ran although its check failed`);
    await runDelivery(m, r, note, this.copies, this.fault, this.toString());
  }
  toString(): string {
    const what =
      this.variant === 'reused-transaction' ? `the transaction of ${SLOT_LABELS[this.slot ^ 1]}` : this.variant;
    return `Pay(${SLOT_LABELS[this.slot]}, ${this.api}, ${what}${copiesText(this.copies)})${faultText(this.fault)}`;
  }
}

type RefundAmount = 'a third' | 'the rest' | 'the total' | 'one fen' | 'the rest + 1';

class RefundCommand implements MoneyCommand {
  constructor(
    readonly slot: number,
    readonly api: RefundApi,
    readonly refundNo: number,
    readonly amount: RefundAmount,
    readonly ofOtherTransaction: boolean,
    readonly forged: boolean,
    readonly copies: number,
    readonly fault: Fault | undefined,
  ) {}

  note(m: Readonly<MoneyModel>): RefundNote {
    const s = m.slot(this.slot);
    const order = m.orders[this.slot];
    const total = order?.totalFee ?? s.plannedFee;
    const left = total - (order?.refundedFee ?? 0);
    const paidBy = order?.transactionId ?? s.transactionId;
    const transactionId = !this.ofOtherTransaction
      ? paidBy
      : paidBy === s.transactionId
        ? s.otherTransactionId
        : s.transactionId;
    const refundFee = {
      'a third': Math.max(1, Math.floor(total / 3)),
      'the rest': Math.max(1, left),
      'the total': total,
      'one fen': 1,
      'the rest + 1': left + 1,
    }[this.amount];
    const outRefundNo = `${s.outTradeNo}r${this.refundNo}`;
    return {
      kind: 'refund',
      api: this.api,
      slot: this.slot,
      transactionId,
      outRefundNo,
      refundFee,
      totalFee: total,
      forged: this.forged,
      identity: `refund|${this.api}|${s.label}|${transactionId}|${outRefundNo}|${refundFee}|${total}${this.forged ? '|forged' : ''}`,
    };
  }
  check(m: Readonly<MoneyModel>): boolean {
    return !this.fault || m.faults.terminateSessions;
  }
  async run(m: MoneyModel, r: ModelSystem): Promise<void> {
    await runDelivery(m, r, this.note(m), this.copies, this.fault, this.toString());
  }
  toString(): string {
    return (
      `Refund(${SLOT_LABELS[this.slot]}, ${this.api}, refund no. ${this.refundNo}, ${this.amount}` +
      `${this.ofOtherTransaction ? ', of the other transaction' : ''}${this.forged ? ', forged' : ''}${copiesText(this.copies)})${faultText(this.fault)}`
    );
  }
}

/** An exact redelivery of a notification sent earlier in the run (the pick-th, modulo their number). */
class RedeliverCommand implements MoneyCommand {
  constructor(
    readonly pick: number,
    readonly copies: number,
    readonly fault: Fault | undefined,
  ) {}
  private note(m: Readonly<MoneyModel>): Note | undefined {
    return m.sent.length === 0 ? undefined : m.sent[this.pick % m.sent.length];
  }
  check(m: Readonly<MoneyModel>): boolean {
    const note = this.note(m);
    return note !== undefined && m.mayDeliver(note) && (!this.fault || m.faults.terminateSessions);
  }
  async run(m: MoneyModel, r: ModelSystem): Promise<void> {
    const note = this.note(m);
    if (!note) throw new Error(`${this.toString()} ran although its check failed`);
    await runDelivery(m, r, note, this.copies, this.fault, `${this.toString()} = ${note.identity}`);
  }
  toString(): string {
    return `Redeliver(sent #${this.pick}${copiesText(this.copies)})${faultText(this.fault)}`;
  }
}

/**
 * Two different notifications about one order at once (say a payment and a second payment, or
 * two refunds that together exceed it): the core may apply them in either order, but in one of
 * the two, exactly as the model does.
 */
class RaceCommand implements MoneyCommand {
  constructor(
    readonly first: PaymentCommand | RefundCommand,
    readonly second: PaymentCommand | RefundCommand,
  ) {}
  private notes(m: Readonly<MoneyModel>): [Note, Note] | undefined {
    const a = this.first.note(m);
    const b = this.second.note(m);
    return a && b ? [a, b] : undefined;
  }
  check(m: Readonly<MoneyModel>): boolean {
    const notes = this.notes(m);
    // Only about orders that exist: with none, two different payments would both wait for it.
    return notes !== undefined && notes.every((n) => m.orders[n.slot] !== undefined);
  }
  async run(m: MoneyModel, r: ModelSystem): Promise<void> {
    const started = Date.now();
    const name = this.toString();
    const notes = this.notes(m);
    if (!notes) throw new Error(`${name} ran although its check failed`);
    const [a, b] = notes;
    // The verdicts of a and b, for each order of applying them.
    const orders = [
      [a, b],
      [b, a],
    ].map(([x, y]) => {
      const c = m.clone();
      const vx = c.deliver(x as Note);
      const vy = c.deliver(y as Note);
      return (x === a ? [vx, vy] : [vy, vx]).map((v) => `${v.outcome}/${v.code}`);
    });
    const retried: Reply[] = [];
    const once = async (note: Note): Promise<Reply> => {
      for (let attempt = 1; ; attempt++) {
        const reply = await deliver(r, m.slot(note.slot), note);
        if (!(reply.kind === 'verdict' && reply.outcome === 'RETRY_LATER') || attempt >= MAX_ATTEMPTS) return reply;
        retried.push(reply);
        await sleep(10 + Math.floor(Math.random() * 40));
      }
    };
    const replies = await Promise.all([once(a), once(b)]);
    const got = replies.map(describeReply);
    const fitting = [0, 1].filter((i) => isDeepStrictEqual(orders[i], got));
    assert.ok(
      fitting.length > 0,
      `${name}: replies ${JSON.stringify(got)}${retried.length ? ` after ${retried.length} retried` : ''}; ` +
        `the model expects ${JSON.stringify(orders[0])} (in this order) or ${JSON.stringify(orders[1])} (the other way round)`,
    );
    for (const reply of replies) {
      if (reply.kind === 'verdict')
        assert.equal(
          reply.acknowledge,
          acknowledged(reply.outcome as Verdict['outcome']),
          `${name}: acknowledge of ${reply.outcome}`,
        );
    }
    // Two notes whose verdicts do not depend on their order may still have written their events
    // either way round: the tables tell which.
    let applied = fitting[0] ?? 0;
    if (fitting.length > 1) {
      const observed = (await observeMoney(r.observer, m.slots, m.rules)).view;
      applied =
        fitting.find((i) => {
          const c = m.clone();
          for (const note of i === 0 ? [a, b] : [b, a]) c.deliver(note);
          return isDeepStrictEqual(observed, c.view());
        }) ?? applied;
    }
    for (const note of applied === 0 ? [a, b] : [b, a]) {
      const v = m.deliver(note);
      r.count(`${v.outcome}/${v.code}`);
    }
    r.count(`race: applied ${applied === 0 ? 'as sent' : 'the other way round'}`);
    m.sent.push(a, b);
    r.timed(name, started);
    await assertMatchesModel(m, r, name);
  }
  toString(): string {
    return `Race(${this.first.toString()}, ${this.second.toString()})`;
  }
}

class RestartCoreCommand implements MoneyCommand {
  check(): boolean {
    return true;
  }
  async run(m: MoneyModel, r: ModelSystem): Promise<void> {
    const started = Date.now();
    await r.restartCore();
    r.timed(this.toString(), started);
    await assertMatchesModel(m, r, this.toString());
  }
  toString(): string {
    return 'RestartCore';
  }
}

const refundAmountArb = fc.constantFrom<RefundAmount>('a third', 'the rest', 'the total', 'one fen', 'the rest + 1');
const slotArb = fc.integer({ min: 0, max: SLOT_LABELS.length - 1 });
const copiesArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.integer({ min: 2, max: 6 }) },
);

/** The command mix; faults only where the backend can inject them. */
export function moneyCommandArb(options: { readonly faults: boolean }): fc.Arbitrary<MoneyCommand> {
  const faultArb: fc.Arbitrary<Fault | undefined> = options.faults
    ? fc.oneof(
        { weight: 6, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.record({ terminateAfterMs: fc.integer({ min: 0, max: 8 }) }) },
      )
    : fc.constant(undefined);
  const variantArb = fc.oneof(
    { weight: 4, arbitrary: fc.constant<PaymentVariant>('genuine') },
    ...(['other-transaction', 'wrong-amount', 'wrong-appid', 'forged', 'reused-transaction'] as const).map((v) => ({
      weight: 1,
      arbitrary: fc.constant<PaymentVariant>(v),
    })),
  );
  const paymentOf = (slot: number): fc.Arbitrary<PaymentCommand> =>
    fc
      .tuple(fc.constantFrom<PaymentApi>('v2-MD5', 'v2-HMAC', 'v3'), variantArb)
      .map(([api, variant]) => new PaymentCommand(slot, api, variant, 1, undefined));
  const refundOf = (slot: number): fc.Arbitrary<RefundCommand> =>
    fc
      .tuple(
        fc.constantFrom<RefundApi>('v2', 'v3'),
        fc.integer({ min: 0, max: 2 }),
        refundAmountArb,
        fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      )
      .map(([api, no, amount, other]) => new RefundCommand(slot, api, no, amount, other, false, 1, undefined));
  const eitherOf = (slot: number): fc.Arbitrary<PaymentCommand | RefundCommand> =>
    fc.oneof(paymentOf(slot), refundOf(slot));
  return fc.oneof(
    {
      weight: 2,
      arbitrary: slotArb
        .chain((slot) => fc.tuple(eitherOf(slot), eitherOf(slot)))
        .map(([first, second]): MoneyCommand => new RaceCommand(first, second)),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.oneof({ weight: 3, arbitrary: slotArb }, { weight: 2, arbitrary: fc.constant<OrderPick>('waited for') }),
          fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        )
        .map(([pick, conflicting]): MoneyCommand => new CreateOrderCommand(pick, conflicting)),
    },
    {
      weight: 6,
      arbitrary: fc
        .tuple(slotArb, fc.constantFrom<PaymentApi>('v2-MD5', 'v2-HMAC', 'v3'), variantArb, copiesArb, faultArb)
        .map(
          ([slot, api, variant, copies, fault]): MoneyCommand => new PaymentCommand(slot, api, variant, copies, fault),
        ),
    },
    {
      weight: 5,
      arbitrary: fc
        .tuple(
          slotArb,
          fc.constantFrom<RefundApi>('v2', 'v3'),
          fc.integer({ min: 0, max: 2 }),
          refundAmountArb,
          fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
          fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
          copiesArb,
          faultArb,
        )
        .map(
          ([slot, api, no, amount, other, forged, copies, fault]): MoneyCommand =>
            new RefundCommand(slot, api, no, amount, other, forged, copies, fault),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.nat(50), copiesArb, faultArb)
        .map(([pick, copies, fault]): MoneyCommand => new RedeliverCommand(pick, copies, fault)),
    },
    { weight: 1, arbitrary: fc.constant<MoneyCommand>(new RestartCoreCommand()) },
  );
}
