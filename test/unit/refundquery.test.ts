// The v2 refundquery call (src/reconcile/refundquery-*.ts): the signed request, what a reply says
// about one out_refund_no, and whether it confirms a refund notification (confirm_refunds_with_query).
// A reply is believed only when signed like an orderquery reply must be. Fixtures are signed by
// harness/ (signFields), never by src/notify/sign.ts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { merchantDirectory, type Merchant } from '../../src/notify/merchant';
import type { RefundChange } from '../../src/notify/refund-decide';
import { readRefundNotification } from '../../src/notify/v2-refund/read-refund-notification';
import { HttpRefundQueryClient } from '../../src/reconcile/refundquery-client';
import {
  confirmRefund,
  confirmsRefund,
  interpretRefundQueryReply,
  REFUND_CONFIRMATION_UNAVAILABLE,
  REFUND_NOT_CONFIRMED,
  type RefundQueryVerdict,
} from '../../src/reconcile/refundquery-reply';
import { buildRefundQuery, refundQueryTargetOf, type RefundQueryTarget } from '../../src/reconcile/refundquery-request';
import { toRequestXml } from '../../src/reconcile/request-xml';
import { DEMO } from '../../harness/sign-notification';
import { v2Signature } from '../../harness/v2-signature';
import { toReplyXml, type StandInSignType } from '../../harness/wechat-orderquery-stand-in';

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-refund-req-info.json'), 'utf8'),
) as { readonly api_key: string; readonly req_info: string };

const NOW = new Date('2026-11-28T04:10:00.000Z');
const NONCE = 'C380BEC2BFD727A4B6845133519F3AD6';
const OTHER_KEY = 'wrongwrongwrongwrongwrongwrong00';
const OLD_KEY = 'OldKeyOldKeyOldKeyOldKeyOldKey00';

const BOTH: Merchant = {
  mchId: DEMO.mchId,
  appids: [DEMO.appid],
  apiKey: DEMO.key,
  signTypes: ['MD5', 'HMAC-SHA256'],
  confirmRefundsWithQuery: true,
};
const MD5_ONLY: Merchant = { ...BOTH, signTypes: ['MD5'] };
const ROTATING: Merchant = {
  ...BOTH,
  previousApiKey: { key: OLD_KEY, validUntil: new Date('2026-11-28T23:59:59.999Z') },
};
const PROVIDER: Merchant = {
  mchId: '1230000109',
  appids: ['wx8888888888888888'],
  apiKey: 'Provider0Provider1Provider2Provi',
  signTypes: ['MD5', 'HMAC-SHA256'],
  subMchIds: ['1900000109'],
};

const TARGET: RefundQueryTarget = {
  mchId: DEMO.mchId,
  appid: DEMO.appid,
  outRefundNo: 'refund-1001',
  outTradeNo: 'order-1001',
};
const SUB_TARGET: RefundQueryTarget = {
  mchId: '1900000109',
  appid: 'wx8888888888888888',
  outRefundNo: 'refund-2002',
  outTradeNo: 'order-2002',
};

/** The refund notification TARGET's genuine reply confirms. */
const CHANGE: RefundChange = {
  mchId: DEMO.mchId,
  appid: DEMO.appid,
  outTradeNo: 'order-1001',
  transactionId: '4200000000002104083200000488',
  outRefundNo: 'refund-1001',
  refundId: '50000000382019052709732678859',
  totalFee: 100,
  refundFee: 30,
  state: 'SUCCESS',
  reportedStatus: 'SUCCESS',
  successTime: new Date('2026-11-28T02:00:00Z'),
};

