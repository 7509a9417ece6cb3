// Reading a v2 payment-result notification (src/notify/payment-notice.ts): which fields are
// required, which shapes are accepted, and what is refused rather than guessed at.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NotifyCode } from '../../src/notify/outcome';
import {
  parsePaymentNotice,
  parseTimeEnd,
  type NoticeParse,
  type PaymentNotice,
} from '../../src/notify/payment-notice';
import { DOC_EXAMPLE_FIELDS } from '../fixtures/doc-example-notification';

// The documentation's example; this module does not check signatures.
const DOC_EXAMPLE = DOC_EXAMPLE_FIELDS;

/** A minimal successful notification. */
const PAID: Readonly<Record<string, string>> = Object.freeze({
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  out_trade_no: 'T100',
  result_code: 'SUCCESS',
  return_code: 'SUCCESS',
  sign: '9A0A8659F005D6984697E2CA0A9CF3B7',
  time_end: '20141030133525',
  total_fee: '100',
  transaction_id: '4200000001201410300000000001',
});

/** A minimal failed-payment notification: no transaction_id, total_fee or time_end needed. */
const FAILED: Readonly<Record<string, string>> = Object.freeze({
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  out_trade_no: 'T100',
  result_code: 'FAIL',
  return_code: 'SUCCESS',
  sign: '9A0A8659F005D6984697E2CA0A9CF3B7',
  err_code: 'NOTENOUGH',
  err_code_des: '余额不足',
});

function withFields(
  base: Readonly<Record<string, string>>,
  changes: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** ok, or the code it was refused with. */
function codeOf(r: NoticeParse): NotifyCode | 'ok' {
  if (r.ok) return 'ok';
  assert.equal(r.result.outcome, 'MALFORMED');
  return r.result.code;
}

describe('official example: the notification in WeChat Pay v2 documentation', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; expected: PaymentNotice }> = [
    {
      name: 'documented SUCCESS notification with a coupon',
      fields: { ...DOC_EXAMPLE },
      expected: {
        mchId: '10000100',
        appid: 'wx2421b1c4370ec43b',
        outTradeNo: '1409811653',
        resultCode: 'SUCCESS',
        transactionId: '1004400740201409030005092168',
        totalFee: 1,
        feeType: 'CNY',
        paidAt: new Date('2014-09-03T05:15:40.000Z'),
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parsePaymentNotice(c.fields);
      assert.ok(r.ok, r.ok ? '' : r.result.message);
      assert.deepEqual(r.notice, c.expected);
    });
  }
});

describe('amounts (total_fee, cash_fee, coupon_fee) are canonical integers in fen', () => {
  const values: ReadonlyArray<{ value: string; accepted: boolean }> = [
    { value: '1', accepted: true },
    { value: '100', accepted: true },
    { value: '0', accepted: true },
    { value: '999999999999999', accepted: true }, // 15 digits: the longest accepted
    { value: '01', accepted: false }, // leading zero
    { value: '00', accepted: false },
    { value: '-1', accepted: false },
    { value: '1.0', accepted: false },
    { value: '+1', accepted: false },
    { value: ' 1', accepted: false },
    { value: '1 ', accepted: false },
    { value: '1e2', accepted: false },
    { value: '0x10', accepted: false },
    { value: '1,000', accepted: false },
    { value: '１', accepted: false }, // U+FF11 FULLWIDTH DIGIT ONE
    { value: '9999999999999999', accepted: false }, // 16 digits
  ];
  const cases = (['total_fee', 'cash_fee', 'coupon_fee'] as const).flatMap((field) =>
    values.map((v) => ({
      name: `${field}=${JSON.stringify(v.value)} ${v.accepted ? 'accepted' : 'rejected'}`,
      field,
      ...v,
    })),
  );

  for (const c of cases) {
    test(c.name, () => {
      const r = parsePaymentNotice(withFields(PAID, { [c.field]: c.value }));
      if (c.accepted) {
        assert.ok(r.ok, r.ok ? '' : r.result.message);
        if (c.field === 'total_fee') {
          assert.equal(r.notice.resultCode, 'SUCCESS');
          assert.equal(r.notice.resultCode === 'SUCCESS' && r.notice.totalFee, Number(c.value));
        }
      } else {
        assert.equal(codeOf(r), 'INVALID_FIELD');
        assert.ok(!r.ok && r.result.message.includes(c.field), 'the message names the field');
      }
    });
  }
});

