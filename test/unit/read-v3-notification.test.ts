// Reading an APIv3 notification (src/notify/v3/read-v3-notification.ts): verified with the keys of
// the merchant that holds Wechatpay-Serial, decrypted with that merchant's APIv3 key, the decrypted
// mchid checked, then TRANSACTION.SUCCESS as a PaidNotice and REFUND.* as a RefundChange. The
// official vector first (frozen clock), then a table with a key pair generated here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { merchantDirectory, type Merchant } from '../../src/notify/merchant';
import { readV3Notification, type V3Read } from '../../src/notify/v3/read-v3-notification';
import { v3PlatformKeys, type V3PlatformKeys } from '../../src/notify/v3/platform-keys';
import { newV3Key, refundResource, signV3, transactionResource, v3Body } from '../../harness/v3-notification';

interface V3Vector {
  readonly now_unix: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly platform_certificate_pem: string;
  readonly apiv3_key: string;
}
const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v3-notify.json'), 'utf8'),
) as V3Vector;
const VECTOR_NOW = new Date(vector.now_unix * 1000);

function keys(input: Parameters<typeof v3PlatformKeys>[0]): V3PlatformKeys {
  const r = v3PlatformKeys(input, VECTOR_NOW);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.keys;
}

const VECTOR_MERCHANT: Merchant = {
  mchId: '1234567890',
  appids: ['054aa7d7a2a54ab5898df65bd96f001c'],
  apiKey: 'V2key0123456789abcdefghijklmnopq',
  signTypes: ['MD5'],
  apiV3Key: vector.apiv3_key,
  v3Keys: keys({ certificates: [vector.platform_certificate_pem] }),
};

function outcomeOf(r: V3Read): readonly [string, string] | 'ok' {
  return r.ok ? 'ok' : [r.result.outcome, r.result.code];
}