describe('buildRefundQuery: by out_refund_no, signed with the merchant key by the configured algorithm', () => {
  const cases: ReadonlyArray<{
    name: string;
    target: RefundQueryTarget;
    merchant: Merchant;
    signType: StandInSignType;
    key: string;
    extra?: Record<string, string>;
  }> = [
    {
      name: 'a merchant allowing both: HMAC-SHA256',
      target: TARGET,
      merchant: BOTH,
      signType: 'HMAC-SHA256',
      key: DEMO.key,
    },
    { name: 'an MD5-only merchant: MD5', target: TARGET, merchant: MD5_ONLY, signType: 'MD5', key: DEMO.key },
    {
      name: 'during a key rotation: the current key only',
      target: TARGET,
      merchant: ROTATING,
      signType: 'HMAC-SHA256',
      key: DEMO.key,
    },
    {
      name: "a sub-merchant's refund: the provider's mch_id and key, and sub_mch_id",
      target: SUB_TARGET,
      merchant: PROVIDER,
      signType: 'HMAC-SHA256',
      key: PROVIDER.apiKey,
      extra: { sub_mch_id: '1900000109' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const request = buildRefundQuery(c.target, c.merchant, NONCE);
      assert.equal(request.signType, c.signType);
      const { sign, ...unsigned } = request.fields;
      // out_trade_no is checked in the reply, not sent: out_refund_no alone names the refund.
      assert.deepEqual(unsigned, {
        appid: c.target.appid,
        mch_id: c.merchant.mchId,
        nonce_str: NONCE,
        out_refund_no: c.target.outRefundNo,
        sign_type: c.signType,
        ...c.extra,
      });
      assert.equal(sign, v2Signature(unsigned, c.key, c.signType));
      assert.equal(request.xml, toRequestXml(request.fields));
    });
  }
  test('a refund of a merchant the key does not serve is a programming error', () => {
    assert.throws(() => buildRefundQuery(SUB_TARGET, BOTH, NONCE), /does not serve it/);
  });
  test("refundQueryTargetOf: the notification's merchant, appid, out_refund_no and order; none for APIv3", () => {
    assert.deepEqual(refundQueryTargetOf(CHANGE), TARGET);
    assert.equal(refundQueryTargetOf({ ...CHANGE, appid: undefined }), undefined);
  });
});

/** A genuine reply about TARGET as WeChat documents it, before signing. */
function replyFields(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: DEMO.appid,
    mch_id: DEMO.mchId,
    nonce_str: 'Kj7YHQ0lKfYXtmmk',
    result_code: 'SUCCESS',
    transaction_id: CHANGE.transactionId,
    out_trade_no: CHANGE.outTradeNo,
    total_fee: '100',
    cash_fee: '100',
    fee_type: 'CNY',
    refund_count: '1',
    out_refund_no_0: CHANGE.outRefundNo,
    refund_id_0: CHANGE.refundId,
    refund_channel_0: 'ORIGINAL',
    refund_fee_0: '30',
    settlement_refund_fee_0: '30',
    refund_status_0: 'SUCCESS',
    refund_account_0: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_recv_accout_0: '支付用户零钱',
    refund_success_time_0: '2026-11-28 10:00:00',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}
/** The same refund listed second, after another refund of the order. */
const SECOND = replyFields({
  refund_count: '2',
  out_refund_no_0: 'refund-0999',
  refund_id_0: '50000000382019052709732670000',
  refund_fee_0: '10',
  refund_status_0: 'SUCCESS',
  out_refund_no_1: CHANGE.outRefundNo,
  refund_id_1: CHANGE.refundId,
  refund_fee_1: '30',
  refund_status_1: 'SUCCESS',
});
const signed = (
  fields: Record<string, string>,
  key: string = DEMO.key,
  signType: StandInSignType = 'HMAC-SHA256',
): Record<string, string> => ({ ...fields, sign: v2Signature(fields, key, signType) });
const failed = (errCode: string, description: string): Record<string, string> => ({
  return_code: 'SUCCESS',
  return_msg: 'OK',
  appid: DEMO.appid,
  mch_id: DEMO.mchId,
  nonce_str: 'Kj7YHQ0lKfYXtmmk',
  result_code: 'FAIL',
  err_code: errCode,
  err_code_des: description,
});

interface Row {
  readonly name: string;
  readonly fields: Record<string, string>;
  readonly merchant?: Merchant;
  readonly target?: RefundQueryTarget;
  readonly requested?: StandInSignType;
  readonly now?: Date;
  readonly expect: { kind: string; label?: string; state?: string; code?: string };
}

