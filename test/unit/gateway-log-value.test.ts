// gateway/log-value.ts: what a request-supplied value looks like in the gateway's log.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logValue, MAX_LOGGED_VALUE_CHARS } from '../../gateway/log-value';

const cases: ReadonlyArray<{ name: string; value: string; logged: string }> = [
  { name: 'empty', value: '', logged: '' },
  { name: 'a path', value: '/wxpay/notify', logged: '/wxpay/notify' },
  {
    name: 'the longest IPv6 text',
    value: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
    logged: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
  },
  { name: 'exactly the limit', value: 'x'.repeat(MAX_LOGGED_VALUE_CHARS), logged: 'x'.repeat(MAX_LOGGED_VALUE_CHARS) },
  {
    name: 'one over the limit',
    value: 'x'.repeat(MAX_LOGGED_VALUE_CHARS + 1),
    logged: `${'x'.repeat(MAX_LOGGED_VALUE_CHARS - 1)}…`,
  },
  { name: 'a 16 KiB header value', value: 'y'.repeat(16_384), logged: `${'y'.repeat(MAX_LOGGED_VALUE_CHARS - 1)}…` },
];

test('MAX_LOGGED_VALUE_CHARS is 128, as the README says', () => {
  assert.equal(MAX_LOGGED_VALUE_CHARS, 128);
});

for (const c of cases) {
  test(`logValue: ${c.name}`, () => {
    const logged = logValue(c.value);
    assert.equal(logged, c.logged);
    assert.ok(logged.length <= MAX_LOGGED_VALUE_CHARS);
  });
}
