// The notify table (src/notify/decide.ts): what an authenticated, well-formed notification does
// to the order as stored now; and which outcomes tell WeChat to stop retrying (outcome.ts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide, type AnomalyKind, type Decision } from '../../src/notify/decide';
import type { OrderRecord } from '../../src/notify/order';
import { acknowledges, type NotifyCode, type NotifyOutcome } from '../../src/notify/outcome';
import type { FailedNotice, PaidNotice, PaymentNotice } from '../../src/notify/payment-notice';

const APPID = 'wxd930ea5d5a258f4f';
const TXID = '4200000001201410300000000001';
const OTHER_TXID = '4200000001201410300000000002';

const paid = (changes: Partial<PaidNotice> = {}): PaidNotice => ({
  mchId: '10000100',
  appid: APPID,
  outTradeNo: 'T100',
  resultCode: 'SUCCESS',
  transactionId: TXID,
  totalFee: 100,
  feeType: 'CNY',
  paidAt: new Date('2014-10-30T05:35:25.000Z'),
  ...changes,
});

const failed = (changes: Partial<FailedNotice> = {}): FailedNotice => ({
  mchId: '10000100',
  appid: APPID,
  outTradeNo: 'T100',
  resultCode: 'FAIL',
  errCode: 'NOTENOUGH',
  errCodeDes: '余额不足',
  ...changes,
});

const notPaidOrder = (changes: Partial<OrderRecord> = {}): OrderRecord => ({
  mchId: '10000100',
  appid: APPID,
  outTradeNo: 'T100',
  totalFee: 100,
  feeType: 'CNY',
  status: 'NOTPAY',
  transactionId: null,
  paidAt: null,
  createdAt: new Date('2014-10-30T05:30:00.000Z'),
  ...changes,
});

const paidOrder = (changes: Partial<OrderRecord> = {}): OrderRecord =>
  notPaidOrder({ status: 'PAID', transactionId: TXID, paidAt: new Date('2014-10-30T05:35:25.000Z'), ...changes });

interface Expected {
  readonly action: Decision['action'];
  readonly outcome: NotifyOutcome;
  readonly code: NotifyCode;
  readonly anomaly?: AnomalyKind;
}