describe('optional amounts may be absent; an empty value is an absent one (empty values are not signed)', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string> }> = [
    { name: 'no cash_fee', fields: withFields(PAID, { cash_fee: undefined }) },
    { name: 'no coupon_fee', fields: withFields(PAID, { coupon_fee: undefined }) },
    { name: 'cash_fee=""', fields: withFields(PAID, { cash_fee: '' }) },
    { name: 'coupon_fee=""', fields: withFields(PAID, { coupon_fee: '' }) },
    { name: 'cash_fee and coupon_fee present', fields: withFields(PAID, { cash_fee: '90', coupon_fee: '10' }) },
  ];
  for (const c of cases) test(c.name, () => assert.equal(codeOf(parsePaymentNotice(c.fields)), 'ok'));
});

describe('return_code must be SUCCESS', () => {
  const cases: ReadonlyArray<{ name: string; returnCode: string | undefined; expected: NotifyCode | 'ok' }> = [
    { name: 'SUCCESS', returnCode: 'SUCCESS', expected: 'ok' },
    { name: 'FAIL', returnCode: 'FAIL', expected: 'RETURN_CODE_NOT_SUCCESS' },
    { name: 'success (lower case)', returnCode: 'success', expected: 'RETURN_CODE_NOT_SUCCESS' },
    { name: 'empty', returnCode: '', expected: 'RETURN_CODE_NOT_SUCCESS' },
    { name: 'absent', returnCode: undefined, expected: 'RETURN_CODE_NOT_SUCCESS' },
  ];
  for (const c of cases) {
    test(c.name, () =>
      assert.equal(codeOf(parsePaymentNotice(withFields(PAID, { return_code: c.returnCode }))), c.expected),
    );
  }
});

describe('result_code: SUCCESS is a payment, FAIL a failed payment, nothing else', () => {
  type Shape =
    { resultCode: 'SUCCESS' } | { resultCode: 'FAIL'; errCode: string; errCodeDes: string } | { refused: NotifyCode };
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; expected: Shape }> = [
    { name: 'SUCCESS -> a paid notice', fields: { ...PAID }, expected: { resultCode: 'SUCCESS' } },
    {
      name: 'FAIL -> a failed notice carrying err_code and err_code_des',
      fields: { ...FAILED },
      expected: { resultCode: 'FAIL', errCode: 'NOTENOUGH', errCodeDes: '余额不足' },
    },
    {
      name: 'FAIL without err_code -> a failed notice with an empty err_code',
      fields: withFields(FAILED, { err_code: undefined, err_code_des: undefined }),
      expected: { resultCode: 'FAIL', errCode: '', errCodeDes: '' },
    },
    {
      name: 'fail (lower case) -> INVALID_FIELD',
      fields: withFields(FAILED, { result_code: 'fail' }),
      expected: { refused: 'INVALID_FIELD' },
    },
    {
      name: 'PENDING -> INVALID_FIELD',
      fields: withFields(PAID, { result_code: 'PENDING' }),
      expected: { refused: 'INVALID_FIELD' },
    },
    {
      name: 'empty -> MISSING_FIELD',
      fields: withFields(PAID, { result_code: '' }),
      expected: { refused: 'MISSING_FIELD' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parsePaymentNotice(c.fields);
      const actual: Shape = !r.ok
        ? { refused: r.result.code }
        : r.notice.resultCode === 'FAIL'
          ? { resultCode: 'FAIL', errCode: r.notice.errCode, errCodeDes: r.notice.errCodeDes }
          : { resultCode: 'SUCCESS' };
      assert.deepEqual(actual, c.expected);
    });
  }
});

