// The notifications the simulator sends (tools/simulator/notification-builder.ts, v2-signature.ts):
// signed as WeChat signs them, and accepted field for field by the service's own parser and
// verifier, which were written separately.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseNotifyXml } from '../../gateway/parse-notify-xml';
import { authenticate } from '../../src/notify/authenticate';
import { merchantDirectory } from '../../src/notify/merchant';
import { parsePaymentNotice } from '../../src/notify/payment-notice';
import {
  beijingTimeEnd,
  buildNotification,
  cdata,
  paymentFields,
  toNotifyXml,
  type PaymentSpec,
} from '../../tools/simulator/notification-builder';
import { signV2, stringToSign, v2Signature } from '../../harness/v2-signature';
import { DEMO, signNotification } from '../../harness/sign-notification';

interface SignVector {
  key: string;
  fields: Record<string, string>;
  string_sign_temp: string;
  md5: string;
  hmac_sha256: string;
}
const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-sign.json'), 'utf8'),
) as SignVector;

const merchant = { mchId: DEMO.mchId, appid: DEMO.appid, apiKey: DEMO.key };
const directory = merchantDirectory([
  { mchId: DEMO.mchId, appids: [DEMO.appid], apiKey: DEMO.key, signTypes: ['MD5', 'HMAC-SHA256'] },
]);
const spec = (over: Partial<PaymentSpec> = {}): PaymentSpec => ({
  merchant,
  outTradeNo: 'SIM0001',
  transactionId: '4200000001',
  totalFee: 1000,
  signType: 'MD5',
  timeEnd: new Date(Date.UTC(2026, 10, 27, 4, 0, 0)),
  nonceStr: 'nonce1',
  ...over,
});

/** What the gateway and the core make of a body: parsed, authenticated, read as a payment. */
function receive(xml: string): { fields: Record<string, string>; notice: ReturnType<typeof parsePaymentNotice> } {
  const parsed = parseNotifyXml(Buffer.from(xml, 'utf8'));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  const auth = authenticate(parsed.fields, directory);
  assert.ok(auth.ok, auth.ok ? '' : auth.result.message);
  return { fields: parsed.fields, notice: parsePaymentNotice(parsed.fields) };
}

