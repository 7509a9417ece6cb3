// WeChat Pay API v2 signature (src/notify/sign.ts), rule by rule.
//
// The rule: take every field with a non-empty value except `sign` (`sign_type` is kept), sort the
// keys in ASCII order, join as k=v&k=v (values raw, not URL-encoded), append &key=<API key>, then
// MD5 or HMAC-SHA256 (keyed with the API key) over the UTF-8 bytes, upper-case hex.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sign, signaturesEqual, signString, type SignType } from '../../src/notify/sign';
import { signNotification } from '../../harness/sign-notification';

interface SignVector {
  readonly key: string;
  readonly fields: Record<string, string>;
  readonly string_a: string;
  readonly string_sign_temp: string;
  readonly md5: string;
  readonly hmac_sha256: string;
}

// Tests run from dist/test/unit: resolve the fixture from the repository root.
const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-sign.json'), 'utf8'),
) as SignVector;

const K = 'K';

describe('official vector: the worked example in WeChat Pay v2 documentation', () => {
  const cases: ReadonlyArray<{ name: string; actual: () => string; expected: string }> = [
    {
      name: 'stringA: sorted k=v pairs (the signed string without &key=)',
      actual: () => signString(vector.fields, vector.key).slice(0, -`&key=${vector.key}`.length),
      expected: vector.string_a,
    },
    {
      name: 'stringSignTemp: stringA + &key=<API key>',
      actual: () => signString(vector.fields, vector.key),
      expected: vector.string_sign_temp,
    },
    { name: 'MD5', actual: () => sign(vector.fields, vector.key, 'MD5'), expected: vector.md5 },
    { name: 'HMAC-SHA256', actual: () => sign(vector.fields, vector.key, 'HMAC-SHA256'), expected: vector.hmac_sha256 },
    {
      // The fixtures of the other tests come from this independent signer: it must agree too.
      name: 'the test signer (harness/sign-notification.ts) reproduces the MD5 vector',
      actual: () => signNotification(vector.fields, vector.key, 'MD5')['sign'] ?? '',
      expected: vector.md5,
    },
  ];
  for (const c of cases) test(c.name, () => assert.equal(c.actual(), c.expected));
});

describe('which fields are signed', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; expected: string }> = [
    { name: 'empty values are skipped', fields: { a: '1', b: '', c: '3' }, expected: 'a=1&c=3&key=K' },
    {
      name: 'sign itself is excluded',
      fields: { a: '1', sign: '9A0A8659F005D6984697E2CA0A9CF3B7' },
      expected: 'a=1&key=K',
    },
    {
      name: 'sign_type is included',
      fields: { a: '1', sign_type: 'HMAC-SHA256' },
      expected: 'a=1&sign_type=HMAC-SHA256&key=K',
    },
    {
      name: 'an empty sign_type is skipped like any empty value',
      fields: { a: '1', sign_type: '' },
      expected: 'a=1&key=K',
    },
    { name: 'a whitespace-only value is not empty and is signed', fields: { a: ' ' }, expected: 'a= &key=K' },
    {
      name: 'values are used raw, not URL-encoded or escaped',
      fields: { attach: 'a&b=c <d> %20' },
      expected: 'attach=a&b=c <d> %20&key=K',
    },
    {
      name: 'fields unknown to us are signed like any other',
      fields: { zz_new_field: 'x', a: '1' },
      expected: 'a=1&zz_new_field=x&key=K',
    },
    { name: 'no fields: only the key', fields: {}, expected: 'key=K' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(signString(c.fields, K), c.expected));
});

