// Reading a decrypted v2 refund notification (src/notify/v2-refund/refund-notice.ts): which fields
// are required, which shapes are accepted, and what is refused rather than guessed at.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decryptRefundReqInfo } from '../../src/notify/v2-refund/decrypt-req-info';
import type { RefundErrorCode } from '../../src/notify/v2-refund/refund-error';
import { parseRefundNotice, type RefundNotice, type RefundNoticeParse } from '../../src/notify/v2-refund/refund-notice';
import { parseRefundSuccessTime } from '../../src/notify/v2-refund/success-time';

interface RefundVector {
  readonly api_key: string;
  readonly req_info: string;
  readonly plaintext: string;
}

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-refund-req-info.json'), 'utf8'),
) as RefundVector;

/**
 * The fields of a flat `<root>` of CDATA leaves, the only shape req_info has. A test reader: the
 * production caller parses the XML with its own parser and hands fields to parseRefundNotice.
 */
function rootFields(xml: string): Record<string, string> {
  const body = /^\s*<root>([\s\S]*)<\/root>\s*$/.exec(xml);
  assert.ok(body, 'a <root> document');
  const fields: Record<string, string> = {};
  const leaf = /<([a-z_0-9]+)><!\[CDATA\[([\s\S]*?)\]\]><\/\1>/g;
  let rest = body[1] ?? '';
  for (let m = leaf.exec(rest); m; m = leaf.exec(rest)) fields[m[1] ?? ''] = m[2] ?? '';
  rest = rest.replace(leaf, '');
  assert.equal(rest.trim(), '', 'nothing but CDATA leaves');
  return fields;
}

const VECTOR_FIELDS: Readonly<Record<string, string>> = Object.freeze(rootFields(vector.plaintext));

function withFields(changes: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = { ...VECTOR_FIELDS };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function codeOf(r: RefundNoticeParse): RefundErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

const VECTOR_NOTICE: RefundNotice = {
  outTradeNo: '4893e76d8c8b434cb64e9cd536338e33',
  outRefundNo: '50fd012ed1b311e7af7800163e32c503',
  refundId: '50000404922017112502468056157',
  transactionId: '4200000015201711256947025404',
  totalFee: 6,
  settlementTotalFee: 6,
  refundFee: 6,
  settlementRefundFee: 6,
  refundStatus: 'SUCCESS',
  successTime: new Date('2017-11-25T07:36:17.000Z'),
  refundRecvAccout: '支付用户零钱',
  refundAccount: 'REFUND_SOURCE_RECHARGE_FUNDS',
  refundRequestSource: 'API',
};

describe('public vector: the decrypted req_info shared by open-source WeChat Pay SDKs', () => {
  const cases: ReadonlyArray<{ name: string; fields: () => Record<string, string>; expected: RefundNotice }> = [
    { name: 'the vector plaintext', fields: () => ({ ...VECTOR_FIELDS }), expected: VECTOR_NOTICE },
    {
      name: 'decrypted from req_info with the API key, then read',
      fields: () => {
        const r = decryptRefundReqInfo(vector.req_info, vector.api_key);
        assert.ok(r.ok, r.ok ? '' : r.error.message);
        return rootFields(r.xml);
      },
      expected: VECTOR_NOTICE,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundNotice(c.fields());
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.notice, c.expected);
    });
  }
});