const ROWS: readonly Row[] = [
  // WeChat reports the refund: its state, whatever it is.
  {
    name: 'SUCCESS, HMAC-SHA256 as requested',
    fields: signed(replyFields()),
    expect: { kind: 'CONFIRMED', state: 'SUCCESS' },
  },
  {
    name: 'SUCCESS, MD5 as requested by an MD5-only merchant',
    merchant: MD5_ONLY,
    requested: 'MD5',
    fields: signed(replyFields(), DEMO.key, 'MD5'),
    expect: { kind: 'CONFIRMED', state: 'SUCCESS' },
  },
  {
    name: 'SUCCESS signed with the previous key inside its rotation overlap',
    merchant: ROTATING,
    fields: signed(replyFields(), OLD_KEY),
    expect: { kind: 'CONFIRMED', state: 'SUCCESS' },
  },
  {
    name: 'SUCCESS, listed after another refund of the order (out_refund_no_1)',
    fields: signed(SECOND),
    expect: { kind: 'CONFIRMED', state: 'SUCCESS' },
  },
  {
    name: 'SUCCESS without an expected out_trade_no (any order)',
    target: { ...TARGET, outTradeNo: undefined },
    fields: signed(replyFields()),
    expect: { kind: 'CONFIRMED', state: 'SUCCESS' },
  },
  {
    name: "SUCCESS for a sub-merchant's refund, signed with the provider's key",
    merchant: PROVIDER,
    target: SUB_TARGET,
    fields: signed(
      replyFields({
        mch_id: PROVIDER.mchId,
        appid: SUB_TARGET.appid,
        sub_mch_id: SUB_TARGET.mchId,
        out_trade_no: SUB_TARGET.outTradeNo,
        out_refund_no_0: SUB_TARGET.outRefundNo,
      }),
      PROVIDER.apiKey,
    ),
    expect: { kind: 'CONFIRMED', state: 'SUCCESS' },
  },
  {
    name: 'CHANGE reads as ABNORMAL',
    fields: signed(replyFields({ refund_status_0: 'CHANGE', refund_success_time_0: undefined })),
    expect: { kind: 'CONFIRMED', state: 'ABNORMAL' },
  },
  {
    name: 'REFUNDCLOSE reads as CLOSED',
    fields: signed(replyFields({ refund_status_0: 'REFUNDCLOSE', refund_success_time_0: undefined })),
    expect: { kind: 'CONFIRMED', state: 'CLOSED' },
  },
  {
    name: 'PROCESSING',
    fields: signed(replyFields({ refund_status_0: 'PROCESSING', refund_success_time_0: undefined })),
    expect: { kind: 'CONFIRMED', state: 'PROCESSING' },
  },
  // WeChat, signed, contradicts the notification.
  {
    name: 'result_code FAIL, REFUNDNOTEXIST',
    fields: signed(failed('REFUNDNOTEXIST', '退款订单查询失败')),
    expect: { kind: 'NOT_CONFIRMED', label: 'REFUNDNOTEXIST' },
  },
  {
    name: 'the refund belongs to another order',
    fields: signed(replyFields({ out_trade_no: 'order-9999' })),
    expect: { kind: 'NOT_CONFIRMED', label: 'OTHER_ORDER' },
  },
  // Nothing usable.
  {
    name: 'forged: signed with another key',
    fields: signed(replyFields(), OTHER_KEY),
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'forged: refund_fee_0 changed after signing',
    fields: { ...signed(replyFields()), refund_fee_0: '3000' },
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'forged: refund_status_0 changed after signing (PROCESSING -> SUCCESS)',
    fields: { ...signed(replyFields({ refund_status_0: 'PROCESSING' })), refund_status_0: 'SUCCESS' },
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'no sign at all',
    fields: replyFields(),
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'MISSING_SIGNATURE' },
  },
  {
    name: 'the previous key after its overlap ended',
    merchant: ROTATING,
    now: new Date('2026-11-29T00:00:00.000Z'),
    fields: signed(replyFields(), OLD_KEY),
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'signed MD5 when HMAC-SHA256 was requested (a downgrade)',
    fields: signed(replyFields(), DEMO.key, 'MD5'),
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'for another mch_id (validly signed by it)',
    fields: signed(replyFields({ mch_id: PROVIDER.mchId }), PROVIDER.apiKey),
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'UNKNOWN_MERCHANT' },
  },
  {
    name: 'names a sub-merchant the query did not',
    fields: signed(replyFields({ sub_mch_id: '1900000109' })),
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'UNKNOWN_SUB_MERCHANT' },
  },
  {
    name: 'about other refunds only (a replayed genuine reply)',
    fields: signed(replyFields({ out_refund_no_0: 'refund-0999' })),
    expect: { kind: 'NO_ANSWER', label: 'REJECTED', code: 'OUT_REFUND_NO_MISMATCH' },
  },
  {
    name: 'return_code FAIL (unsigned, as WeChat sends it)',
    fields: { return_code: 'FAIL', return_msg: '签名错误' },
    expect: { kind: 'NO_ANSWER', label: 'RETURN_FAIL' },
  },
  {
    name: 'result_code FAIL, SYSTEMERROR',
    fields: signed(failed('SYSTEMERROR', '系统错误')),
    expect: { kind: 'NO_ANSWER', label: 'RESULT_FAIL' },
  },
  {
    name: 'result_code FAIL, FREQUENCY_LIMITED',
    fields: signed(failed('FREQUENCY_LIMITED', '频率限制')),
    expect: { kind: 'NO_ANSWER', label: 'RESULT_FAIL' },
  },
  {
    name: 'result_code neither SUCCESS nor FAIL',
    fields: signed(replyFields({ result_code: 'MAYBE' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'no refund_count',
    fields: signed(replyFields({ refund_count: undefined })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'refund_count "01"',
    fields: signed(replyFields({ refund_count: '01' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'refund_count 0',
    fields: signed(replyFields({ refund_count: '0' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'the refund listed twice',
    fields: signed({ ...SECOND, out_refund_no_0: CHANGE.outRefundNo }),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'refund_fee_0 "030" (not canonical)',
    fields: signed(replyFields({ refund_fee_0: '030' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'no refund_id_0',
    fields: signed(replyFields({ refund_id_0: undefined })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'an unknown refund_status_0',
    fields: signed(replyFields({ refund_status_0: 'WEIRD' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'no transaction_id',
    fields: signed(replyFields({ transaction_id: undefined })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'total_fee "1.00"',
    fields: signed(replyFields({ total_fee: '1.00' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'no mch_id',
    fields: signed(replyFields({ mch_id: undefined })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
];

function interpret(row: Pick<Row, 'fields' | 'merchant' | 'target' | 'requested' | 'now'>): RefundQueryVerdict {
  return interpretRefundQueryReply(row.fields, {
    target: row.target ?? TARGET,
    merchant: row.merchant ?? BOTH,
    signType: row.requested ?? 'HMAC-SHA256',
    now: row.now ?? NOW,
  });
}

describe('interpretRefundQueryReply: the reply table', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const v = interpret(row);
      const got: { kind: string; label?: string; state?: string; code?: string } = { kind: v.kind };
      if (v.kind === 'CONFIRMED') got.state = v.state;
      else got.label = v.label;
      if (v.kind === 'NO_ANSWER' && v.code !== undefined) got.code = v.code;
      assert.deepEqual(got, row.expect, v.message);
      assert.ok(v.message.length > 0, 'every verdict explains itself');
      assert.ok(!v.message.includes(row.fields['sign'] ?? '\u0000'), 'no signature in messages');
    });
  }

  test("a CONFIRMED verdict carries WeChat's facts about the refund asked for", () => {
    const v = interpret({ fields: signed(SECOND) });
    assert.deepEqual(v, {
      kind: 'CONFIRMED',
      mchId: DEMO.mchId,
      outRefundNo: 'refund-1001',
      refundId: CHANGE.refundId,
      refundFee: 30,
      transactionId: CHANGE.transactionId,
      outTradeNo: 'order-1001',
      totalFee: 100,
      state: 'SUCCESS',
      reportedStatus: 'SUCCESS',
      message: 'WeChat reports refund refund-1001 as SUCCESS',
    });
  });
});

describe('confirmRefund: a SUCCESS is credited only when WeChat reports exactly it as SUCCESS', () => {
  const confirmed = interpret({ fields: signed(replyFields()) });
  const withState = (status: string): RefundQueryVerdict =>
    interpret({ fields: signed(replyFields({ refund_status_0: status, refund_success_time_0: undefined })) });
  const cases: ReadonlyArray<{
    name: string;
    verdict: RefundQueryVerdict;
    change?: Partial<RefundChange>;
    expect: 'ok' | 'NOT_CONFIRMED' | 'UNAVAILABLE';
    detail?: RegExp;
  }> = [
    { name: 'the same refund, SUCCESS', verdict: confirmed, expect: 'ok' },
    {
      name: 'another refund_fee (a notification re-cut or forged to credit more)',
      verdict: confirmed,
      change: { refundFee: 100 },
      expect: 'NOT_CONFIRMED',
      detail: /refund_fee/,
    },
    {
      name: 'another transaction_id',
      verdict: confirmed,
      change: { transactionId: '4200000000002104083200000499' },
      expect: 'NOT_CONFIRMED',
      detail: /transaction_id/,
    },
    {
      name: 'another out_refund_no',
      verdict: confirmed,
      change: { outRefundNo: 'refund-1002' },
      expect: 'NOT_CONFIRMED',
      detail: /out_refund_no/,
    },
    {
      name: 'another refund_id',
      verdict: confirmed,
      change: { refundId: '50000000382019052709732678000' },
      expect: 'NOT_CONFIRMED',
      detail: /refund_id/,
    },
    {
      name: 'another out_trade_no',
      verdict: confirmed,
      change: { outTradeNo: 'order-1002' },
      expect: 'NOT_CONFIRMED',
      detail: /out_trade_no/,
    },
    {
      name: 'another total_fee',
      verdict: confirmed,
      change: { totalFee: 1000 },
      expect: 'NOT_CONFIRMED',
      detail: /total_fee/,
    },
    {
      name: 'another merchant',
      verdict: confirmed,
      change: { mchId: '10000200' },
      expect: 'NOT_CONFIRMED',
      detail: /mch_id/,
    },
    { name: 'WeChat says CHANGE (abnormal)', verdict: withState('CHANGE'), expect: 'NOT_CONFIRMED', detail: /CHANGE/ },
    {
      name: 'WeChat says REFUNDCLOSE',
      verdict: withState('REFUNDCLOSE'),
      expect: 'NOT_CONFIRMED',
      detail: /REFUNDCLOSE/,
    },
    {
      name: 'WeChat says PROCESSING: not yet, ask again on redelivery',
      verdict: withState('PROCESSING'),
      expect: 'UNAVAILABLE',
      detail: /PROCESSING/,
    },
    {
      name: 'WeChat has no such refund',
      verdict: interpret({ fields: signed(failed('REFUNDNOTEXIST', '退款订单查询失败')) }),
      expect: 'NOT_CONFIRMED',
      detail: /REFUNDNOTEXIST/,
    },
    {
      name: 'a forged reply',
      verdict: interpret({ fields: signed(replyFields(), OTHER_KEY) }),
      expect: 'UNAVAILABLE',
      detail: /REJECTED INVALID_SIGNATURE/,
    },
    {
      name: 'no reply (transport)',
      verdict: { kind: 'NO_ANSWER', label: 'TRANSPORT_ERROR', message: 'no reply within 3000 ms' },
      expect: 'UNAVAILABLE',
      detail: /TRANSPORT_ERROR/,
    },
    {
      name: 'the notification is not a SUCCESS',
      verdict: confirmed,
      change: { state: 'ABNORMAL', reportedStatus: 'CHANGE' },
      expect: 'NOT_CONFIRMED',
      detail: /only a SUCCESS/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const change = { ...CHANGE, ...c.change };
      const r = confirmRefund(c.verdict, change);
      assert.equal(r.ok ? 'ok' : r.failure.kind, c.expect, r.ok ? '' : r.failure.detail);
      assert.equal(confirmsRefund(c.verdict, change), c.expect === 'ok');
      if (r.ok) return;
      assert.equal(
        r.failure.message,
        c.expect === 'NOT_CONFIRMED' ? REFUND_NOT_CONFIRMED : REFUND_CONFIRMATION_UNAVAILABLE,
      );
      assert.match(r.failure.detail, c.detail ?? /./);
      // Neither the message nor the detail repeats a value of the notification (decrypted content).
      for (const value of [
        change.outRefundNo,
        change.outTradeNo,
        change.transactionId,
        change.refundId,
        String(change.refundFee),
      ]) {
        assert.ok(!`${r.failure.message} ${r.failure.detail}`.includes(value), `quotes ${value}`);
      }
    });
  }

  test("an ECB re-cut of the public vector that reads (blocks 2 and 48 swapped) is not confirmed by WeChat's record", () => {
    const merchants = merchantDirectory([
      { mchId: '10000100', appids: ['wx2421b1c4370ec43b'], apiKey: vector.api_key, signTypes: ['MD5'] },
    ]);
    const blocks = Buffer.from(vector.req_info, 'base64');
    const recut = Buffer.from(blocks);
    blocks.copy(recut, 2 * 16, 48 * 16, 49 * 16);
    blocks.copy(recut, 48 * 16, 2 * 16, 3 * 16);
    const read = readRefundNotification(
      {
        return_code: 'SUCCESS',
        appid: 'wx2421b1c4370ec43b',
        mch_id: '10000100',
        nonce_str: 'TeqClE3i0mvn3DrK',
        req_info: recut.toString('base64'),
      },
      merchants,
      NOW,
    );
    assert.ok(read.ok, 'the document rule cannot see a value-for-value swap');
    if (!read.ok) return;
    // What WeChat's signed refundquery reports for the genuine refund of the vector.
    const genuine: RefundQueryVerdict = {
      kind: 'CONFIRMED',
      mchId: '10000100',
      outRefundNo: '50fd012ed1b311e7af7800163e32c503',
      refundId: '50000404922017112502468056157',
      refundFee: 6,
      transactionId: '4200000015201711256947025404',
      outTradeNo: '4893e76d8c8b434cb64e9cd536338e33',
      totalFee: 6,
      state: 'SUCCESS',
      reportedStatus: 'SUCCESS',
      message: '',
    };
    const r = confirmRefund(genuine, read.change);
    assert.deepEqual(r.ok ? 'ok' : [r.failure.kind, r.failure.detail], [
      'NOT_CONFIRMED',
      'refundquery reports a different out_refund_no, transaction_id',
    ]);
  });
});

describe('HttpRefundQueryClient: one POST to /pay/refundquery, failures are NO_ANSWER', () => {
  type FetchArgs = { url: string; init: RequestInit | undefined };
  const client = (respond: () => Response, calls: FetchArgs[] = []): HttpRefundQueryClient =>
    new HttpRefundQueryClient({
      apiBase: 'https://api.mch.weixin.qq.com',
      timeoutMs: 1_000,
      clock: () => NOW,
      nonce: () => NONCE,
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        calls.push({ url: url instanceof Request ? url.url : url.toString(), init });
        return respond();
      },
    });
  const xml = (body: string, status = 200): Response =>
    new Response(body, { status, headers: { 'content-type': 'text/xml' } });
  const cases: ReadonlyArray<{ name: string; respond: () => Response; kind: string; label?: string }> = [
    { name: 'a genuine reply', respond: () => xml(toReplyXml(signed(replyFields()))), kind: 'CONFIRMED' },
    {
      name: 'a forged reply',
      respond: () => xml(toReplyXml(signed(replyFields(), OTHER_KEY))),
      kind: 'NO_ANSWER',
      label: 'REJECTED',
    },
    { name: 'HTTP 503', respond: () => xml('busy', 503), kind: 'NO_ANSWER', label: 'TRANSPORT_ERROR' },
    {
      name: 'a repeated field',
      respond: () =>
        xml('<xml><refund_status_0>PROCESSING</refund_status_0><refund_status_0>SUCCESS</refund_status_0></xml>'),
      kind: 'NO_ANSWER',
      label: 'TRANSPORT_ERROR',
    },
    {
      name: 'a body over 64 KiB',
      respond: () => xml(`<xml><a>${'x'.repeat(70_000)}</a></xml>`),
      kind: 'NO_ANSWER',
      label: 'TRANSPORT_ERROR',
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const calls: FetchArgs[] = [];
      const answer = await client(c.respond, calls).query(TARGET, BOTH);
      assert.deepEqual(
        [answer.verdict.kind, answer.verdict.kind === 'CONFIRMED' ? undefined : answer.verdict.label],
        [c.kind, c.label],
        answer.verdict.message,
      );
      assert.equal(calls[0]?.url, 'https://api.mch.weixin.qq.com/pay/refundquery');
      assert.equal(calls[0]?.init?.method, 'POST');
      assert.equal(calls[0]?.init?.body, buildRefundQuery(TARGET, BOTH, NONCE).xml);
    });
  }
});
