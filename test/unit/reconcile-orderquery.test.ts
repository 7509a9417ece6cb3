// The v2 orderquery call (src/reconcile/orderquery-*.ts, reply-authenticity.ts): the signed
// request, and what a reply means. A reply is believed only when it is signed like a
// notification must be; anything else is REJECTED (ignored) and changes nothing.
// Fixtures are signed by harness/ (signFields, signNotification), never by src/notify/sign.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Merchant } from '../../src/notify/merchant';
import { HttpOrderQueryClient } from '../../src/reconcile/orderquery-client';
import { interpretOrderQueryReply } from '../../src/reconcile/orderquery-reply';
import { buildOrderQuery, querySignType, type OrderQueryTarget } from '../../src/reconcile/orderquery-request';
import { toRequestXml } from '../../src/reconcile/request-xml';
import { DEMO, signNotification } from '../../harness/sign-notification';
import { v2Signature } from '../../harness/v2-signature';
import { toReplyXml, type StandInSignType } from '../../harness/wechat-orderquery-stand-in';

const NOW = new Date('2026-11-27T04:10:00.000Z');
const OTHER_KEY = 'wrongwrongwrongwrongwrongwrong00';
const OLD_KEY = 'OldKeyOldKeyOldKeyOldKeyOldKey00';

/** DEMO, accepting both algorithms: queries are signed HMAC-SHA256. */
const BOTH: Merchant = { mchId: DEMO.mchId, appids: [DEMO.appid], apiKey: DEMO.key, signTypes: ['MD5', 'HMAC-SHA256'] };
const MD5_ONLY: Merchant = { ...BOTH, signTypes: ['MD5'] };
const HMAC_ONLY: Merchant = { ...BOTH, signTypes: ['HMAC-SHA256'] };
/** DEMO in the middle of a key rotation: OLD_KEY still verifies until the end of 2026-11-27. */
const ROTATING: Merchant = {
  ...BOTH,
  previousApiKey: { key: OLD_KEY, validUntil: new Date('2026-11-27T23:59:59.999Z') },
};
/** A service provider serving sub-merchant 1900000109. */
const PROVIDER: Merchant = {
  mchId: '1230000109',
  appids: ['wx8888888888888888'],
  apiKey: 'Provider0Provider1Provider2Provi',
  signTypes: ['MD5', 'HMAC-SHA256'],
  subMchIds: ['1900000109'],
};

const TARGET: OrderQueryTarget = { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo: 'order-1001' };
const SUB_TARGET: OrderQueryTarget = { mchId: '1900000109', appid: 'wx8888888888888888', outTradeNo: 'order-2002' };

describe('the fixture signer reproduces the official v2 vector (../shared/vectors/v2-sign.json)', () => {
  const fields = {
    appid: 'wxd930ea5d5a258f4f',
    mch_id: '10000100',
    device_info: '1000',
    body: 'test',
    nonce_str: 'ibuaiVcKdpRxkhJA',
  };
  test('MD5', () =>
    assert.equal(v2Signature(fields, '192006250b4c09247ec02edce69f6a2d', 'MD5'), '9A0A8659F005D6984697E2CA0A9CF3B7'));
  test('HMAC-SHA256', () =>
    assert.equal(
      v2Signature(fields, '192006250b4c09247ec02edce69f6a2d', 'HMAC-SHA256'),
      '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6',
    ));
});

