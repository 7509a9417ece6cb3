// The decrypted resource of a TRANSACTION.SUCCESS notification (src/notify/v3/transaction.ts):
// fields named as in WeChat Pay's APIv3 payment notification (and wechatpay-go's
// payments.Transaction); amounts are JSON numbers that must be safe non-negative integers in fen.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V3Parse, V3ParseErrorCode } from '../../src/notify/v3/json-fields';
import { parseV3Transaction, type V3Transaction } from '../../src/notify/v3/transaction';

/** Shaped like the resource example in WeChat Pay's APIv3 payment-notification documentation. */
const DOC_EXAMPLE = {
  transaction_id: '1217752501201407033233368018',
  amount: { payer_total: 100, total: 100, currency: 'CNY', payer_currency: 'CNY' },
  mchid: '1230000109',
  trade_state: 'SUCCESS',
  bank_type: 'CMC',
  promotion_detail: [
    {
      amount: 100,
      wechatpay_contribute: 0,
      coupon_id: '109519',
      scope: 'GLOBAL',
      merchant_contribute: 0,
      name: '单品惠-6',
      other_contribute: 0,
      currency: 'CNY',
      stock_id: '931386',
    },
  ],
  success_time: '2018-06-08T10:34:56+08:00',
  payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  out_trade_no: '1217752501201407033233368018',
  appid: 'wxd678efh567hg6787',
  trade_state_desc: '支付成功',
  trade_type: 'MICROPAY',
  attach: '自定义数据',
  scene_info: { device_id: '013467007045764' },
} as const;

const DOC_EXPECTED: V3Transaction = {
  appid: 'wxd678efh567hg6787',
  mchid: '1230000109',
  outTradeNo: '1217752501201407033233368018',
  transactionId: '1217752501201407033233368018',
  tradeState: 'SUCCESS',
  tradeType: 'MICROPAY',
  payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  successTime: new Date('2018-06-08T02:34:56.000Z'),
  amount: { total: 100, payerTotal: 100, currency: 'CNY', payerCurrency: 'CNY' },
};

type Json = Record<string, unknown>;

function withFields(changes: Json, amountChanges: Json = {}): string {
  const out: Json = { ...DOC_EXAMPLE, amount: { ...DOC_EXAMPLE.amount } };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  const amount = out['amount'] as Json;
  for (const [k, v] of Object.entries(amountChanges)) {
    if (v === undefined) delete amount[k];
    else amount[k] = v;
  }
  return JSON.stringify(out);
}

function codeOf(r: V3Parse<unknown>): V3ParseErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('documented example: a TRANSACTION.SUCCESS resource', () => {
  const cases: ReadonlyArray<{ name: string; json: string; expected: V3Transaction }> = [
    { name: 'the documented resource', json: JSON.stringify(DOC_EXAMPLE), expected: DOC_EXPECTED },
    {
      name: 'without the optional trade_type and payer',
      json: withFields({ trade_type: undefined, payer: undefined }),
      expected: (({ tradeType, payerOpenid, ...rest }) => {
        void tradeType;
        void payerOpenid;
        return rest;
      })(DOC_EXPECTED),
    },
    {
      name: 'a discount: payer_total below total',
      json: withFields({}, { payer_total: 90 }),
      expected: { ...DOC_EXPECTED, amount: { ...DOC_EXPECTED.amount, payerTotal: 90 } },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseV3Transaction(c.json);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.value, c.expected);
    });
  }
});

describe('amounts (amount.total, amount.payer_total) are JSON numbers, safe non-negative integers', () => {
  const values: ReadonlyArray<{ name: string; value: unknown; accepted: boolean }> = [
    { name: '1', value: 1, accepted: true },
    { name: '0', value: 0, accepted: true },
    { name: '2^53 - 1', value: Number.MAX_SAFE_INTEGER, accepted: true },
    { name: '2^53', value: 2 ** 53, accepted: false },
    { name: '-1', value: -1, accepted: false },
    { name: '1.5', value: 1.5, accepted: false },
    { name: '"100" (a string)', value: '100', accepted: false },
    { name: 'true', value: true, accepted: false },
    { name: '{}', value: {}, accepted: false },
  ];
  const cases = (['total', 'payer_total'] as const).flatMap((field) => values.map((v) => ({ ...v, field })));
  for (const c of cases) {
    test(`amount.${c.field}=${c.name} ${c.accepted ? 'accepted' : 'rejected'}`, () => {
      const r = parseV3Transaction(withFields({}, { [c.field]: c.value }));
      if (c.accepted) {
        assert.ok(r.ok, r.ok ? '' : r.error.message);
      } else {
        assert.equal(codeOf(r), 'INVALID_FIELD');
        assert.ok(!r.ok && r.error.message.includes(`amount.${c.field} must be`), r.ok ? '' : r.error.message);
      }
    });
  }
  test('-0 written in the JSON text is refused', () => {
    assert.equal(codeOf(parseV3Transaction(withFields({}).replace('"total":100', '"total":-0'))), 'INVALID_FIELD');
  });
  test('1e2 written in the JSON text is the integer 100 (JSON.parse keeps no source text)', () => {
    const r = parseV3Transaction(withFields({}).replace('"total":100', '"total":1e2'));
    assert.ok(r.ok && r.value.amount.total === 100);
  });
});

