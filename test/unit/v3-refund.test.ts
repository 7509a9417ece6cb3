// The decrypted resource of a refund notification, REFUND.SUCCESS / REFUND.ABNORMAL /
// REFUND.CLOSED (src/notify/v3/refund.ts): fields named as in WeChat Pay's APIv3 refund
// notification; amounts are JSON numbers that must be safe non-negative integers in fen.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V3Parse, V3ParseErrorCode } from '../../src/notify/v3/json-fields';
import { parseV3Refund, type V3Refund } from '../../src/notify/v3/refund';

/** Shaped like the resource example in WeChat Pay's APIv3 refund-notification documentation. */
const DOC_EXAMPLE = {
  mchid: '1900000100',
  transaction_id: '1008450740201411110005820873',
  out_trade_no: '20150806125346',
  refund_id: '50200207182018070300011301001',
  out_refund_no: '7752501201407033233368018',
  refund_status: 'SUCCESS',
  success_time: '2018-06-08T10:34:56+08:00',
  user_received_account: '招商银行信用卡0403',
  amount: { total: 999, refund: 999, payer_total: 999, payer_refund: 999 },
} as const;

const DOC_EXPECTED: V3Refund = {
  mchid: '1900000100',
  outTradeNo: '20150806125346',
  transactionId: '1008450740201411110005820873',
  outRefundNo: '7752501201407033233368018',
  refundId: '50200207182018070300011301001',
  refundStatus: 'SUCCESS',
  successTime: new Date('2018-06-08T02:34:56.000Z'),
  userReceivedAccount: '招商银行信用卡0403',
  amount: { total: 999, refund: 999, payerTotal: 999, payerRefund: 999 },
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

describe('documented example: a REFUND.SUCCESS resource', () => {
  test('the documented resource, with its event type', () => {
    const r = parseV3Refund(JSON.stringify(DOC_EXAMPLE), 'REFUND.SUCCESS');
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(r.value, DOC_EXPECTED);
  });
  test('the same without an event type to check against', () => {
    const r = parseV3Refund(JSON.stringify(DOC_EXAMPLE));
    assert.ok(r.ok);
    assert.deepEqual(r.value, DOC_EXPECTED);
  });
});

describe('refund_status and event_type must agree; success_time is required only for SUCCESS', () => {
  const cases: ReadonlyArray<{ name: string; json: string; eventType?: string; expected: V3ParseErrorCode | 'ok' }> = [
    { name: 'SUCCESS under REFUND.SUCCESS', json: withFields({}), eventType: 'REFUND.SUCCESS', expected: 'ok' },
    {
      name: 'ABNORMAL under REFUND.ABNORMAL, no success_time',
      json: withFields({ refund_status: 'ABNORMAL', success_time: undefined }),
      eventType: 'REFUND.ABNORMAL',
      expected: 'ok',
    },
    {
      name: 'CLOSED under REFUND.CLOSED, no success_time',
      json: withFields({ refund_status: 'CLOSED', success_time: undefined }),
      eventType: 'REFUND.CLOSED',
      expected: 'ok',
    },
    {
      name: 'SUCCESS without success_time',
      json: withFields({ success_time: undefined }),
      eventType: 'REFUND.SUCCESS',
      expected: 'INVALID_FIELD',
    },
    {
      name: 'SUCCESS under REFUND.CLOSED',
      json: withFields({}),
      eventType: 'REFUND.CLOSED',
      expected: 'INVALID_FIELD',
    },
    {
      name: 'CLOSED under REFUND.SUCCESS',
      json: withFields({ refund_status: 'CLOSED' }),
      eventType: 'REFUND.SUCCESS',
      expected: 'INVALID_FIELD',
    },
    {
      name: 'SUCCESS under TRANSACTION.SUCCESS',
      json: withFields({}),
      eventType: 'TRANSACTION.SUCCESS',
      expected: 'INVALID_FIELD',
    },
    { name: 'PROCESSING (not notified)', json: withFields({ refund_status: 'PROCESSING' }), expected: 'INVALID_FIELD' },
    {
      name: 'REFUNDCLOSE (the v2 spelling)',
      json: withFields({ refund_status: 'REFUNDCLOSE' }),
      expected: 'INVALID_FIELD',
    },
    { name: 'lower case', json: withFields({ refund_status: 'success' }), expected: 'INVALID_FIELD' },
  ];
  for (const c of cases) {
    test(`${c.name} -> ${c.expected}`, () => {
      const r = parseV3Refund(c.json, c.eventType);
      assert.equal(codeOf(r), c.expected, r.ok ? '' : r.error.message);
    });
  }
  test('a mismatch says which event type was expected', () => {
    const r = parseV3Refund(withFields({ refund_status: 'ABNORMAL', success_time: undefined }), 'REFUND.SUCCESS');
    assert.ok(!r.ok && r.error.message.includes('expected REFUND.ABNORMAL'), r.ok ? '' : r.error.message);
  });
});

describe('amounts are JSON numbers, safe non-negative integers', () => {
  const values: ReadonlyArray<{ name: string; value: unknown; accepted: boolean }> = [
    { name: '0', value: 0, accepted: true },
    { name: '-1', value: -1, accepted: false },
    { name: '9.5', value: 9.5, accepted: false },
    { name: '"999" (a string)', value: '999', accepted: false },
    { name: '2^53', value: 2 ** 53, accepted: false },
  ];
  const cases = (['total', 'refund', 'payer_total', 'payer_refund'] as const).flatMap((field) =>
    values.map((v) => ({ ...v, field })),
  );
  for (const c of cases) {
    test(`amount.${c.field}=${c.name} ${c.accepted ? 'accepted' : 'rejected'}`, () => {
      // Zero everything so that refund <= total holds whichever field is set.
      const r = parseV3Refund(
        withFields({}, { total: 0, refund: 0, payer_total: 0, payer_refund: 0, [c.field]: c.value }),
      );
      if (c.accepted) {
        assert.ok(r.ok, r.ok ? '' : r.error.message);
      } else {
        assert.equal(codeOf(r), 'INVALID_FIELD');
        assert.ok(!r.ok && r.error.message.includes(`amount.${c.field} must be`), r.ok ? '' : r.error.message);
      }
    });
  }
});

describe('-0 in the JSON text (JSON.stringify would write it as 0)', () => {
  test('amount.refund=-0 is refused', () => {
    assert.equal(codeOf(parseV3Refund(withFields({}).replace('"refund":999', '"refund":-0'))), 'INVALID_FIELD');
  });
});

describe('a refund may not exceed what was paid', () => {
  const cases: ReadonlyArray<{ name: string; amount: Json; expected: V3ParseErrorCode | 'ok' }> = [
    { name: 'partial refund', amount: { refund: 500, payer_refund: 500 }, expected: 'ok' },
    { name: 'coupon: payer_refund below refund', amount: { payer_total: 899, payer_refund: 899 }, expected: 'ok' },
    { name: 'refund above total', amount: { refund: 1000 }, expected: 'INVALID_FIELD' },
    { name: 'payer_refund above payer_total', amount: { payer_total: 500 }, expected: 'INVALID_FIELD' },
  ];
  for (const c of cases)
    test(`${c.name} -> ${c.expected}`, () => assert.equal(codeOf(parseV3Refund(withFields({}, c.amount))), c.expected));
});

describe('required fields: absent or null is MISSING_FIELD, naming it', () => {
  const top = ['mchid', 'out_trade_no', 'transaction_id', 'out_refund_no', 'refund_id', 'refund_status', 'amount'];
  const amount = ['total', 'refund', 'payer_total', 'payer_refund'];
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
      const r = parseV3Refund(c.json);
      assert.equal(codeOf(r), 'MISSING_FIELD');
      assert.ok(!r.ok && r.error.message.endsWith(`missing required field ${c.field}`), r.ok ? '' : r.error.message);
    });
  }
  test('user_received_account may be absent', () => {
    const r = parseV3Refund(withFields({ user_received_account: undefined }));
    assert.ok(r.ok && !('userReceivedAccount' in r.value));
  });
});

