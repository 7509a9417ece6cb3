// The re-cut rule (src/notify/recut-suspicion.ts): a value that embeds `&NAME=` for a field
// WeChat documents makes the notification's signed text ambiguous; anything else does not.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recutSuspicion } from '../../src/notify/recut-suspicion';

const cases: ReadonlyArray<{
  name: string;
  fields: Record<string, string>;
  expected: { field: string; embedded: string } | undefined;
}> = [
  { name: 'a plain attach', fields: { attach: '支付测试' }, expected: undefined },
  {
    name: 'an attach with & and = naming no documented field',
    fields: { attach: 'note=gift&qty=2' },
    expected: undefined,
  },
  { name: 'an ampersand alone', fields: { attach: 'A & B' }, expected: undefined },
  {
    name: 'the injected text of the genuine cut',
    fields: { attach: 'x&mch_id=1&out_trade_no=vip&tr=' },
    expected: { field: 'attach', embedded: 'mch_id' },
  },
  {
    name: 'the swallowing field of the forged cut',
    fields: { attach: 'x', tr: '&bank_type=CMC&cash_fee=1' },
    expected: { field: 'tr', embedded: 'bank_type' },
  },
  {
    name: 'a numbered coupon field',
    fields: { device_info: 'a&coupon_fee_3=1' },
    expected: { field: 'device_info', embedded: 'coupon_fee_3' },
  },
  {
    name: 'an unknown field name alone (WeChat adds fields)',
    fields: { attach: 'x', promotion_tag: 'y' },
    expected: undefined,
  },
  { name: 'sign is outside the signed text', fields: { sign: 'x&total_fee=1' }, expected: undefined },
  { name: 'case matters: Total_fee is not total_fee', fields: { attach: 'a&Total_fee=1' }, expected: undefined },
];

for (const c of cases) {
  test(c.name, () => {
    assert.deepEqual(recutSuspicion(c.fields), c.expected);
  });
}