describe('buildOrderQuery: the documented fields, signed with the merchant key by the configured algorithm', () => {
  const cases: ReadonlyArray<{
    name: string;
    target: OrderQueryTarget;
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
      name: 'an HMAC-only merchant: HMAC-SHA256',
      target: TARGET,
      merchant: HMAC_ONLY,
      signType: 'HMAC-SHA256',
      key: DEMO.key,
    },
    {
      name: 'during a key rotation: the current key only',
      target: TARGET,
      merchant: ROTATING,
      signType: 'HMAC-SHA256',
      key: DEMO.key,
    },
    {
      name: "a sub-merchant's order: the provider's mch_id and key, and sub_mch_id",
      target: SUB_TARGET,
      merchant: PROVIDER,
      signType: 'HMAC-SHA256',
      key: PROVIDER.apiKey,
      extra: { sub_mch_id: '1900000109' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const request = buildOrderQuery(c.target, c.merchant, 'C380BEC2BFD727A4B6845133519F3AD6');
      assert.equal(request.signType, c.signType);
      assert.equal(querySignType(c.merchant), c.signType);
      const { sign, ...unsigned } = request.fields;
      assert.deepEqual(unsigned, {
        appid: c.target.appid,
        mch_id: c.merchant.mchId,
        nonce_str: 'C380BEC2BFD727A4B6845133519F3AD6',
        out_trade_no: c.target.outTradeNo,
        sign_type: c.signType,
        ...c.extra,
      });
      assert.equal(sign, v2Signature(unsigned, c.key, c.signType));
      assert.equal(request.xml, toRequestXml(request.fields));
    });
  }
  test('an order of a merchant the key does not serve is a programming error', () => {
    assert.throws(() => buildOrderQuery(SUB_TARGET, BOTH, 'n1'), /does not serve it/);
  });
  test('a nonce that is not 1 to 32 letters or digits is a programming error', () => {
    for (const nonce of ['', 'a'.repeat(33), 'a-b'])
      assert.throws(() => buildOrderQuery(TARGET, BOTH, nonce), /nonce_str/);
  });
  test('toRequestXml escapes what XML needs escaped', () => {
    assert.equal(toRequestXml({ a: 'x&y<z>' }), '<xml><a>x&amp;y&lt;z&gt;</a></xml>');
  });
});

/** A genuine reply for TARGET as WeChat writes it, before signing. */
function replyFields(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: DEMO.appid,
    mch_id: DEMO.mchId,
    nonce_str: 'Kj7YHQ0lKfYXtmmk',
    result_code: 'SUCCESS',
    out_trade_no: TARGET.outTradeNo,
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
    is_subscribe: 'Y',
    trade_type: 'JSAPI',
    bank_type: 'CMC',
    total_fee: '100',
    fee_type: 'CNY',
    cash_fee: '100',
    transaction_id: '4200000000002104083200000488',
    time_end: '20261127120000',
    attach: '支付测试 & <测试>',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}
const signed = (
  fields: Record<string, string>,
  key: string = DEMO.key,
  signType: StandInSignType = 'HMAC-SHA256',
): Record<string, string> => ({ ...fields, sign: v2Signature(fields, key, signType) });
const notPaid = (state: string): Record<string, string> =>
  replyFields({
    trade_state: state,
    openid: undefined,
    is_subscribe: undefined,
    trade_type: undefined,
    bank_type: undefined,
    total_fee: undefined,
    fee_type: undefined,
    cash_fee: undefined,
    transaction_id: undefined,
    time_end: undefined,
    attach: undefined,
  });
/** result_code FAIL: WeChat sends only the common fields and the error. */
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
  readonly target?: OrderQueryTarget;
  /** The sign_type the request named; HMAC-SHA256 unless said. */
  readonly requested?: StandInSignType;
  readonly now?: Date;
  readonly expect: { kind: string; label: string; code?: string };
}