describe('field shapes: INVALID_FIELD, naming the field', () => {
  const cases: ReadonlyArray<{ name: string; json: string; field: string }> = [
    {
      name: 'out_refund_no longer than 64',
      json: withFields({ out_refund_no: 'R'.repeat(65) }),
      field: 'out_refund_no',
    },
    { name: 'out_refund_no with a slash', json: withFields({ out_refund_no: 'R/1' }), field: 'out_refund_no' },
    { name: 'refund_id is a number', json: withFields({ refund_id: 50200207182018 }), field: 'refund_id' },
    { name: 'out_trade_no longer than 32', json: withFields({ out_trade_no: 'T'.repeat(33) }), field: 'out_trade_no' },
    {
      name: 'success_time impossible',
      json: withFields({ success_time: '2018-06-31T10:34:56+08:00' }),
      field: 'success_time',
    },
    {
      name: 'success_time in v2 format',
      json: withFields({ success_time: '2018-06-08 10:34:56' }),
      field: 'success_time',
    },
    {
      name: 'user_received_account is a number',
      json: withFields({ user_received_account: 403 }),
      field: 'user_received_account',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseV3Refund(c.json);
      assert.equal(codeOf(r), 'INVALID_FIELD');
      assert.ok(!r.ok && r.error.message.includes(`${c.field} must be`), r.ok ? '' : r.error.message);
    });
  }
  test('not JSON: INVALID_JSON', () => assert.equal(codeOf(parseV3Refund('')), 'INVALID_JSON'));
});
