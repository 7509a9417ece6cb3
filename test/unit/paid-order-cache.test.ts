// The paid-order cache (src/service/paid-order-cache.ts): only PAID orders are kept, because
// only their notify decision can never change; the least recently used goes first when full.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OrderStatus, StoredOrder } from '../../src/notify/order';
import { PaidOrderCache } from '../../src/service/paid-order-cache';

const order = (outTradeNo: string, status: OrderStatus): StoredOrder => ({
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  outTradeNo,
  totalFee: 100,
  feeType: 'CNY',
  status,
  transactionId: status === 'PAID' ? `4200${outTradeNo}` : null,
  paidAt: status === 'PAID' ? new Date(0) : null,
  createdAt: new Date(0),
  refundedFee: 0,
});

describe('what is remembered', () => {
  const cases: ReadonlyArray<{ name: string; remember: StoredOrder | undefined; kept: boolean }> = [
    { name: 'a PAID order is kept', remember: order('a', 'PAID'), kept: true },
    { name: 'a NOTPAY order is not: it may be paid next', remember: order('a', 'NOTPAY'), kept: false },
    { name: 'an unknown order is not: it may be created next', remember: undefined, kept: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const cache = new PaidOrderCache(10);
      cache.remember('k', c.remember);
      assert.equal(cache.get('k') !== undefined, c.kept);
    });
  }

  test('capacity 0 keeps nothing', () => {
    const cache = new PaidOrderCache(0);
    cache.remember('k', order('a', 'PAID'));
    assert.equal(cache.get('k'), undefined);
    assert.equal(cache.size, 0);
  });
});

describe('bounded: the least recently used entry goes first', () => {
  const cases: ReadonlyArray<{
    name: string;
    steps: ReadonlyArray<['remember' | 'get', string]>;
    kept: readonly string[];
  }> = [
    {
      name: 'a third entry pushes out the first',
      steps: [
        ['remember', 'a'],
        ['remember', 'b'],
        ['remember', 'c'],
      ],
      kept: ['b', 'c'],
    },
    {
      name: 'reading an entry keeps it over an older one',
      steps: [
        ['remember', 'a'],
        ['remember', 'b'],
        ['get', 'a'],
        ['remember', 'c'],
      ],
      kept: ['a', 'c'],
    },
    {
      name: 'remembering an entry again refreshes it',
      steps: [
        ['remember', 'a'],
        ['remember', 'b'],
        ['remember', 'a'],
        ['remember', 'c'],
      ],
      kept: ['a', 'c'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const cache = new PaidOrderCache(2);
      for (const [op, key] of c.steps) {
        if (op === 'remember') cache.remember(key, order(key, 'PAID'));
        else cache.get(key);
      }
      assert.equal(cache.size, 2);
      assert.deepEqual(
        ['a', 'b', 'c'].filter((k) => cache.get(k) !== undefined),
        c.kept,
      );
    });
  }
});