const ROWS: readonly Row[] = [
  // Payments: return_code, result_code and trade_state all SUCCESS, authentic.
  {
    name: 'SUCCESS, HMAC-SHA256 as requested, no sign_type in the reply',
    fields: signed(replyFields()),
    expect: { kind: 'PAID', label: 'SUCCESS' },
  },
  {
    name: 'SUCCESS, MD5 as requested by an MD5-only merchant',
    merchant: MD5_ONLY,
    requested: 'MD5',
    fields: signed(replyFields(), DEMO.key, 'MD5'),
    expect: { kind: 'PAID', label: 'SUCCESS' },
  },
  {
    name: 'SUCCESS, the reply repeats sign_type HMAC-SHA256 (and signs it)',
    fields: signNotification(replyFields(), DEMO.key, 'HMAC-SHA256'),
    expect: { kind: 'PAID', label: 'SUCCESS' },
  },
  {
    name: 'SUCCESS, lower-case hex signature',
    fields: (() => {
      const f = signed(replyFields());
      return { ...f, sign: (f['sign'] ?? '').toLowerCase() };
    })(),
    expect: { kind: 'PAID', label: 'SUCCESS' },
  },
  {
    name: 'SUCCESS signed with the previous key inside its rotation overlap',
    merchant: ROTATING,
    fields: signed(replyFields(), OLD_KEY),
    expect: { kind: 'PAID', label: 'SUCCESS' },
  },
  {
    name: "SUCCESS for a sub-merchant's order, signed with the provider's key",
    merchant: PROVIDER,
    target: SUB_TARGET,
    fields: signed(
      replyFields({
        mch_id: PROVIDER.mchId,
        appid: SUB_TARGET.appid,
        sub_mch_id: SUB_TARGET.mchId,
        out_trade_no: SUB_TARGET.outTradeNo,
      }),
      PROVIDER.apiKey,
    ),
    expect: { kind: 'PAID', label: 'SUCCESS' },
  },
  // Forged or misdirected: ignored.
  {
    name: 'forged: signed with another key',
    fields: signed(replyFields(), OTHER_KEY),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'forged: total_fee changed after signing',
    fields: { ...signed(replyFields()), total_fee: '1' },
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'forged: trade_state changed after signing (NOTPAY -> SUCCESS)',
    fields: { ...signed(replyFields({ trade_state: 'NOTPAY' })), trade_state: 'SUCCESS' },
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'forged CLOSED cannot stop reconciliation either',
    fields: signed(notPaid('CLOSED'), OTHER_KEY),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'no sign at all',
    fields: replyFields(),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'MISSING_SIGNATURE' },
  },
  {
    name: 'the previous key after its overlap ended',
    merchant: ROTATING,
    now: new Date('2026-11-28T00:00:00.000Z'),
    fields: signed(replyFields(), OLD_KEY),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'signed MD5 when HMAC-SHA256 was requested (a downgrade)',
    fields: signed(replyFields(), DEMO.key, 'MD5'),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'INVALID_SIGNATURE' },
  },
  {
    name: 'declares MD5 when HMAC-SHA256 was requested',
    fields: signed({ ...replyFields(), sign_type: 'MD5' }, DEMO.key, 'MD5'),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'SIGN_TYPE_NOT_ALLOWED' },
  },
  {
    name: 'declares an unknown sign_type',
    fields: signed({ ...replyFields(), sign_type: 'SHA1' }),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'UNKNOWN_SIGN_TYPE' },
  },
  {
    name: 'for another mch_id (validly signed by it)',
    merchant: BOTH,
    fields: signed(replyFields({ mch_id: PROVIDER.mchId }), PROVIDER.apiKey),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'UNKNOWN_MERCHANT' },
  },
  {
    name: 'for another appid',
    fields: signed(replyFields({ appid: 'wx1111111111111111' })),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'UNKNOWN_MERCHANT' },
  },
  {
    name: 'about another order (a replayed genuine reply)',
    fields: signed(replyFields({ out_trade_no: 'order-9999' })),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'OUT_TRADE_NO_MISMATCH' },
  },
  {
    name: 'names a sub-merchant the query did not',
    fields: signed(replyFields({ sub_mch_id: '1900000109' })),
    expect: { kind: 'REJECTED', label: 'REJECTED', code: 'UNKNOWN_SUB_MERCHANT' },
  },
  // Not paid yet: ask again later.
  ...['NOTPAY', 'USERPAYING', 'ACCEPT'].map((state): Row => ({
    name: `trade_state ${state}`,
    fields: signed(notPaid(state)),
    expect: { kind: 'NOT_PAID_YET', label: state },
  })),
  {
    name: 'result_code FAIL, ORDERNOTEXIST: WeChat has no such order yet',
    fields: signed(failed('ORDERNOTEXIST', '此交易订单号不存在')),
    expect: { kind: 'NOT_PAID_YET', label: 'ORDERNOTEXIST' },
  },
  // Final: stop asking.
  ...['CLOSED', 'REVOKED', 'PAYERROR'].map((state): Row => ({
    name: `trade_state ${state}`,
    fields: signed(notPaid(state)),
    expect: { kind: 'FINAL', label: state },
  })),
  {
    name: 'trade_state REFUND (paid, then refunded): an anomaly for a person',
    fields: signed(replyFields({ trade_state: 'REFUND' })),
    expect: { kind: 'REFUNDED', label: 'REFUND' },
  },
  // No usable answer: ask again later.
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
    name: 'SUCCESS with total_fee "01" (not canonical)',
    fields: signed(replyFields({ total_fee: '01' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'SUCCESS without transaction_id',
    fields: signed(replyFields({ transaction_id: undefined })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'SUCCESS with a bad time_end',
    fields: signed(replyFields({ time_end: '20261327120000' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'SUCCESS without out_trade_no',
    fields: signed(replyFields({ out_trade_no: undefined })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'an unknown trade_state',
    fields: signed(replyFields({ trade_state: 'WEIRD' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'result_code neither SUCCESS nor FAIL',
    fields: signed(replyFields({ result_code: 'MAYBE' })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
  {
    name: 'no mch_id',
    fields: signed(replyFields({ mch_id: undefined })),
    expect: { kind: 'NO_ANSWER', label: 'MALFORMED' },
  },
];

describe('interpretOrderQueryReply: the reply table', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const v = interpretOrderQueryReply(row.fields, {
        target: row.target ?? TARGET,
        merchant: row.merchant ?? BOTH,
        signType: row.requested ?? 'HMAC-SHA256',
        now: row.now ?? NOW,
      });
      const got: { kind: string; label: string; code?: string } = { kind: v.kind, label: v.label };
      if (v.kind === 'REJECTED') got.code = v.code;
      assert.deepEqual(got, row.expect, v.message);
      assert.ok(v.message.length > 0, 'every verdict explains itself');
      assert.ok(!v.message.includes(row.fields['sign'] ?? '\u0000'), 'no signature in messages');
    });
  }

  test('a PAID verdict is the same PaidNotice a notification would give', () => {
    const v = interpretOrderQueryReply(signed(replyFields()), {
      target: TARGET,
      merchant: BOTH,
      signType: 'HMAC-SHA256',
      now: NOW,
    });
    assert.equal(v.kind, 'PAID');
    if (v.kind !== 'PAID') return;
    const notice = v.notice;
    assert.deepEqual(notice, {
      mchId: DEMO.mchId,
      appid: DEMO.appid,
      outTradeNo: TARGET.outTradeNo,
      resultCode: 'SUCCESS',
      transactionId: '4200000000002104083200000488',
      totalFee: 100,
      feeType: 'CNY',
      // time_end is China Standard Time: 12:00 +08:00 is 04:00 UTC.
      paidAt: new Date('2026-11-27T04:00:00.000Z'),
    });
  });

  test("a sub-merchant's payment belongs to the sub-merchant's order", () => {
    const fields = signed(
      replyFields({
        mch_id: PROVIDER.mchId,
        appid: SUB_TARGET.appid,
        sub_mch_id: SUB_TARGET.mchId,
        out_trade_no: SUB_TARGET.outTradeNo,
      }),
      PROVIDER.apiKey,
    );
    const v = interpretOrderQueryReply(fields, {
      target: SUB_TARGET,
      merchant: PROVIDER,
      signType: 'HMAC-SHA256',
      now: NOW,
    });
    assert.equal(v.kind === 'PAID' ? v.notice.mchId : v.kind, SUB_TARGET.mchId);
  });
});

describe('HttpOrderQueryClient: one POST, the body read strictly, failures are NO_ANSWER', () => {
  type FetchArgs = { url: string; init: RequestInit | undefined };
  const client = (
    respond: (args: FetchArgs) => Response | Promise<Response>,
    calls: FetchArgs[] = [],
  ): HttpOrderQueryClient =>
    new HttpOrderQueryClient({
      apiBase: 'https://api.mch.weixin.qq.com',
      timeoutMs: 1_000,
      clock: () => NOW,
      nonce: () => 'C380BEC2BFD727A4B6845133519F3AD6',
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        const args = { url: url instanceof Request ? url.url : url.toString(), init };
        calls.push(args);
        return respond(args);
      },
    });
  const xmlResponse = (body: string, status = 200): Response =>
    new Response(body, { status, headers: { 'content-type': 'text/xml' } });

  test('posts the signed XML to /pay/orderquery and reads a genuine reply', async () => {
    const calls: FetchArgs[] = [];
    const body = toReplyXml(signed(replyFields()));
    const answer = await client(() => xmlResponse(body), calls).query(TARGET, BOTH);
    assert.equal(answer.verdict.kind, 'PAID');
    assert.equal(answer.rawBody, body);
    assert.equal(answer.fields['attach'], '支付测试 & <测试>');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.url, 'https://api.mch.weixin.qq.com/pay/orderquery');
    assert.equal(calls[0]?.init?.method, 'POST');
    assert.equal(calls[0]?.init?.body, buildOrderQuery(TARGET, BOTH, 'C380BEC2BFD727A4B6845133519F3AD6').xml);
  });

  const failures: ReadonlyArray<[string, () => Response | Promise<Response>, string]> = [
    [
      'a forged reply is REJECTED, with its fields kept for the log only',
      () => xmlResponse(toReplyXml(signed(replyFields(), OTHER_KEY))),
      'REJECTED',
    ],
    ['HTTP 503', () => xmlResponse('busy', 503), 'TRANSPORT_ERROR'],
    [
      'connection refused',
      () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED') });
      },
      'TRANSPORT_ERROR',
    ],
    ['a body over 64 KiB', () => xmlResponse(`<xml><a>${'x'.repeat(70_000)}</a></xml>`), 'TRANSPORT_ERROR'],
    [
      'a DOCTYPE (entity tricks)',
      () => xmlResponse('<!DOCTYPE xml [<!ENTITY x "SUCCESS">]><xml><return_code>&x;</return_code></xml>'),
      'TRANSPORT_ERROR',
    ],
    ['nested elements', () => xmlResponse('<xml><return_code><a>SUCCESS</a></return_code></xml>'), 'TRANSPORT_ERROR'],
    [
      'a repeated field',
      () => xmlResponse('<xml><trade_state>NOTPAY</trade_state><trade_state>SUCCESS</trade_state></xml>'),
      'TRANSPORT_ERROR',
    ],
    [
      'not UTF-8',
      () =>
        new Response(Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e]), {
          status: 200,
        }),
      'TRANSPORT_ERROR',
    ],
    ['return_code FAIL', () => xmlResponse(toReplyXml({ return_code: 'FAIL', return_msg: '签名错误' })), 'RETURN_FAIL'],
  ];
  for (const [name, respond, label] of failures) {
    test(`${name} => ${label}`, async () => {
      const answer = await client(respond).query(TARGET, BOTH);
      assert.equal(answer.verdict.label, label, answer.verdict.message);
      if (label === 'TRANSPORT_ERROR') assert.deepEqual([answer.fields, answer.rawBody], [{}, '']);
    });
  }

  test('no reply within the timeout => TRANSPORT_ERROR naming the timeout', async () => {
    const slow = new HttpOrderQueryClient({
      apiBase: 'https://api.mch.weixin.qq.com',
      timeoutMs: 100,
      clock: () => NOW,
      fetch: ((_url: string, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        })) as typeof fetch,
    });
    // AbortSignal.timeout's timer does not keep the process alive (in the core, the server does).
    const keepAlive = setTimeout(() => {}, 5_000);
    const answer = await slow.query(TARGET, BOTH).finally(() => clearTimeout(keepAlive));
    assert.equal(answer.verdict.label, 'TRANSPORT_ERROR');
    assert.match(answer.verdict.message, /no reply within 100 ms/);
  });
});