describe('required fields: MISSING_FIELD names every missing one', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; missing: readonly string[] }> = [
    {
      name: 'SUCCESS without transaction_id',
      fields: withFields(PAID, { transaction_id: undefined }),
      missing: ['transaction_id'],
    },
    { name: 'SUCCESS without time_end', fields: withFields(PAID, { time_end: undefined }), missing: ['time_end'] },
    { name: 'SUCCESS without total_fee', fields: withFields(PAID, { total_fee: undefined }), missing: ['total_fee'] },
    {
      name: 'SUCCESS without transaction_id, time_end and total_fee',
      fields: withFields(PAID, { transaction_id: undefined, time_end: undefined, total_fee: undefined }),
      missing: ['transaction_id', 'total_fee', 'time_end'],
    },
    {
      name: 'SUCCESS with an empty transaction_id',
      fields: withFields(PAID, { transaction_id: '' }),
      missing: ['transaction_id'],
    },
    { name: 'SUCCESS with an empty total_fee', fields: withFields(PAID, { total_fee: '' }), missing: ['total_fee'] },
    { name: 'without mch_id', fields: withFields(PAID, { mch_id: undefined }), missing: ['mch_id'] },
    { name: 'without appid', fields: withFields(PAID, { appid: undefined }), missing: ['appid'] },
    { name: 'without out_trade_no', fields: withFields(PAID, { out_trade_no: undefined }), missing: ['out_trade_no'] },
    { name: 'without sign', fields: withFields(PAID, { sign: undefined }), missing: ['sign'] },
    {
      name: 'FAIL without mch_id and sign',
      fields: withFields(FAILED, { mch_id: undefined, sign: undefined }),
      missing: ['mch_id', 'sign'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parsePaymentNotice(c.fields);
      assert.equal(codeOf(r), 'MISSING_FIELD');
      const message = r.ok ? '' : r.result.message;
      for (const name of c.missing) assert.ok(message.includes(name), `"${message}" names ${name}`);
    });
  }
});

describe('out_trade_no: 1 to 32 of letters, digits and _-|*@', () => {
  const cases: ReadonlyArray<{ name: string; value: string; accepted: boolean }> = [
    { name: 'digits', value: '1409811653', accepted: true },
    { name: 'one character', value: 'A', accepted: true },
    { name: '32 characters', value: 'a'.repeat(32), accepted: true },
    { name: 'the allowed symbols _-|*@', value: '_-|*@', accepted: true },
    { name: 'letters, digits and symbols mixed', value: 'Ord_2014-10|30*x@1', accepted: true },
    { name: '33 characters', value: 'a'.repeat(33), accepted: false },
    { name: 'a space inside', value: 'T 100', accepted: false },
    { name: 'a leading space', value: ' T100', accepted: false },
    { name: 'a trailing space', value: 'T100 ', accepted: false },
    { name: 'Chinese characters', value: '订单100', accepted: false },
    { name: 'a dot', value: 'T.100', accepted: false },
    { name: 'a slash', value: 'T/100', accepted: false },
    { name: 'a full-width digit', value: 'T１', accepted: false },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.accepted ? 'accepted' : 'INVALID_FIELD'}`, () => {
      const r = parsePaymentNotice(withFields(PAID, { out_trade_no: c.value }));
      assert.equal(codeOf(r), c.accepted ? 'ok' : 'INVALID_FIELD');
      if (r.ok) assert.equal(r.notice.outTradeNo, c.value);
    });
  }
});

describe('transaction_id: 1 to 32 letters or digits', () => {
  const cases: ReadonlyArray<{ name: string; value: string; accepted: boolean }> = [
    { name: '28 digits, as WeChat issues them', value: '4200000001201410300000000001', accepted: true },
    { name: '32 characters', value: '4'.repeat(32), accepted: true },
    { name: '33 characters', value: '4'.repeat(33), accepted: false },
    { name: 'a space inside', value: '4200 0001', accepted: false },
    { name: 'Chinese characters', value: '交易1', accepted: false },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.accepted ? 'accepted' : 'INVALID_FIELD'}`, () => {
      assert.equal(
        codeOf(parsePaymentNotice(withFields(PAID, { transaction_id: c.value }))),
        c.accepted ? 'ok' : 'INVALID_FIELD',
      );
    });
  }
});