describe('official vector: wechatpay-go notify test (PAYSCORE.USER_OPEN_SERVICE), clock frozen at its timestamp', () => {
  const received = { headers: vector.headers, body: Buffer.from(vector.body, 'utf8') };
  test('verifies with the platform certificate, decrypts, then is refused as UNSUPPORTED_EVENT_TYPE', () => {
    const r = readV3Notification(received, merchantDirectory([VECTOR_MERCHANT]), VECTOR_NOW);
    assert.deepEqual(outcomeOf(r), ['MALFORMED', 'UNSUPPORTED_EVENT_TYPE']);
    assert.match(r.ok ? '' : r.result.message, /PAYSCORE\.USER_OPEN_SERVICE/);
  });
  test('the decryption is real: with another APIv3 key it is RESOURCE_UNDECRYPTABLE instead', () => {
    const r = readV3Notification(
      received,
      merchantDirectory([{ ...VECTOR_MERCHANT, apiV3Key: 'testMchAPIv3Key1' }]),
      VECTOR_NOW,
    );
    assert.deepEqual(outcomeOf(r), ['REJECTED', 'RESOURCE_UNDECRYPTABLE']);
  });
  test('the decrypted mchid is checked: configured under another mch_id it is MERCHANT_MISMATCH', () => {
    const r = readV3Notification(
      received,
      merchantDirectory([{ ...VECTOR_MERCHANT, mchId: '1234567899' }]),
      VECTOR_NOW,
    );
    assert.deepEqual(outcomeOf(r), ['REJECTED', 'MERCHANT_MISMATCH']);
  });
  test('with the real clock it is years old: TIMESTAMP_OUT_OF_WINDOW', () => {
    const r = readV3Notification(received, merchantDirectory([VECTOR_MERCHANT]), new Date());
    assert.deepEqual(outcomeOf(r), ['REJECTED', 'TIMESTAMP_OUT_OF_WINDOW']);
  });
  test('header names in any case (Node lower-cases them)', () => {
    const lower = Object.fromEntries(Object.entries(vector.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const r = readV3Notification(
      { headers: lower, body: received.body },
      merchantDirectory([VECTOR_MERCHANT]),
      VECTOR_NOW,
    );
    assert.deepEqual(outcomeOf(r), ['MALFORMED', 'UNSUPPORTED_EVENT_TYPE']);
  });
});

describe('rules, with a WeChat Pay public key generated here', () => {
  const NOW = new Date('2026-11-27T04:00:00Z');
  const T = Math.floor(NOW.getTime() / 1000);
  const KEY = newV3Key('PUB_KEY_ID_0114232134912410000000000000');
  const IMPOSTOR = newV3Key(KEY.id);
  const API_V3_KEY = 'ApiV3Key0123456789abcdefghijklmn';
  const MERCHANT: Merchant = {
    mchId: '1900000100',
    appids: ['wxd678efh567hg6787'],
    apiKey: 'V2key0123456789abcdefghijklmnopq',
    signTypes: ['MD5'],
    apiV3Key: API_V3_KEY,
    v3Keys: keys({ publicKeys: [{ id: KEY.id, pem: KEY.publicPem }] }),
  };
  const merchants = merchantDirectory([MERCHANT]);
  const tx = transactionResource({
    mchid: '1900000100',
    appid: 'wxd678efh567hg6787',
    outTradeNo: 'T1',
    transactionId: '4200000000000000000000000000001',
    total: 100,
  });
  const refund = (status: 'SUCCESS' | 'ABNORMAL' | 'CLOSED' = 'SUCCESS'): Record<string, unknown> =>
    refundResource({
      mchid: '1900000100',
      outTradeNo: 'T1',
      transactionId: '4200000000000000000000000000001',
      outRefundNo: 'RF1',
      refund: 30,
      total: 100,
      status,
    });
  const signed = (
    body: string,
    changes: { at?: number; key?: typeof KEY; serial?: string } = {},
  ): { headers: Record<string, string>; body: Buffer } => {
    const key = changes.key ?? KEY;
    return {
      headers: signV3(body, { id: changes.serial ?? key.id, privateKey: key.privateKey }, changes.at ?? T),
      body: Buffer.from(body, 'utf8'),
    };
  };
  const payment = v3Body('EV-0001', 'TRANSACTION.SUCCESS', tx, API_V3_KEY);

  test('TRANSACTION.SUCCESS: the same PaidNotice a v2 payment gives, facts only (its identity is the subject of the money path)', () => {
    const r = readV3Notification(signed(payment), merchants, NOW);
    assert.ok(r.ok && r.kind === 'payment', r.ok ? r.kind : r.result.message);
    assert.deepEqual(r.notice, {
      mchId: '1900000100',
      appid: 'wxd678efh567hg6787',
      outTradeNo: 'T1',
      resultCode: 'SUCCESS',
      transactionId: '4200000000000000000000000000001',
      totalFee: 100,
      feeType: 'CNY',
      paidAt: new Date('2026-11-27T04:00:00Z'),
    });
    assert.equal(r.merchant.mchId, '1900000100');
  });
  for (const [eventType, status] of [
    ['REFUND.SUCCESS', 'SUCCESS'],
    ['REFUND.ABNORMAL', 'ABNORMAL'],
    ['REFUND.CLOSED', 'CLOSED'],
  ] as const) {
    test(`${eventType}: a RefundChange in state ${status}`, () => {
      const r = readV3Notification(signed(v3Body('EV-0002', eventType, refund(status), API_V3_KEY)), merchants, NOW);
      assert.ok(r.ok && r.kind === 'refund', r.ok ? r.kind : r.result.message);
      assert.deepEqual(
        [r.change.mchId, r.change.outRefundNo, r.change.refundFee, r.change.totalFee, r.change.state, r.change.appid],
        ['1900000100', 'RF1', 30, 100, status, undefined],
      );
    });
  }

  const cases: ReadonlyArray<{
    name: string;
    received: () => { headers: Record<string, string>; body: Buffer };
    expected: readonly [string, string];
  }> = [
    {
      name: 'a signature probe (WECHATPAY/SIGNTEST/...)',
      received: () => ({
        ...signed(payment),
        headers: { ...signed(payment).headers, 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/abc' },
      }),
      expected: ['REJECTED', 'SIGNATURE_PROBE'],
    },
    {
      name: 'a timestamp 301 s old',
      received: () => signed(payment, { at: T - 301 }),
      expected: ['REJECTED', 'TIMESTAMP_OUT_OF_WINDOW'],
    },
    {
      name: 'a timestamp 301 s ahead',
      received: () => signed(payment, { at: T + 301 }),
      expected: ['REJECTED', 'TIMESTAMP_OUT_OF_WINDOW'],
    },
    {
      name: 'a serial no merchant holds',
      received: () => signed(payment, { serial: 'PUB_KEY_ID_0114232134912419999999999999' }),
      expected: ['REJECTED', 'UNKNOWN_SERIAL'],
    },
    {
      name: 'signed by another key under the same id',
      received: () => signed(payment, { key: IMPOSTOR }),
      expected: ['REJECTED', 'INVALID_SIGNATURE'],
    },
    {
      name: 'the body changed after signing',
      received: () => ({ headers: signed(payment).headers, body: Buffer.from(payment.replace('EV-0001', 'EV-0009')) }),
      expected: ['REJECTED', 'INVALID_SIGNATURE'],
    },
    {
      name: 'no Wechatpay-Signature header',
      received: () => {
        const s = signed(payment);
        const headers = { ...s.headers };
        delete headers['Wechatpay-Signature'];
        return { headers, body: s.body };
      },
      expected: ['MALFORMED', 'MISSING_HEADER'],
    },
    {
      name: 'encrypted with another APIv3 key',
      received: () => signed(v3Body('EV-3', 'TRANSACTION.SUCCESS', tx, 'Other3Key0123456789abcdefghijklm')),
      expected: ['REJECTED', 'RESOURCE_UNDECRYPTABLE'],
    },
    {
      name: "the decrypted mchid is another merchant's",
      received: () => signed(v3Body('EV-4', 'TRANSACTION.SUCCESS', { ...tx, mchid: '1900000999' }, API_V3_KEY)),
      expected: ['REJECTED', 'MERCHANT_MISMATCH'],
    },
    {
      name: 'an appid the merchant is not configured for',
      received: () => signed(v3Body('EV-5', 'TRANSACTION.SUCCESS', { ...tx, appid: 'wx0000000000000000' }, API_V3_KEY)),
      expected: ['REJECTED', 'UNKNOWN_MERCHANT'],
    },
    {
      name: 'REFUND.SUCCESS carrying refund_status CLOSED',
      received: () => signed(v3Body('EV-6', 'REFUND.SUCCESS', refund('CLOSED'), API_V3_KEY)),
      expected: ['MALFORMED', 'INVALID_FIELD'],
    },
    {
      name: 'a transaction amount given as a string',
      received: () =>
        signed(
          v3Body(
            'EV-7',
            'TRANSACTION.SUCCESS',
            { ...tx, amount: { total: '100', payer_total: 100, currency: 'CNY', payer_currency: 'CNY' } },
            API_V3_KEY,
          ),
        ),
      expected: ['MALFORMED', 'INVALID_FIELD'],
    },
    {
      name: 'a signed body that is not JSON',
      received: () => signed('not json'),
      expected: ['MALFORMED', 'INVALID_JSON'],
    },
    {
      name: 'an event type not handled here (MARKETING.FAVOR.USED)',
      received: () => signed(v3Body('EV-8', 'MARKETING.FAVOR.USED', { stock_id: '9856000' }, API_V3_KEY)),
      expected: ['MALFORMED', 'UNSUPPORTED_EVENT_TYPE'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = readV3Notification(c.received(), merchants, NOW);
      assert.deepEqual(outcomeOf(r), c.expected, r.ok ? '' : r.result.message);
    });
  }

  test('two merchants hold the same key: the one whose APIv3 key decrypts is the merchant', () => {
    const other: Merchant = { ...MERCHANT, mchId: '1900000200', apiV3Key: 'Other3Key0123456789abcdefghijklm' };
    const both = merchantDirectory([other, MERCHANT]);
    const r = readV3Notification(signed(payment), both, NOW);
    assert.ok(r.ok, r.ok ? '' : r.result.message);
    assert.equal(r.merchant.mchId, '1900000100');
  });
  test('300 s either way is still inside the window', () => {
    for (const at of [T - 300, T + 300])
      assert.equal(readV3Notification(signed(payment, { at }), merchants, NOW).ok, true);
  });
});