describe('trade_state must be SUCCESS: other states come from querying the order', () => {
  const cases = ['NOTPAY', 'CLOSED', 'REFUND', 'PAYERROR', 'USERPAYING', 'success', ''];
  for (const value of cases) {
    test(`${JSON.stringify(value)} -> INVALID_FIELD`, () => {
      const r = parseV3Transaction(withFields({ trade_state: value }));
      assert.equal(codeOf(r), 'INVALID_FIELD');
      assert.ok(!r.ok && r.error.message.includes('trade_state must be SUCCESS'));
    });
  }
});

describe('required fields: absent or null is MISSING_FIELD, naming it', () => {
  const top = ['appid', 'mchid', 'out_trade_no', 'transaction_id', 'trade_state', 'success_time', 'amount'];
  const amount = ['total', 'payer_total', 'currency', 'payer_currency'];
  const cases = [
    ...top.flatMap((f) => [
      { name: `${f} absent`, json: withFields({ [f]: undefined }), field: f },
      { name: `${f} null`, json: withFields({ [f]: null }), field: f },
    ]),
    ...amount.map((f) => ({
      name: `amount.${f} absent`,
      json: withFields({}, { [f]: undefined }),
      field: `amount.${f}`,
    })),
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseV3Transaction(c.json);
      assert.equal(codeOf(r), 'MISSING_FIELD');
      assert.ok(!r.ok && r.error.message.endsWith(`missing required field ${c.field}`), r.ok ? '' : r.error.message);
    });
  }
});

describe('field shapes: INVALID_FIELD, naming the field', () => {
  const cases: ReadonlyArray<{ name: string; json: string; field: string }> = [
    { name: 'appid longer than 32', json: withFields({ appid: 'w'.repeat(33) }), field: 'appid' },
    { name: 'mchid is a number', json: withFields({ mchid: 1230000109 }), field: 'mchid' },
    { name: 'out_trade_no with a space', json: withFields({ out_trade_no: 'T 1' }), field: 'out_trade_no' },
    { name: 'out_trade_no longer than 32', json: withFields({ out_trade_no: 'T'.repeat(33) }), field: 'out_trade_no' },
    { name: 'transaction_id with markup', json: withFields({ transaction_id: '<1>' }), field: 'transaction_id' },
    { name: 'success_time in v2 format', json: withFields({ success_time: '20180608103456' }), field: 'success_time' },
    {
      name: 'success_time without offset',
      json: withFields({ success_time: '2018-06-08T10:34:56' }),
      field: 'success_time',
    },
    { name: 'amount.currency lower case', json: withFields({}, { currency: 'cny' }), field: 'amount.currency' },
    {
      name: 'amount.payer_currency too long',
      json: withFields({}, { payer_currency: 'CNYY' }),
      field: 'amount.payer_currency',
    },
    { name: 'amount is an array', json: withFields({ amount: [100] }), field: 'amount' },
    { name: 'payer is a string', json: withFields({ payer: 'oUpF8uMuAJO' }), field: 'payer' },
    { name: 'payer.openid is a number', json: withFields({ payer: { openid: 1 } }), field: 'payer.openid' },
    { name: 'trade_type lower case', json: withFields({ trade_type: 'jsapi' }), field: 'trade_type' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseV3Transaction(c.json);
      assert.equal(codeOf(r), 'INVALID_FIELD');
      assert.ok(!r.ok && r.error.message.includes(`${c.field} must be`), r.ok ? '' : r.error.message);
    });
  }
  test('not JSON: INVALID_JSON', () => assert.equal(codeOf(parseV3Transaction('{"appid":')), 'INVALID_JSON'));
});
