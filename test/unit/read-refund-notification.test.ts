// Reading a v2 refund notification (src/notify/v2-refund/read-refund-notification.ts): the
// envelope, the merchant (and sub-merchant), req_info decrypted with the merchant's key, the
// decrypted <root> fields. The public vector first, then one row per rule.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { merchantDirectory, type Merchant } from '../../src/notify/merchant';
import { readRefundNotification } from '../../src/notify/v2-refund/read-refund-notification';
import { refundEnvelope, refundInnerFields } from '../../harness/refund-notification';

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-refund-req-info.json'), 'utf8'),
) as { readonly api_key: string; readonly req_info: string };

const NOW = new Date('2026-11-28T02:00:00Z');
const PROVIDER: Merchant = {
  mchId: '10000100',
  appids: ['wx2421b1c4370ec43b'],
  apiKey: vector.api_key,
  signTypes: ['MD5'],
  subMchIds: ['1900000109'],
};
const merchants = merchantDirectory([PROVIDER]);
const outer = (changes: Record<string, string> = {}): Record<string, string> => ({
  return_code: 'SUCCESS',
  appid: 'wx2421b1c4370ec43b',
  mch_id: '10000100',
  nonce_str: 'TeqClE3i0mvn3DrK',
  req_info: vector.req_info,
  ...changes,
});

describe('public vector: req_info shared by open-source WeChat Pay SDKs, in an envelope for a configured merchant', () => {
  test('decrypts and reads into a RefundChange', () => {
    const r = readRefundNotification(outer(), merchants, NOW);
    assert.ok(r.ok, r.ok ? '' : r.result.message);
    assert.deepEqual(r.change, {
      mchId: '10000100',
      appid: 'wx2421b1c4370ec43b',
      outTradeNo: '4893e76d8c8b434cb64e9cd536338e33',
      transactionId: '4200000015201711256947025404',
      outRefundNo: '50fd012ed1b311e7af7800163e32c503',
      refundId: '50000404922017112502468056157',
      totalFee: 6,
      refundFee: 6,
      state: 'SUCCESS',
      reportedStatus: 'SUCCESS',
      // 2017-11-25 15:36:17 China Standard Time.
      successTime: new Date('2017-11-25T07:36:17.000Z'),
    });
  });
  test('the audit fields: the envelope without req_info, and the decrypted fields', () => {
    const r = readRefundNotification(outer(), merchants, NOW);
    assert.ok(r.ok);
    assert.equal(r.fields['req_info'], undefined);
    assert.equal(r.fields['mch_id'], '10000100');
    assert.equal(r.fields['refund_recv_accout'], '支付用户零钱');
  });
});

describe('rules, one row each', () => {
  const inner = (changes: Record<string, string> = {}): Record<string, string> =>
    refundInnerFields({ outTradeNo: 'T1', outRefundNo: 'RF1', refundFee: 30 }, changes);
  const cases: ReadonlyArray<{
    name: string;
    fields: Record<string, string>;
    expected: readonly [string, string] | { mchId: string };
  }> = [
    {
      name: "a sub-merchant the provider lists: the refund is the sub-merchant's order",
      fields: refundEnvelope(inner(), vector.api_key, {
        mchId: '10000100',
        appid: 'wx2421b1c4370ec43b',
        subMchId: '1900000109',
      }),
      expected: { mchId: '1900000109' },
    },
    {
      name: 'a sub-merchant the provider does not list',
      fields: refundEnvelope(inner(), vector.api_key, {
        mchId: '10000100',
        appid: 'wx2421b1c4370ec43b',
        subMchId: '1900000999',
      }),
      expected: ['REJECTED', 'UNKNOWN_SUB_MERCHANT'],
    },
    {
      name: 'mch_id not configured',
      fields: outer({ mch_id: '19999999' }),
      expected: ['REJECTED', 'UNKNOWN_MERCHANT'],
    },
    {
      name: 'appid not configured for the merchant',
      fields: outer({ appid: 'wx1111111111111111' }),
      expected: ['REJECTED', 'UNKNOWN_MERCHANT'],
    },
    {
      name: 'encrypted with another key',
      fields: refundEnvelope(inner(), 'A'.repeat(32), { mchId: '10000100', appid: 'wx2421b1c4370ec43b' }),
      expected: ['REJECTED', 'REFUND_UNDECRYPTABLE'],
    },
    {
      name: 'req_info altered (a block dropped)',
      fields: outer({ req_info: vector.req_info.slice(24) }),
      expected: ['REJECTED', 'REFUND_UNDECRYPTABLE'],
    },
    {
      name: 'req_info not base64',
      fields: outer({ req_info: 'not base64!' }),
      expected: ['REJECTED', 'REFUND_UNDECRYPTABLE'],
    },
    {
      name: 'return_code FAIL',
      fields: outer({ return_code: 'FAIL', return_msg: 'system busy' }),
      expected: ['MALFORMED', 'RETURN_CODE_NOT_SUCCESS'],
    },
    { name: 'no req_info', fields: outer({ req_info: '' }), expected: ['MALFORMED', 'MISSING_FIELD'] },
    // After decryption every failure is one answer (test/unit/v2-refund-strict-document.test.ts).
    {
      name: 'the decrypted fields lack refund_fee',
      fields: refundEnvelope(inner({ refund_fee: '' }), vector.api_key, {
        mchId: '10000100',
        appid: 'wx2421b1c4370ec43b',
      }),
      expected: ['REJECTED', 'REFUND_UNDECRYPTABLE'],
    },
    {
      name: 'a decrypted refund_fee "030"',
      fields: refundEnvelope(inner({ refund_fee: '030' }), vector.api_key, {
        mchId: '10000100',
        appid: 'wx2421b1c4370ec43b',
      }),
      expected: ['REJECTED', 'REFUND_UNDECRYPTABLE'],
    },
    {
      name: 'a decrypted refund_status PROCESSING',
      fields: refundEnvelope(inner({ refund_status: 'PROCESSING' }), vector.api_key, {
        mchId: '10000100',
        appid: 'wx2421b1c4370ec43b',
      }),
      expected: ['REJECTED', 'REFUND_UNDECRYPTABLE'],
    },
    {
      name: 'CHANGE reads as ABNORMAL',
      fields: refundEnvelope(inner({ refund_status: 'CHANGE' }), vector.api_key, {
        mchId: '10000100',
        appid: 'wx2421b1c4370ec43b',
      }),
      expected: { mchId: '10000100' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = readRefundNotification(c.fields, merchants, NOW);
      if (Array.isArray(c.expected)) {
        assert.deepEqual(r.ok ? 'ok' : [r.result.outcome, r.result.code], c.expected, r.ok ? '' : r.result.message);
      } else {
        assert.ok(r.ok, r.ok ? '' : r.result.message);
        assert.equal(r.change.mchId, (c.expected as { mchId: string }).mchId);
      }
    });
  }
});