describe('fee_type: three upper-case letters; absent means CNY', () => {
  const cases: ReadonlyArray<{ name: string; value: string | undefined; expected: string }> = [
    { name: 'absent -> CNY', value: undefined, expected: 'CNY' },
    { name: 'empty -> CNY', value: '', expected: 'CNY' },
    { name: 'CNY', value: 'CNY', expected: 'CNY' },
    { name: 'another currency is read as sent (the order decides)', value: 'USD', expected: 'USD' },
    { name: 'cny (lower case) -> INVALID_FIELD', value: 'cny', expected: 'INVALID_FIELD' },
    { name: 'CN -> INVALID_FIELD', value: 'CN', expected: 'INVALID_FIELD' },
    { name: 'CNYY -> INVALID_FIELD', value: 'CNYY', expected: 'INVALID_FIELD' },
    { name: '" CNY" -> INVALID_FIELD', value: ' CNY', expected: 'INVALID_FIELD' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parsePaymentNotice(withFields(PAID, { fee_type: c.value }));
      const actual = !r.ok ? r.result.code : r.notice.resultCode === 'SUCCESS' ? r.notice.feeType : 'not a paid notice';
      assert.equal(actual, c.expected);
    });
  }
});

describe('time_end: yyyyMMddHHmmss in China Standard Time (UTC+8)', () => {
  const cases: ReadonlyArray<{ name: string; value: string; expected: string | undefined }> = [
    { name: 'the documented example 20141030133525', value: '20141030133525', expected: '2014-10-30T05:35:25.000Z' },
    {
      name: 'before 08:00 falls on the previous UTC day',
      value: '20141031000000',
      expected: '2014-10-30T16:00:00.000Z',
    },
    {
      name: 'New Year in Beijing is still the old year in UTC',
      value: '20150101070000',
      expected: '2014-12-31T23:00:00.000Z',
    },
    { name: '29 February of a leap year', value: '20160229120000', expected: '2016-02-29T04:00:00.000Z' },
    { name: 'last second of a day', value: '20141030235959', expected: '2014-10-30T15:59:59.000Z' },
    { name: '31 February', value: '20140231120000', expected: undefined },
    { name: '29 February of a common year', value: '20150229120000', expected: undefined },
    { name: 'month 13', value: '20141330000000', expected: undefined },
    { name: 'month 00', value: '20140030120000', expected: undefined },
    { name: 'day 00', value: '20141000120000', expected: undefined },
    { name: 'hour 24', value: '20141030240000', expected: undefined },
    { name: 'minute 60', value: '20141030136000', expected: undefined },
    { name: 'second 60', value: '20141030133560', expected: undefined },
    { name: '13 digits', value: '2014103013352', expected: undefined },
    { name: '15 digits', value: '201410301335250', expected: undefined },
    { name: 'with separators', value: '2014-10-30 13:35:25', expected: undefined },
    { name: 'full-width digits', value: '２０１４１０３０１３３５２５', expected: undefined },
    { name: 'empty', value: '', expected: undefined },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.expected ?? 'rejected'}`, () => {
      assert.equal(parseTimeEnd(c.value)?.toISOString(), c.expected);
      // In a notification, the same value is accepted or refused the same way.
      const code = codeOf(parsePaymentNotice(withFields(PAID, { time_end: c.value })));
      if (c.expected === undefined) assert.ok(['INVALID_FIELD', 'MISSING_FIELD'].includes(code), `got ${code}`);
      else assert.equal(code, 'ok');
    });
  }
});