describe('amounts (total_fee, refund_fee, settlement_*) are canonical integers in fen', () => {
  const values: ReadonlyArray<{ value: string; accepted: boolean }> = [
    { value: '6', accepted: true },
    { value: '0', accepted: true },
    { value: '06', accepted: false }, // leading zero
    { value: '-6', accepted: false },
    { value: '+6', accepted: false },
    { value: '6.0', accepted: false },
    { value: ' 6', accepted: false },
    { value: '6 ', accepted: false },
    { value: '6e0', accepted: false },
    { value: '0x6', accepted: false },
    { value: '６', accepted: false }, // U+FF16 FULLWIDTH DIGIT SIX
    { value: '9999999999999999', accepted: false }, // 16 digits
  ];
  const fields = ['total_fee', 'refund_fee', 'settlement_total_fee', 'settlement_refund_fee'] as const;
  const cases = fields.flatMap((field) =>
    values.map((v) => ({
      name: `${field}=${JSON.stringify(v.value)} ${v.accepted ? 'accepted' : 'rejected'}`,
      field,
      // refund_fee may not exceed total_fee: raise total_fee so that rule does not interfere.
      fields: withFields({ [field]: v.value, ...(field === 'total_fee' ? { refund_fee: '0' } : {}) }),
      ...v,
    })),
  );
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundNotice(c.fields);
      if (c.accepted) {
        assert.ok(r.ok, r.ok ? '' : r.error.message);
      } else {
        assert.equal(codeOf(r), 'INVALID_FIELD');
        assert.ok(!r.ok && r.error.message.startsWith(c.field), 'the message names the field');
      }
    });
  }
});

describe('refund_fee may not exceed total_fee', () => {
  const cases: ReadonlyArray<{ name: string; total: string; refund: string; expected: RefundErrorCode | 'ok' }> = [
    { name: 'full refund', total: '6', refund: '6', expected: 'ok' },
    { name: 'partial refund', total: '6', refund: '1', expected: 'ok' },
    { name: 'more than paid', total: '6', refund: '7', expected: 'INVALID_FIELD' },
    { name: 'compared as numbers, not strings ("10" > "9")', total: '10', refund: '9', expected: 'ok' },
  ];
  for (const c of cases)
    test(c.name, () =>
      assert.equal(codeOf(parseRefundNotice(withFields({ total_fee: c.total, refund_fee: c.refund }))), c.expected),
    );
});

describe('optional settlement amounts and success_time may be absent; empty is absent', () => {
  const cases: ReadonlyArray<{
    name: string;
    changes: Record<string, string | undefined>;
    absent: ReadonlyArray<keyof RefundNotice>;
  }> = [
    {
      name: 'no settlement_refund_fee',
      changes: { settlement_refund_fee: undefined },
      absent: ['settlementRefundFee'],
    },
    { name: 'no settlement_total_fee', changes: { settlement_total_fee: undefined }, absent: ['settlementTotalFee'] },
    { name: 'settlement_refund_fee=""', changes: { settlement_refund_fee: '' }, absent: ['settlementRefundFee'] },
    { name: 'no success_time', changes: { success_time: undefined }, absent: ['successTime'] },
    { name: 'success_time=""', changes: { success_time: '' }, absent: ['successTime'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundNotice(withFields(c.changes));
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      for (const k of c.absent) assert.equal(k in r.notice, false, `${k} is absent`);
    });
  }
});

describe('refund_status: SUCCESS, CHANGE or REFUNDCLOSE', () => {
  const cases: ReadonlyArray<{ value: string; expected: RefundErrorCode | 'ok' }> = [
    { value: 'SUCCESS', expected: 'ok' },
    { value: 'CHANGE', expected: 'ok' },
    { value: 'REFUNDCLOSE', expected: 'ok' },
    { value: 'success', expected: 'INVALID_FIELD' },
    { value: 'CLOSED', expected: 'INVALID_FIELD' }, // the v3 spelling
    { value: 'PROCESSING', expected: 'INVALID_FIELD' },
    { value: ' SUCCESS', expected: 'INVALID_FIELD' },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.value)} -> ${c.expected}`, () => {
      const r = parseRefundNotice(withFields({ refund_status: c.value }));
      assert.equal(codeOf(r), c.expected);
      if (r.ok) assert.equal(r.notice.refundStatus, c.value);
    });
  }
});

describe('success_time: yyyy-MM-dd HH:mm:ss in China Standard Time (UTC+8)', () => {
  const cases: ReadonlyArray<{ value: string; expected: string | undefined }> = [
    { value: '2017-11-25 15:36:17', expected: '2017-11-25T07:36:17.000Z' },
    { value: '2017-01-01 07:59:59', expected: '2016-12-31T23:59:59.000Z' }, // the UTC date is the day before
    { value: '2016-02-29 00:00:00', expected: '2016-02-28T16:00:00.000Z' }, // leap day
    { value: '2017-02-29 00:00:00', expected: undefined }, // not a leap year
    { value: '2017-11-31 00:00:00', expected: undefined },
    { value: '2017-11-25 24:00:00', expected: undefined },
    { value: '2017-11-25 15:60:00', expected: undefined },
    { value: '2017-11-25T15:36:17', expected: undefined }, // the v3 separator
    { value: '2017-11-25 15:36:17+08:00', expected: undefined },
    { value: '20171125153617', expected: undefined }, // time_end's format, not this one
    { value: '2017-11-25  15:36:17', expected: undefined },
    { value: '2017-1-25 15:36:17', expected: undefined },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.value)} -> ${c.expected ?? 'rejected'}`, () => {
      assert.equal(parseRefundSuccessTime(c.value)?.toISOString(), c.expected);
      const r = parseRefundNotice(withFields({ success_time: c.value }));
      if (c.expected === undefined) {
        assert.equal(codeOf(r), 'INVALID_FIELD');
        assert.ok(!r.ok && r.error.message.startsWith('success_time'));
      } else {
        assert.ok(r.ok, r.ok ? '' : r.error.message);
        assert.equal(r.notice.successTime?.toISOString(), c.expected);
      }
    });
  }
});

