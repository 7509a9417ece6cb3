// Who may send us a notification (src/notify/authenticate.ts): a configured merchant and appid,
// a sign_type that merchant allows (absent means MD5), and a signature under its API key.
// Fixtures are signed by harness/sign-notification.ts, never by src/notify/sign.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authenticate } from '../../src/notify/authenticate';
import { merchantDirectory } from '../../src/notify/merchant';
import type { NotifyCode, NotifyOutcome } from '../../src/notify/outcome';
import { DEMO, HMAC_ONLY, signNotification } from '../../harness/sign-notification';

/** A merchant that accepts both algorithms, for the downgrade cases. */
const BOTH = Object.freeze({ mchId: '10000300', appid: 'wx0000000000000300', key: 'Both0Both1Both2Both3Both4Both5Bo' });

/** DEMO accepts only MD5 (WeChat's default); HMAC_ONLY accepts only HMAC-SHA256; BOTH accepts either. */
const merchants = merchantDirectory([
  { mchId: DEMO.mchId, appids: [DEMO.appid], apiKey: DEMO.key, signTypes: ['MD5'] },
  { mchId: HMAC_ONLY.mchId, appids: [HMAC_ONLY.appid], apiKey: HMAC_ONLY.key, signTypes: ['HMAC-SHA256'] },
  { mchId: BOTH.mchId, appids: [BOTH.appid], apiKey: BOTH.key, signTypes: ['MD5', 'HMAC-SHA256'] },
]);

const WRONG_KEY = 'wrongwrongwrongwrongwrongwrong00';

/** The unsigned fields of a successful payment notification for `m`. */
function fieldsFor(m: { mchId: string; appid: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    appid: m.appid,
    mch_id: m.mchId,
    nonce_str: '5d2b6c2a8db53831f7eda20af46e531c',
    out_trade_no: '1409811653',
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    time_end: '20140903131540',
    total_fee: '1',
    transaction_id: '1004400740201409030005092168',
    ...extra,
  };
}

function without(fields: Record<string, string>, name: string): Record<string, string> {
  const copy = { ...fields };
  delete copy[name];
  return copy;
}

type Expected = { ok: true; mchId: string } | { ok: false; outcome: NotifyOutcome; code: NotifyCode };

const ok = (mchId: string): Expected => ({ ok: true, mchId });
const rejected = (code: NotifyCode): Expected => ({ ok: false, outcome: 'REJECTED', code });
const malformed = (code: NotifyCode): Expected => ({ ok: false, outcome: 'MALFORMED', code });

