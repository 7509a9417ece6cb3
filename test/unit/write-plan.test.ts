// planWrite (src/notify/write-plan.ts): what each subject writes for the order as stored. One
// table for payments, one for what a plan keeps of the body; refunds' rules are refund-decide's.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paymentSubject, refundedPaymentSubject } from '../../src/notify/money-subject';
import type { StoredOrder } from '../../src/notify/order';
import type { PaidNotice } from '../../src/notify/payment-notice';
import { planWrite, recordsOnly, type StoredView } from '../../src/notify/write-plan';

const notice: PaidNotice = {
  resultCode: 'SUCCESS',
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  outTradeNo: 'T1',
  transactionId: '4200T1',
  totalFee: 100,
  feeType: 'CNY',
  paidAt: new Date('2026-11-27T04:00:00Z'),
};
const order: StoredOrder = {
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  outTradeNo: 'T1',
  totalFee: 100,
  feeType: 'CNY',
  status: 'NOTPAY',
  transactionId: null,
  paidAt: null,
  createdAt: new Date(0),
  refundedFee: 0,
};
const paidOrder: StoredOrder = { ...order, status: 'PAID', transactionId: '4200T1', paidAt: notice.paidAt };

const cases: ReadonlyArray<{
  name: string;
  view: StoredView;
  notice?: PaidNotice;
  expected: {
    outcome: string;
    code: string;
    transition?: string;
    event?: string;
    anomaly?: string;
    keepsBody: boolean;
  };
}> = [
  {
    name: 'an unpaid order, matching: PAY and ORDER_PAID',
    view: { order },
    expected: { outcome: 'PAID', code: 'OK', transition: 'PAY', event: 'ORDER_PAID', keepsBody: true },
  },
  {
    name: 'no order: recorded, parked',
    view: { order: undefined },
    expected: { outcome: 'ORDER_NOT_FOUND', code: 'ORDER_NOT_FOUND', keepsBody: true },
  },
  {
    name: 'paid by this transaction: a duplicate keeps no body',
    view: { order: paidOrder },
    expected: { outcome: 'DUPLICATE', code: 'DUPLICATE', keepsBody: false },
  },
  {
    name: 'paid by another transaction',
    view: { order: paidOrder },
    notice: { ...notice, transactionId: 'other' },
    expected: {
      outcome: 'CONFLICTING_PAYMENT',
      code: 'CONFLICTING_TRANSACTION',
      anomaly: 'CONFLICTING_TRANSACTION',
      keepsBody: true,
    },
  },
  {
    name: 'this transaction pays another order',
    view: { order, transactionPays: 'T0' },
    expected: {
      outcome: 'CONFLICTING_PAYMENT',
      code: 'TRANSACTION_REUSED',
      anomaly: 'TRANSACTION_REUSED',
      keepsBody: true,
    },
  },
  {
    name: 'another amount',
    view: { order },
    notice: { ...notice, totalFee: 1 },
    expected: { outcome: 'ORDER_MISMATCH', code: 'AMOUNT_MISMATCH', anomaly: 'AMOUNT_MISMATCH', keepsBody: true },
  },
  {
    name: 'a mismatch is reported before a reused transaction',
    view: { order, transactionPays: 'T0' },
    notice: { ...notice, totalFee: 1 },
    expected: { outcome: 'ORDER_MISMATCH', code: 'AMOUNT_MISMATCH', anomaly: 'AMOUNT_MISMATCH', keepsBody: true },
  },
];

for (const c of cases) {
  test(`payment: ${c.name}`, () => {
    const plan = planWrite(paymentSubject(c.notice ?? notice), c.view);
    assert.deepEqual(
      {
        outcome: plan.result.outcome,
        code: plan.result.code,
        ...(plan.transition ? { transition: plan.transition.kind } : {}),
        ...(plan.event ? { event: plan.event.type } : {}),
        ...(plan.anomaly ? { anomaly: plan.anomaly.anomaly.kind } : {}),
        keepsBody: plan.keepsBody,
      },
      c.expected,
    );
  });
}

test('an anomaly carries its own ANOMALY_RAISED event, written only when the anomaly is new', () => {
  const plan = planWrite(paymentSubject({ ...notice, transactionId: 'other' }), { order: paidOrder });
  assert.equal(plan.anomaly?.event.type, 'ANOMALY_RAISED');
  assert.equal(plan.event, undefined);
});

test('v2 and v3 deliveries of one payment are one fact; another amount is another', () => {
  assert.equal(paymentSubject(notice).identity, paymentSubject({ ...notice }).identity);
  assert.notEqual(paymentSubject(notice).identity, paymentSubject({ ...notice, totalFee: 1 }).identity);
});

test('orderquery REFUND for an unpaid order: an anomaly REFUNDED_BEFORE_PAID; for a paid one, nothing', () => {
  const subject = refundedPaymentSubject({
    mchId: '10000100',
    appid: order.appid,
    outTradeNo: 'T1',
    transactionId: '4200T1',
  });
  assert.equal(planWrite(subject, { order }).anomaly?.anomaly.kind, 'REFUNDED_BEFORE_PAID');
  assert.ok(recordsOnly(planWrite(subject, { order: paidOrder })));
});