describe('required fields: absent or empty is MISSING_FIELD, naming each', () => {
  const required = [
    'out_trade_no',
    'out_refund_no',
    'refund_id',
    'transaction_id',
    'total_fee',
    'refund_fee',
    'refund_status',
    'refund_recv_accout',
    'refund_account',
    'refund_request_source',
  ];
  const cases = required
    .flatMap((name) => [
      { name: `${name} absent`, fields: withFields({ [name]: undefined }), missing: [name] },
      { name: `${name} empty`, fields: withFields({ [name]: '' }), missing: [name] },
    ])
    .concat([{ name: 'an empty record', fields: {}, missing: required }]);
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundNotice(c.fields);
      assert.equal(codeOf(r), 'MISSING_FIELD');
      for (const n of c.missing) assert.ok(!r.ok && r.error.message.includes(n), `names ${n}`);
    });
  }
});

describe('identifier and code shapes: INVALID_FIELD, naming the field', () => {
  const cases: ReadonlyArray<{ field: string; value: string; accepted: boolean }> = [
    { field: 'out_trade_no', value: 'a'.repeat(32), accepted: true },
    { field: 'out_trade_no', value: 'a'.repeat(33), accepted: false },
    { field: 'out_trade_no', value: 'T-1|2*3@4_5', accepted: true },
    { field: 'out_trade_no', value: 'T 1', accepted: false },
    { field: 'out_refund_no', value: 'r'.repeat(64), accepted: true },
    { field: 'out_refund_no', value: 'r'.repeat(65), accepted: false },
    { field: 'out_refund_no', value: 'R/1', accepted: false },
    { field: 'refund_id', value: '1'.repeat(33), accepted: false },
    { field: 'refund_id', value: '5000<04', accepted: false },
    { field: 'transaction_id', value: '4200 0015', accepted: false },
    { field: 'refund_account', value: 'REFUND_SOURCE_UNSETTLED_FUNDS', accepted: true },
    { field: 'refund_account', value: 'refund source', accepted: false },
    { field: 'refund_request_source', value: 'VENDOR_PLATFORM', accepted: true },
    { field: 'refund_request_source', value: 'api', accepted: false },
    { field: 'refund_recv_accout', value: '招商银行信用卡0403', accepted: true },
  ];
  for (const c of cases) {
    test(`${c.field}=${JSON.stringify(c.value)} ${c.accepted ? 'accepted' : 'rejected'}`, () => {
      const r = parseRefundNotice(withFields({ [c.field]: c.value }));
      if (c.accepted) {
        assert.ok(r.ok, r.ok ? '' : r.error.message);
      } else {
        assert.equal(codeOf(r), 'INVALID_FIELD');
        assert.ok(!r.ok && r.error.message.startsWith(c.field), r.ok ? '' : r.error.message);
      }
    });
  }
});
