// The outer XML of a v2 refund notification (src/notify/v2-refund/refund-envelope.ts): return_code,
// appid, mch_id, nonce_str and req_info; no sign (the encryption of req_info is the proof).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RefundErrorCode } from '../../src/notify/v2-refund/refund-error';
import {
  parseRefundEnvelope,
  type RefundEnvelope,
  type RefundEnvelopeParse,
} from '../../src/notify/v2-refund/refund-envelope';

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-refund-req-info.json'), 'utf8'),
) as { readonly req_info: string };

/** A refund notification laid out as WeChat Pay's v2 documentation shows it, carrying the vector's req_info. */
const ENVELOPE: Readonly<Record<string, string>> = Object.freeze({
  return_code: 'SUCCESS',
  appid: 'wx2421b1c4370ec43b',
  mch_id: '10000100',
  nonce_str: 'TeqClE3i0mvn3DrK',
  req_info: vector.req_info,
});

function withFields(changes: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = { ...ENVELOPE };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function codeOf(r: RefundEnvelopeParse): RefundErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('a documented refund notification envelope', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; expected: RefundEnvelope }> = [
    {
      name: 'direct merchant',
      fields: { ...ENVELOPE },
      expected: {
        appid: 'wx2421b1c4370ec43b',
        mchId: '10000100',
        nonceStr: 'TeqClE3i0mvn3DrK',
        reqInfo: vector.req_info,
      },
    },
    {
      name: 'service provider: sub_appid and sub_mch_id are kept',
      fields: withFields({ sub_appid: 'wx8888888888888888', sub_mch_id: '1900000109' }),
      expected: {
        appid: 'wx2421b1c4370ec43b',
        mchId: '10000100',
        nonceStr: 'TeqClE3i0mvn3DrK',
        reqInfo: vector.req_info,
        subAppid: 'wx8888888888888888',
        subMchId: '1900000109',
      },
    },
    {
      name: 'empty sub_ fields are absent ones',
      fields: withFields({ sub_appid: '', sub_mch_id: '' }),
      expected: {
        appid: 'wx2421b1c4370ec43b',
        mchId: '10000100',
        nonceStr: 'TeqClE3i0mvn3DrK',
        reqInfo: vector.req_info,
      },
    },
    {
      name: 'a sign field, which WeChat does not send here, is ignored rather than trusted',
      fields: withFields({ sign: 'B552ED6B279343CB493C5DD0D78AB241' }),
      expected: {
        appid: 'wx2421b1c4370ec43b',
        mchId: '10000100',
        nonceStr: 'TeqClE3i0mvn3DrK',
        reqInfo: vector.req_info,
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundEnvelope(c.fields);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.envelope, c.expected);
    });
  }
});

describe('return_code must be SUCCESS', () => {
  const cases: ReadonlyArray<{ name: string; fields: Record<string, string>; inMessage: string }> = [
    {
      name: "FAIL, with WeChat's return_msg quoted",
      fields: withFields({ return_code: 'FAIL', return_msg: '签名失败' }),
      inMessage: '签名失败',
    },
    { name: 'absent', fields: withFields({ return_code: undefined }), inMessage: 'got none' },
    { name: 'empty', fields: withFields({ return_code: '' }), inMessage: 'got none' },
    { name: 'lower case', fields: withFields({ return_code: 'success' }), inMessage: 'success' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundEnvelope(c.fields);
      assert.equal(codeOf(r), 'RETURN_CODE_NOT_SUCCESS');
      assert.ok(!r.ok && r.error.message.includes(c.inMessage), r.ok ? '' : r.error.message);
    });
  }
});

describe('required fields: absent or empty is MISSING_FIELD, naming each', () => {
  const names = ['appid', 'mch_id', 'nonce_str', 'req_info'];
  const cases = names
    .flatMap((name) => [
      { name: `${name} absent`, fields: withFields({ [name]: undefined }), missing: [name] },
      { name: `${name} empty`, fields: withFields({ [name]: '' }), missing: [name] },
    ])
    .concat([
      { name: 'all absent', fields: withFields(Object.fromEntries(names.map((n) => [n, undefined]))), missing: names },
    ]);
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundEnvelope(c.fields);
      assert.equal(codeOf(r), 'MISSING_FIELD');
      for (const n of c.missing) assert.ok(!r.ok && r.error.message.includes(n), `names ${n}`);
    });
  }
});

describe('field shapes: INVALID_FIELD, naming the field', () => {
  const cases: ReadonlyArray<{ name: string; field: string; value: string }> = [
    { name: 'appid longer than 32', field: 'appid', value: 'w'.repeat(33) },
    { name: 'appid with a space', field: 'appid', value: 'wx 2421' },
    { name: 'mch_id with markup', field: 'mch_id', value: '1000<0100' },
    { name: 'nonce_str longer than 32', field: 'nonce_str', value: 'a'.repeat(33) },
    { name: 'nonce_str with punctuation', field: 'nonce_str', value: 'abc-def' },
    { name: 'sub_mch_id with a space', field: 'sub_mch_id', value: '1900 0109' },
    { name: 'sub_appid longer than 32', field: 'sub_appid', value: 'w'.repeat(33) },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseRefundEnvelope(withFields({ [c.field]: c.value }));
      assert.equal(codeOf(r), 'INVALID_FIELD');
      assert.ok(!r.ok && r.error.message.startsWith(c.field), r.ok ? '' : r.error.message);
    });
  }
});