describe('keys are sorted in ASCII order', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; expected: string }> = [
    { name: 'insertion order does not matter', fields: { c: '3', a: '1', b: '2' }, expected: 'a=1&b=2&c=3&key=K' },
    {
      name: 'upper case before lower case',
      fields: { b: '1', B: '2', a: '3', A: '4' },
      expected: 'A=4&B=2&a=3&b=1&key=K',
    },
    {
      name: '_ sorts after upper case and before lower case',
      fields: { ab: '1', a_b: '2', aB: '3' },
      expected: 'aB=3&a_b=2&ab=1&key=K',
    },
    {
      name: 'a key sorts before its longer extensions',
      fields: { nonce_str: '2', nonce: '1' },
      expected: 'nonce=1&nonce_str=2&key=K',
    },
    {
      name: 'digits sort as characters, not numbers (coupon_fee_10 before coupon_fee_2)',
      fields: { coupon_fee_2: 'c', coupon_fee_10: 'b', coupon_fee_0: 'a', coupon_fee: 'x' },
      expected: 'coupon_fee=x&coupon_fee_0=a&coupon_fee_10=b&coupon_fee_2=c&key=K',
    },
  ];
  for (const c of cases) test(c.name, () => assert.equal(signString(c.fields, K), c.expected));
});

describe('non-ASCII values are signed as UTF-8 bytes', () => {
  // Expected digests computed outside Node, e.g.
  //   printf '%s' 'attach=支付测试&body=测试商品&key=192006250b4c09247ec02edce69f6a2d' | md5sum
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; signType: SignType; expected: string }> = [
    {
      name: 'Chinese, MD5',
      fields: { body: '测试商品', attach: '支付测试' },
      signType: 'MD5',
      expected: '0217F439638D0D264CEF819C36431C0B',
    },
    {
      name: 'Chinese, HMAC-SHA256',
      fields: { body: '测试商品', attach: '支付测试' },
      signType: 'HMAC-SHA256',
      expected: 'DB2DE6ACCAF1AC73AC2C012854A8A6F651B3696D6E6804E34B6AD3BFFA85EEBD',
    },
    {
      name: 'accented letter and an emoji (astral plane), MD5',
      fields: { body: 'café 😀' },
      signType: 'MD5',
      expected: '72D19FEF96519535FA1B7BF15DFD2CE7',
    },
    {
      name: 'accented letter and an emoji (astral plane), HMAC-SHA256',
      fields: { body: 'café 😀' },
      signType: 'HMAC-SHA256',
      expected: 'ED9D90402738479793D8D8C67B610AF46D1FEC566526BC1349272B7839599CFF',
    },
  ];
  for (const c of cases) test(c.name, () => assert.equal(sign(c.fields, vector.key, c.signType), c.expected));
});

describe('signaturesEqual: the received signature against the computed one', () => {
  const md5 = vector.md5;
  const cases: ReadonlyArray<{ name: string; expected: string; received: string; equal: boolean }> = [
    { name: 'identical', expected: md5, received: md5, equal: true },
    { name: 'lower-case hex is accepted', expected: md5, received: md5.toLowerCase(), equal: true },
    {
      name: 'mixed-case hex is accepted',
      expected: md5,
      received: `${md5.slice(0, 16).toLowerCase()}${md5.slice(16)}`,
      equal: true,
    },
    { name: 'differs in the last character', expected: md5, received: `${md5.slice(0, -1)}8`, equal: false },
    { name: 'differs in the first character', expected: md5, received: `0${md5.slice(1)}`, equal: false },
    { name: 'one character shorter', expected: md5, received: md5.slice(0, -1), equal: false },
    { name: 'one character longer', expected: md5, received: `${md5}0`, equal: false },
    { name: 'empty', expected: md5, received: '', equal: false },
    { name: 'an MD5 where an HMAC-SHA256 was expected', expected: vector.hmac_sha256, received: md5, equal: false },
    {
      // U+FB00 LATIN SMALL LIGATURE FF upper-cases to the two letters "FF": not a hex digit, not a signature.
      name: 'a non-hex character whose upper case is hex (U+FB00 "ﬀ" for "FF") is rejected',
      expected: `${md5.slice(0, 30)}FF`,
      received: `${md5.slice(0, 30)}\uFB00`,
      equal: false,
    },
  ];
  for (const c of cases) test(c.name, () => assert.equal(signaturesEqual(c.expected, c.received), c.equal));
});