describe('authenticate', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; expected: Expected }> = [
    // Accepted.
    {
      name: 'valid MD5, sign_type absent (absent means MD5)',
      fields: signNotification(fieldsFor(DEMO), DEMO.key),
      expected: ok(DEMO.mchId),
    },
    {
      name: 'valid MD5, sign_type="MD5" explicit (and signed)',
      fields: signNotification(fieldsFor(DEMO, { sign_type: 'MD5' }), DEMO.key),
      expected: ok(DEMO.mchId),
    },
    {
      name: 'valid MD5, sign_type="" (empty means absent)',
      fields: signNotification(fieldsFor(DEMO, { sign_type: '' }), DEMO.key),
      expected: ok(DEMO.mchId),
    },
    {
      name: 'valid HMAC-SHA256',
      fields: signNotification(fieldsFor(HMAC_ONLY), HMAC_ONLY.key, 'HMAC-SHA256'),
      expected: ok(HMAC_ONLY.mchId),
    },
    {
      name: 'valid MD5 to a merchant allowing both',
      fields: signNotification(fieldsFor(BOTH), BOTH.key),
      expected: ok(BOTH.mchId),
    },
    {
      name: 'valid HMAC-SHA256 to a merchant allowing both',
      fields: signNotification(fieldsFor(BOTH), BOTH.key, 'HMAC-SHA256'),
      expected: ok(BOTH.mchId),
    },
    {
      name: 'signature sent in lower-case hex',
      fields: lowerCaseSign(signNotification(fieldsFor(DEMO), DEMO.key)),
      expected: ok(DEMO.mchId),
    },
    {
      name: 'fields unknown to us, included when signing',
      fields: signNotification(fieldsFor(DEMO, { promotion_detail: '[]', zz_future_field: 'x' }), DEMO.key),
      expected: ok(DEMO.mchId),
    },
    {
      name: 'an empty field added after signing (empty values are not signed)',
      fields: { ...signNotification(fieldsFor(DEMO), DEMO.key), attach: '' },
      expected: ok(DEMO.mchId),
    },

    // sign_type.
    {
      name: 'HMAC-SHA256 sent to an MD5-only merchant -> SIGN_TYPE_NOT_ALLOWED',
      fields: signNotification(fieldsFor(DEMO), DEMO.key, 'HMAC-SHA256'),
      expected: rejected('SIGN_TYPE_NOT_ALLOWED'),
    },
    {
      name: 'MD5 sent to an HMAC-only merchant -> SIGN_TYPE_NOT_ALLOWED',
      fields: signNotification(fieldsFor(HMAC_ONLY), HMAC_ONLY.key, 'MD5'),
      expected: rejected('SIGN_TYPE_NOT_ALLOWED'),
    },
    {
      name: 'sign_type="SHA1" -> UNKNOWN_SIGN_TYPE',
      fields: signNotification(fieldsFor(DEMO, { sign_type: 'SHA1' }), DEMO.key),
      expected: rejected('UNKNOWN_SIGN_TYPE'),
    },
    {
      // WeChat spells it "MD5"; anything but MD5 / HMAC-SHA256 exactly is unknown.
      name: 'sign_type="md5" (lower case) -> UNKNOWN_SIGN_TYPE',
      fields: signNotification(fieldsFor(DEMO, { sign_type: 'md5' }), DEMO.key),
      expected: rejected('UNKNOWN_SIGN_TYPE'),
    },
    {
      name: 'sign_type="hmac-sha256" (lower case) -> UNKNOWN_SIGN_TYPE',
      fields: signNotification(fieldsFor(HMAC_ONLY, { sign_type: 'hmac-sha256' }), HMAC_ONLY.key),
      expected: rejected('UNKNOWN_SIGN_TYPE'),
    },

    // The signature.
    { name: 'sign missing -> MISSING_SIGNATURE', fields: fieldsFor(DEMO), expected: rejected('MISSING_SIGNATURE') },
    {
      name: 'sign empty -> MISSING_SIGNATURE',
      fields: { ...signNotification(fieldsFor(DEMO), DEMO.key), sign: '' },
      expected: rejected('MISSING_SIGNATURE'),
    },
    {
      name: 'signed with another key -> INVALID_SIGNATURE',
      fields: signNotification(fieldsFor(DEMO), WRONG_KEY),
      expected: rejected('INVALID_SIGNATURE'),
    },
    {
      name: "signed with the other merchant's key -> INVALID_SIGNATURE",
      fields: signNotification(fieldsFor(HMAC_ONLY), DEMO.key, 'HMAC-SHA256'),
      expected: rejected('INVALID_SIGNATURE'),
    },
    {
      name: 'total_fee changed after signing -> INVALID_SIGNATURE',
      fields: { ...signNotification(fieldsFor(DEMO), DEMO.key), total_fee: '100' },
      expected: rejected('INVALID_SIGNATURE'),
    },
    {
      name: 'a non-empty unknown field added after signing -> INVALID_SIGNATURE',
      fields: { ...signNotification(fieldsFor(DEMO), DEMO.key), extra: 'x' },
      expected: rejected('INVALID_SIGNATURE'),
    },
    {
      name: 'a signed field removed after signing -> INVALID_SIGNATURE',
      fields: without(signNotification(fieldsFor(DEMO), DEMO.key), 'nonce_str'),
      expected: rejected('INVALID_SIGNATURE'),
    },
    {
      name: 'sign_type changed from HMAC-SHA256 to MD5 after signing -> INVALID_SIGNATURE',
      fields: { ...signNotification(fieldsFor(BOTH), BOTH.key, 'HMAC-SHA256'), sign_type: 'MD5' },
      expected: rejected('INVALID_SIGNATURE'),
    },
    {
      name: 'sign_type removed from an HMAC-SHA256 notification after signing -> INVALID_SIGNATURE',
      fields: without(signNotification(fieldsFor(BOTH), BOTH.key, 'HMAC-SHA256'), 'sign_type'),
      expected: rejected('INVALID_SIGNATURE'),
    },
    {
      name: 'an HMAC-SHA256 signature labelled MD5 for an HMAC-only merchant -> SIGN_TYPE_NOT_ALLOWED',
      fields: { ...signNotification(fieldsFor(HMAC_ONLY), HMAC_ONLY.key, 'HMAC-SHA256'), sign_type: 'MD5' },
      expected: rejected('SIGN_TYPE_NOT_ALLOWED'),
    },

    // The merchant.
    {
      name: 'unknown mch_id -> UNKNOWN_MERCHANT',
      fields: signNotification(fieldsFor({ mchId: '19999999', appid: DEMO.appid }), DEMO.key),
      expected: rejected('UNKNOWN_MERCHANT'),
    },
    {
      name: 'known mch_id with an appid not configured for it -> UNKNOWN_MERCHANT',
      fields: signNotification(fieldsFor({ mchId: DEMO.mchId, appid: 'wx0000000000000999' }), DEMO.key),
      expected: rejected('UNKNOWN_MERCHANT'),
    },
    {
      name: "known mch_id with the other merchant's appid -> UNKNOWN_MERCHANT",
      fields: signNotification(fieldsFor({ mchId: DEMO.mchId, appid: HMAC_ONLY.appid }), DEMO.key),
      expected: rejected('UNKNOWN_MERCHANT'),
    },
    {
      name: 'mch_id missing -> MALFORMED MISSING_FIELD',
      fields: signNotification(without(fieldsFor(DEMO), 'mch_id'), DEMO.key),
      expected: malformed('MISSING_FIELD'),
    },
    {
      name: 'appid missing -> MALFORMED MISSING_FIELD',
      fields: signNotification(without(fieldsFor(DEMO), 'appid'), DEMO.key),
      expected: malformed('MISSING_FIELD'),
    },
    {
      name: 'mch_id empty -> MALFORMED MISSING_FIELD',
      fields: signNotification(fieldsFor(DEMO, { mch_id: '' }), DEMO.key),
      expected: malformed('MISSING_FIELD'),
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const auth = authenticate(c.fields, merchants);
      const actual: Expected = auth.ok
        ? { ok: true, mchId: auth.merchant.mchId }
        : { ok: false, outcome: auth.result.outcome, code: auth.result.code };
      assert.deepEqual(actual, c.expected);
      // A reason is given to people, and it never carries a key.
      if (!auth.ok) {
        assert.notEqual(auth.result.message, '');
        for (const key of [DEMO.key, HMAC_ONLY.key, BOTH.key]) assert.ok(!auth.result.message.includes(key));
      }
    });
  }
});

function lowerCaseSign(fields: Record<string, string>): Record<string, string> {
  return { ...fields, sign: (fields['sign'] ?? '').toLowerCase() };
}