describe("the v2 signature, WeChat's side", () => {
  test('official vector: the signed string', () =>
    assert.equal(stringToSign(vector.fields, vector.key), vector.string_sign_temp));
  test('official vector: MD5', () => assert.equal(v2Signature(vector.fields, vector.key, 'MD5'), vector.md5));
  test('official vector: HMAC-SHA256', () =>
    assert.equal(v2Signature(vector.fields, vector.key, 'HMAC-SHA256'), vector.hmac_sha256));
  const rules: ReadonlyArray<[string, Record<string, string>, string]> = [
    ['empty values are left out', { b: '2', a: '1', c: '' }, 'a=1&b=2&key=K'],
    ['sign is left out', { a: '1', sign: 'X' }, 'a=1&key=K'],
    ['sign_type is kept', { a: '1', sign_type: 'HMAC-SHA256' }, 'a=1&sign_type=HMAC-SHA256&key=K'],
    [
      'keys in ASCII order: upper case before lower case, _ between',
      { b: '1', B: '2', a_b: '3', a: '4' },
      'B=2&a=4&a_b=3&b=1&key=K',
    ],
    ['values are raw, not URL-encoded', { a: 'x y&z=支付' }, 'a=x y&z=支付&key=K'],
  ];
  for (const [name, fields, expected] of rules) test(name, () => assert.equal(stringToSign(fields, 'K'), expected));
  test('MD5 sends no sign_type; HMAC-SHA256 sends sign_type=HMAC-SHA256 and signs over it', () => {
    assert.equal(signV2({ a: '1' }, 'K', 'MD5')['sign_type'], undefined);
    const h = signV2({ a: '1' }, 'K', 'HMAC-SHA256');
    assert.equal(h['sign_type'], 'HMAC-SHA256');
    assert.equal(h['sign'], v2Signature({ a: '1', sign_type: 'HMAC-SHA256' }, 'K', 'HMAC-SHA256'));
  });
  test('agrees with the test support signer on any fields (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/).filter((k) => k !== 'sign' && k !== 'sign_type');
    fc.assert(
      fc.property(
        fc.dictionary(name, fc.string({ unit: 'grapheme', maxLength: 20 })),
        fc.constantFrom('MD5' as const, 'HMAC-SHA256' as const),
        (fields, type) => {
          assert.deepEqual(signV2(fields, DEMO.key, type), signNotification(fields, DEMO.key, type));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the fields of a payment notification', () => {
  test('the documented fields, amounts as integer strings, time_end in Beijing time', () => {
    const f = paymentFields(spec());
    assert.deepEqual(
      [
        f['return_code'],
        f['result_code'],
        f['mch_id'],
        f['appid'],
        f['out_trade_no'],
        f['transaction_id'],
        f['total_fee'],
        f['cash_fee'],
        f['fee_type'],
        f['time_end'],
      ],
      ['SUCCESS', 'SUCCESS', DEMO.mchId, DEMO.appid, 'SIM0001', '4200000001', '1000', '1000', 'CNY', '20261127120000'],
    );
  });
  test('coupons: coupon_count, coupon_fee and coupon_type_n/coupon_id_n/coupon_fee_n; cash_fee is the rest', () => {
    const f = paymentFields(spec({ coupons: [100, 50] }));
    assert.deepEqual(
      [
        f['coupon_count'],
        f['coupon_fee'],
        f['coupon_fee_0'],
        f['coupon_fee_1'],
        f['coupon_type_0'],
        f['cash_fee'],
        f['total_fee'],
      ],
      ['2', '150', '100', '50', 'CASH', '850', '1000'],
    );
    assert.ok(f['coupon_id_0'] && f['coupon_id_1'] && f['coupon_id_0'] !== f['coupon_id_1']);
  });
  const refused: ReadonlyArray<[string, Partial<PaymentSpec>]> = [
    ['coupons above total_fee', { coupons: [600, 600] }],
    ['a zero coupon', { coupons: [0] }],
    ['a fractional amount', { totalFee: 1.5 }],
    ['a negative amount', { totalFee: -1 }],
  ];
  for (const [name, over] of refused)
    test(`${name} is refused`, () => assert.throws(() => paymentFields(spec(over)), RangeError));
  test('result_code FAIL: err_code and err_code_des, no transaction_id', () => {
    const f = paymentFields(spec({ resultCode: 'FAIL' }));
    assert.deepEqual([f['result_code'], f['err_code'], f['transaction_id']], ['FAIL', 'NOTENOUGH', undefined]);
  });
  test('extra fields are added (and signed over)', () => {
    const built = buildNotification(spec({ extraFields: { future_field: '新' } }));
    assert.equal(built.fields['future_field'], '新');
    assert.equal(receive(built.xml).fields['future_field'], '新');
  });
});

describe('the XML body', () => {
  const cdataCases: ReadonlyArray<[string, string]> = [
    ['plain', '<![CDATA[plain]]>'],
    ['', '<![CDATA[]]>'],
    ['a]]>b', '<![CDATA[a]]]]><![CDATA[>b]]>'],
    ['<&>', '<![CDATA[<&>]]>'],
  ];
  for (const [value, expected] of cdataCases)
    test(`cdata(${JSON.stringify(value)})`, () => assert.equal(cdata(value), expected));
  test("plainNumbers writes integers without CDATA, as WeChat's example does", () => {
    assert.equal(
      toNotifyXml({ total_fee: '1', a: 'x' }, { plainNumbers: true }),
      '<xml><total_fee>1</total_fee><a><![CDATA[x]]></a></xml>',
    );
  });
  const timeCases: ReadonlyArray<[string, string]> = [
    ['2026-11-27T04:00:00Z', '20261127120000'],
    ['2026-12-31T16:00:00Z', '20270101000000'],
    ['2024-02-28T16:30:05Z', '20240229003005'],
  ];
  for (const [iso, expected] of timeCases)
    test(`beijingTimeEnd(${iso}) = ${expected}`, () => assert.equal(beijingTimeEnd(new Date(iso)), expected));

  const accepted: ReadonlyArray<[string, Partial<PaymentSpec>, { plainNumbers?: boolean; pretty?: boolean }?]> = [
    ['MD5', {}],
    ['HMAC-SHA256', { signType: 'HMAC-SHA256' }],
    ['Unicode attach: CJK, emoji, right-to-left, combining marks', { attach: '支付 🍜 مرحبا e\u0301' }],
    ['attach with XML specials', { attach: '<a href="x">&amp;</a>' }],
    ['coupons', { coupons: [1, 2] }],
    ['pretty-printed with plain numbers', {}, { plainNumbers: true, pretty: true }],
  ];
  for (const [name, over, xmlOptions] of accepted) {
    test(`${name}: the service parses, verifies and reads it as sent`, () => {
      const built = buildNotification(spec(over));
      const { fields, notice } = receive(xmlOptions ? toNotifyXml(built.fields, xmlOptions) : built.xml);
      assert.deepEqual(fields, built.fields);
      assert.ok(notice.ok && notice.notice.resultCode === 'SUCCESS');
      if (notice.ok && notice.notice.resultCode === 'SUCCESS') {
        assert.deepEqual([notice.notice.totalFee, notice.notice.outTradeNo], [spec(over).totalFee, 'SIM0001']);
      }
    });
  }
  test('any attach (property): parsed back exactly and the signature verifies', () => {
    // Carriage returns are normalised by XML itself, and "]]>" splits the CDATA (see below).
    const attach = fc
      .string({ unit: 'grapheme', maxLength: 60 })
      .filter((s) => !s.includes('\r') && !s.includes(']]>'));
    fc.assert(
      fc.property(attach, fc.constantFrom('MD5' as const, 'HMAC-SHA256' as const), (text, signType) => {
        const built = buildNotification(spec({ attach: text, signType }));
        assert.deepEqual(receive(built.xml).fields, built.fields);
      }),
      { numRuns: 300 },
    );
  });
});