describe('the notify table', () => {
  const cases: ReadonlyArray<{
    name: string;
    notice: PaymentNotice;
    order: OrderRecord | undefined;
    expected: Expected;
  }> = [
    {
      name: 'FAIL notice, order NOTPAY -> RECORD_FAILURE / PAYMENT_FAILED',
      notice: failed(),
      order: notPaidOrder(),
      expected: { action: 'RECORD_FAILURE', outcome: 'PAYMENT_FAILED', code: 'PAYMENT_FAILED' },
    },
    {
      name: 'FAIL notice, no order -> RECORD (no event) / PAYMENT_FAILED',
      notice: failed(),
      order: undefined,
      expected: { action: 'RECORD', outcome: 'PAYMENT_FAILED', code: 'PAYMENT_FAILED' },
    },
    {
      name: 'FAIL notice, order already PAID -> RECORD (no PAYMENT_FAILED event after ORDER_PAID) / PAYMENT_FAILED',
      notice: failed(),
      order: paidOrder(),
      expected: { action: 'RECORD', outcome: 'PAYMENT_FAILED', code: 'PAYMENT_FAILED' },
    },
    {
      name: 'no order registered -> RECORD / ORDER_NOT_FOUND',
      notice: paid(),
      order: undefined,
      expected: { action: 'RECORD', outcome: 'ORDER_NOT_FOUND', code: 'ORDER_NOT_FOUND' },
    },
    {
      name: 'order NOTPAY, everything matches -> MARK_PAID / PAID',
      notice: paid(),
      order: notPaidOrder(),
      expected: { action: 'MARK_PAID', outcome: 'PAID', code: 'OK' },
    },
    {
      name: 'order PAID by the same transaction_id -> RECORD / DUPLICATE',
      notice: paid(),
      order: paidOrder(),
      expected: { action: 'RECORD', outcome: 'DUPLICATE', code: 'DUPLICATE' },
    },
    {
      name: 'order PAID by another transaction_id -> RAISE_ANOMALY CONFLICTING_TRANSACTION / CONFLICTING_PAYMENT',
      notice: paid({ transactionId: OTHER_TXID }),
      order: paidOrder(),
      expected: {
        action: 'RAISE_ANOMALY',
        outcome: 'CONFLICTING_PAYMENT',
        code: 'CONFLICTING_TRANSACTION',
        anomaly: 'CONFLICTING_TRANSACTION',
      },
    },
    {
      name: 'total_fee differs, order NOTPAY -> RAISE_ANOMALY AMOUNT_MISMATCH / ORDER_MISMATCH',
      notice: paid({ totalFee: 1 }),
      order: notPaidOrder(),
      expected: {
        action: 'RAISE_ANOMALY',
        outcome: 'ORDER_MISMATCH',
        code: 'AMOUNT_MISMATCH',
        anomaly: 'AMOUNT_MISMATCH',
      },
    },
    {
      name: 'total_fee differs, order PAID by the same transaction -> still AMOUNT_MISMATCH, not DUPLICATE',
      notice: paid({ totalFee: 1 }),
      order: paidOrder(),
      expected: {
        action: 'RAISE_ANOMALY',
        outcome: 'ORDER_MISMATCH',
        code: 'AMOUNT_MISMATCH',
        anomaly: 'AMOUNT_MISMATCH',
      },
    },
    {
      name: 'total_fee 0 for an order of 100 -> AMOUNT_MISMATCH',
      notice: paid({ totalFee: 0 }),
      order: notPaidOrder(),
      expected: {
        action: 'RAISE_ANOMALY',
        outcome: 'ORDER_MISMATCH',
        code: 'AMOUNT_MISMATCH',
        anomaly: 'AMOUNT_MISMATCH',
      },
    },
    {
      name: 'fee_type differs -> RAISE_ANOMALY FEE_TYPE_MISMATCH / ORDER_MISMATCH',
      notice: paid({ feeType: 'USD' }),
      order: notPaidOrder(),
      expected: {
        action: 'RAISE_ANOMALY',
        outcome: 'ORDER_MISMATCH',
        code: 'FEE_TYPE_MISMATCH',
        anomaly: 'FEE_TYPE_MISMATCH',
      },
    },
    {
      name: 'appid differs -> RAISE_ANOMALY APPID_MISMATCH / ORDER_MISMATCH',
      notice: paid({ appid: 'wx0000000000000200' }),
      order: notPaidOrder(),
      expected: {
        action: 'RAISE_ANOMALY',
        outcome: 'ORDER_MISMATCH',
        code: 'APPID_MISMATCH',
        anomaly: 'APPID_MISMATCH',
      },
    },
    {
      name: 'appid differs, order PAID by the same transaction -> APPID_MISMATCH',
      notice: paid({ appid: 'wx0000000000000200' }),
      order: paidOrder(),
      expected: {
        action: 'RAISE_ANOMALY',
        outcome: 'ORDER_MISMATCH',
        code: 'APPID_MISMATCH',
        anomaly: 'APPID_MISMATCH',
      },
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const d = decide(c.notice, c.order);
      const actual: Expected = {
        action: d.action,
        outcome: d.result.outcome,
        code: d.result.code,
        ...(d.action === 'RAISE_ANOMALY' ? { anomaly: d.anomaly.kind } : {}),
      };
      assert.deepEqual(actual, c.expected);
      assert.notEqual(d.result.message, '');
    });
  }
});

describe('acknowledges: which outcomes reply SUCCESS so WeChat stops retrying', () => {
  const cases: ReadonlyArray<{ outcome: NotifyOutcome; acknowledge: boolean; why: string }> = [
    { outcome: 'PAID', acknowledge: true, why: 'the transition is committed' },
    { outcome: 'DUPLICATE', acknowledge: true, why: 'committed earlier' },
    { outcome: 'CONFLICTING_PAYMENT', acknowledge: true, why: 'an anomaly is stored; no retry can fix it' },
    { outcome: 'PAYMENT_FAILED', acknowledge: true, why: 'the failure is stored' },
    { outcome: 'REJECTED', acknowledge: false, why: 'not proven to come from WeChat' },
    { outcome: 'ORDER_MISMATCH', acknowledge: false, why: 'the payment stays unconfirmed' },
    { outcome: 'ORDER_NOT_FOUND', acknowledge: false, why: 'a retry may find the order' },
    { outcome: 'RETRY_LATER', acknowledge: false, why: 'nothing was written' },
    { outcome: 'MALFORMED', acknowledge: false, why: 'nothing was written' },
  ];
  for (const c of cases) {
    test(`${c.outcome} -> ${c.acknowledge ? 'SUCCESS' : 'FAIL'} (${c.why})`, () =>
      assert.equal(acknowledges(c.outcome), c.acknowledge));
  }
});
