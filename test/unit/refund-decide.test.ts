// The refund table (src/notify/refund-decide.ts decideRefund), row by row: what a refund
// notification does given the order and the refund as stored. Pure values in, a decision out.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredOrder } from '../../src/notify/order';
import { decideRefund, refundStateOfV2, type RefundChange, type RefundRecord } from '../../src/notify/refund-decide';

const TX = '4200000000000000000000000000001';
const order = (changes: Partial<StoredOrder> = {}): StoredOrder => ({
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  outTradeNo: 'T1',
  totalFee: 100,
  feeType: 'CNY',
  status: 'PAID',
  transactionId: TX,
  paidAt: new Date('2026-11-27T04:00:00Z'),
  createdAt: new Date('2026-11-27T03:59:00Z'),
  refundedFee: 0,
  ...changes,
});
const change = (changes: Partial<RefundChange> = {}): RefundChange => ({
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  outTradeNo: 'T1',
  transactionId: TX,
  outRefundNo: 'RF1',
  refundId: '5030001',
  totalFee: 100,
  refundFee: 30,
  state: 'SUCCESS',
  reportedStatus: 'SUCCESS',
  successTime: new Date('2026-11-28T02:00:00Z'),
  ...changes,
});
const stored = (changes: Partial<RefundRecord> = {}): RefundRecord => ({
  outRefundNo: 'RF1',
  refundId: '5030001',
  transactionId: TX,
  refundFee: 30,
  state: 'SUCCESS',
  ...changes,
});

interface Row {
  readonly name: string;
  readonly change: RefundChange;
  readonly order: StoredOrder | undefined;
  readonly existing?: RefundRecord;
  /** action / outcome / code, and the anomaly kind when one is raised. */
  readonly expected: readonly [string, string, string, string?];
}

