// v2 API key rotation (src/notify/merchant.ts v2KeysAt, used by authenticate and by refund
// decryption): while previous_api_key_valid_until has not passed, notifications signed (or
// encrypted) with the old key or the new one are accepted; after it only the new key is. The
// clock is a parameter: every row gives `now`.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authenticate } from '../../src/notify/authenticate';
import { merchantDirectory, v2KeysAt, type Merchant } from '../../src/notify/merchant';
import { readRefundNotification } from '../../src/notify/v2-refund/read-refund-notification';
import { refundEnvelope, refundInnerFields } from '../../harness/refund-notification';
import { paidFields, signNotification } from '../../harness/sign-notification';
import type { V2SignType } from '../../harness/v2-signature';

const OLD = 'OldKey0123456789abcdefghijklmnop';
const NEW = 'NewKey0123456789abcdefghijklmnop';
const OTHER = 'OtherKey456789abcdefghijklmnopqr';
const UNTIL = new Date('2026-03-01T00:00:00+08:00');
const ms = (d: Date, delta: number): Date => new Date(d.getTime() + delta);

const MERCHANT: Merchant = {
  mchId: '10000100',
  appids: ['wxd930ea5d5a258f4f'],
  apiKey: NEW,
  signTypes: ['MD5', 'HMAC-SHA256'],
  previousApiKey: { key: OLD, validUntil: UNTIL },
};
const merchants = merchantDirectory([MERCHANT]);

describe('v2KeysAt: the keys that verify at a moment', () => {
  const cases: ReadonlyArray<{ name: string; merchant: Merchant; now: Date | undefined; keys: readonly string[] }> = [
    {
      name: 'a day before the deadline: new and old',
      merchant: MERCHANT,
      now: ms(UNTIL, -86_400_000),
      keys: [NEW, OLD],
    },
    { name: 'at the deadline (inclusive): new and old', merchant: MERCHANT, now: UNTIL, keys: [NEW, OLD] },
    { name: '1 ms after the deadline: new only', merchant: MERCHANT, now: ms(UNTIL, 1), keys: [NEW] },
    { name: 'no clock: new only (no grace without a time)', merchant: MERCHANT, now: undefined, keys: [NEW] },
    { name: 'no previous key: the key', merchant: { ...MERCHANT, previousApiKey: undefined }, now: UNTIL, keys: [NEW] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(v2KeysAt(c.merchant, c.now), c.keys));
});

describe('authenticate during and after a rotation', () => {
  const cases: ReadonlyArray<{
    key: string;
    keyName: string;
    now: Date | undefined;
    when: string;
    signType?: V2SignType;
    ok: boolean;
  }> = [
    { key: NEW, keyName: 'new', now: ms(UNTIL, -60_000), when: 'during the overlap', ok: true },
    { key: OLD, keyName: 'old', now: ms(UNTIL, -60_000), when: 'during the overlap', ok: true },
    {
      key: OLD,
      keyName: 'old',
      now: ms(UNTIL, -60_000),
      when: 'during the overlap',
      signType: 'HMAC-SHA256',
      ok: true,
    },
    { key: OLD, keyName: 'old', now: UNTIL, when: 'at the deadline', ok: true },
    { key: NEW, keyName: 'new', now: ms(UNTIL, 1), when: 'after the deadline', ok: true },
    { key: OLD, keyName: 'old', now: ms(UNTIL, 1), when: 'after the deadline', ok: false },
    { key: OLD, keyName: 'old', now: ms(UNTIL, 86_400_000 * 365), when: 'a year later', ok: false },
    { key: OLD, keyName: 'old', now: undefined, when: 'without a clock', ok: false },
    { key: OTHER, keyName: 'neither', now: ms(UNTIL, -60_000), when: 'during the overlap', ok: false },
  ];
  for (const c of cases) {
    test(`signed with the ${c.keyName} key${c.signType ? ` (${c.signType})` : ''} ${c.when}: ${c.ok ? 'accepted' : 'INVALID_SIGNATURE'}`, () => {
      const fields = signNotification(paidFields('R1'), c.key, c.signType);
      const auth = authenticate(fields, merchants, c.now);
      if (c.ok) assert.ok(auth.ok, auth.ok ? '' : auth.result.message);
      else
        assert.deepEqual(auth.ok ? 'ok' : [auth.result.outcome, auth.result.code], ['REJECTED', 'INVALID_SIGNATURE']);
    });
  }
});

describe('refund req_info encrypted with the old key: decrypts during the overlap only', () => {
  const cases: ReadonlyArray<{ key: string; keyName: string; now: Date | undefined; ok: boolean }> = [
    { key: OLD, keyName: 'old', now: ms(UNTIL, -1), ok: true },
    { key: NEW, keyName: 'new', now: ms(UNTIL, -1), ok: true },
    { key: OLD, keyName: 'old', now: ms(UNTIL, 1), ok: false },
    { key: NEW, keyName: 'new', now: ms(UNTIL, 1), ok: true },
  ];
  for (const c of cases) {
    test(`the ${c.keyName} key ${c.now && c.now > UNTIL ? 'after' : 'before'} the deadline: ${c.ok ? 'read' : 'REFUND_UNDECRYPTABLE'}`, () => {
      const fields = refundEnvelope(refundInnerFields({ outTradeNo: 'R1', outRefundNo: 'RF1', refundFee: 10 }), c.key, {
        mchId: MERCHANT.mchId,
        appid: 'wxd930ea5d5a258f4f',
      });
      const read = readRefundNotification(fields, merchants, c.now);
      if (c.ok) assert.ok(read.ok, read.ok ? '' : read.result.message);
      else
        assert.deepEqual(read.ok ? 'ok' : [read.result.outcome, read.result.code], [
          'REJECTED',
          'REFUND_UNDECRYPTABLE',
        ]);
    });
  }
});