const ROWS: readonly Row[] = [
  // First notice of a refund.
  {
    name: 'SUCCESS, PAID order, within the total: applied',
    change: change(),
    order: order(),
    expected: ['APPLY_SUCCESS', 'REFUNDED', 'OK'],
  },
  {
    name: 'SUCCESS for the whole total: applied',
    change: change({ refundFee: 100 }),
    order: order(),
    expected: ['APPLY_SUCCESS', 'REFUNDED', 'OK'],
  },
  {
    name: 'SUCCESS for what is left exactly: applied',
    change: change({ refundFee: 40 }),
    order: order({ refundedFee: 60 }),
    expected: ['APPLY_SUCCESS', 'REFUNDED', 'OK'],
  },
  {
    name: 'SUCCESS 1 fen above what is left: OVER_REFUND, FAIL',
    change: change({ refundFee: 41 }),
    order: order({ refundedFee: 60 }),
    expected: ['RAISE_ANOMALY', 'ORDER_MISMATCH', 'OVER_REFUND', 'OVER_REFUND'],
  },
  {
    name: 'CHANGE (v2) / ABNORMAL: recorded, no money',
    change: change({ state: 'ABNORMAL', reportedStatus: 'CHANGE' }),
    order: order(),
    expected: ['RECORD_STATE', 'REFUND_RECORDED', 'REFUND_ABNORMAL'],
  },
  {
    name: 'REFUNDCLOSE (v2) / CLOSED: recorded, no money',
    change: change({ state: 'CLOSED', reportedStatus: 'REFUNDCLOSE' }),
    order: order(),
    expected: ['RECORD_STATE', 'REFUND_RECORDED', 'REFUND_CLOSED'],
  },
  // The order.
  {
    name: 'unknown order: ORDER_NOT_FOUND, FAIL',
    change: change(),
    order: undefined,
    expected: ['RECORD', 'ORDER_NOT_FOUND', 'ORDER_NOT_FOUND'],
  },
  {
    name: 'NOTPAY order (its payment notification may come later): ORDER_NOT_PAID, FAIL',
    change: change(),
    order: order({ status: 'NOTPAY', transactionId: null, paidAt: null }),
    expected: ['RECORD', 'ORDER_NOT_FOUND', 'ORDER_NOT_PAID'],
  },
  {
    name: 'a refund of another transaction (a second payment): anomaly, acknowledged',
    change: change({ transactionId: '4200000000000000000000000000999' }),
    order: order(),
    expected: ['RAISE_ANOMALY', 'CONFLICTING_PAYMENT', 'REFUND_OTHER_TRANSACTION', 'REFUND_OTHER_TRANSACTION'],
  },
  {
    name: 'total_fee differs from the order: AMOUNT_MISMATCH, FAIL',
    change: change({ totalFee: 99 }),
    order: order(),
    expected: ['RAISE_ANOMALY', 'ORDER_MISMATCH', 'AMOUNT_MISMATCH', 'AMOUNT_MISMATCH'],
  },
  {
    name: 'v2 appid differs from the order: APPID_MISMATCH, FAIL',
    change: change({ appid: 'wx1111111111111111' }),
    order: order(),
    expected: ['RAISE_ANOMALY', 'ORDER_MISMATCH', 'APPID_MISMATCH', 'APPID_MISMATCH'],
  },
  {
    name: 'v3 (no appid): not compared',
    change: change({ appid: undefined }),
    order: order(),
    expected: ['APPLY_SUCCESS', 'REFUNDED', 'OK'],
  },
  // The refund as stored.
  {
    name: 'SUCCESS again, same amount: DUPLICATE',
    change: change(),
    order: order({ refundedFee: 30 }),
    existing: stored(),
    expected: ['RECORD', 'DUPLICATE', 'DUPLICATE'],
  },
  {
    name: 'SUCCESS again with another amount: REFUND_AMOUNT_CONFLICT, acknowledged',
    change: change({ refundFee: 31 }),
    order: order({ refundedFee: 30 }),
    existing: stored(),
    expected: ['RAISE_ANOMALY', 'CONFLICTING_PAYMENT', 'REFUND_AMOUNT_CONFLICT', 'REFUND_AMOUNT_CONFLICT'],
  },
  {
    name: 'ABNORMAL again: DUPLICATE',
    change: change({ state: 'ABNORMAL' }),
    order: order(),
    existing: stored({ state: 'ABNORMAL' }),
    expected: ['RECORD', 'DUPLICATE', 'DUPLICATE'],
  },
  {
    name: 'ABNORMAL, then SUCCESS (refunded another way): applied',
    change: change(),
    order: order(),
    existing: stored({ state: 'ABNORMAL' }),
    expected: ['APPLY_SUCCESS', 'REFUNDED', 'OK'],
  },
  {
    name: 'ABNORMAL for one payment, then SUCCESS naming another transaction: an anomaly, nothing credited',
    change: change({ transactionId: '4200000000000000000000000000777' }),
    order: order(),
    existing: stored({ state: 'ABNORMAL' }),
    expected: ['RAISE_ANOMALY', 'CONFLICTING_PAYMENT', 'REFUND_OTHER_TRANSACTION', 'REFUND_OTHER_TRANSACTION'],
  },
  {
    name: 'ABNORMAL, then CLOSED: recorded',
    change: change({ state: 'CLOSED', reportedStatus: 'CLOSED' }),
    order: order(),
    existing: stored({ state: 'ABNORMAL' }),
    expected: ['RECORD_STATE', 'REFUND_RECORDED', 'REFUND_CLOSED'],
  },
  {
    name: 'SUCCESS, then CLOSED (a final state contradicted): REFUND_STATUS_CONFLICT, acknowledged',
    change: change({ state: 'CLOSED', reportedStatus: 'REFUNDCLOSE' }),
    order: order({ refundedFee: 30 }),
    existing: stored(),
    expected: ['RAISE_ANOMALY', 'CONFLICTING_PAYMENT', 'REFUND_STATUS_CONFLICT', 'REFUND_STATUS_CONFLICT'],
  },
  {
    name: 'CLOSED, then SUCCESS: REFUND_STATUS_CONFLICT, the money not counted',
    change: change(),
    order: order(),
    existing: stored({ state: 'CLOSED' }),
    expected: ['RAISE_ANOMALY', 'CONFLICTING_PAYMENT', 'REFUND_STATUS_CONFLICT', 'REFUND_STATUS_CONFLICT'],
  },
  {
    name: 'SUCCESS, then ABNORMAL: REFUND_STATUS_CONFLICT',
    change: change({ state: 'ABNORMAL', reportedStatus: 'ABNORMAL' }),
    order: order({ refundedFee: 30 }),
    existing: stored(),
    expected: ['RAISE_ANOMALY', 'CONFLICTING_PAYMENT', 'REFUND_STATUS_CONFLICT', 'REFUND_STATUS_CONFLICT'],
  },
];

describe('decideRefund: the refund table', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const d = decideRefund(row.change, row.order, row.existing);
      const actual = [
        d.action,
        d.result.outcome,
        d.result.code,
        ...(d.action === 'RAISE_ANOMALY' ? [d.anomaly.kind] : []),
      ];
      assert.deepEqual(actual, row.expected, d.result.message);
      assert.ok(d.result.message.length > 0);
    });
  }
});

describe('refundStateOfV2: v2 statuses in APIv3 words', () => {
  const cases = [
    ['SUCCESS', 'SUCCESS'],
    ['CHANGE', 'ABNORMAL'],
    ['REFUNDCLOSE', 'CLOSED'],
  ] as const;
  for (const [v2, state] of cases) test(`${v2} -> ${state}`, () => assert.equal(refundStateOfV2(v2), state));
});
