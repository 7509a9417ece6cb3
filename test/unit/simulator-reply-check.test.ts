// What counts as an acknowledgement (tools/simulator/reply-check.ts): HTTP 2xx AND return_code
// SUCCESS AND within 5 s. Anything else makes WeChat retry.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkReply, REPLY_TIMEOUT_MS, xmlField } from '../../tools/simulator/reply-check';

const SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
const FAIL =
  '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[INVALID_SIGNATURE: no]]></return_msg></xml>';

describe('checkReply', () => {
  const cases: ReadonlyArray<{
    name: string;
    status: number;
    body: string;
    latency?: number;
    acknowledged: boolean;
    reason: string;
  }> = [
    { name: '200 with SUCCESS in CDATA', status: 200, body: SUCCESS, acknowledged: true, reason: 'SUCCESS' },
    {
      name: '200 with SUCCESS as plain text',
      status: 200,
      body: '<xml><return_code>SUCCESS</return_code></xml>',
      acknowledged: true,
      reason: 'SUCCESS',
    },
    { name: '204-style 2xx with SUCCESS', status: 202, body: SUCCESS, acknowledged: true, reason: 'SUCCESS' },
    {
      name: 'whitespace around the value',
      status: 200,
      body: '<xml>\n <return_code> <![CDATA[SUCCESS]]> </return_code>\n</xml>',
      acknowledged: true,
      reason: 'SUCCESS',
    },
    {
      name: 'exactly at the timeout still counts',
      status: 200,
      body: SUCCESS,
      latency: REPLY_TIMEOUT_MS,
      acknowledged: true,
      reason: 'SUCCESS',
    },
    {
      name: 'SUCCESS after the 5 s timeout does not count',
      status: 200,
      body: SUCCESS,
      latency: 5_001,
      acknowledged: false,
      reason: 'late (5001 ms > 5000 ms)',
    },
    { name: 'SUCCESS body with HTTP 500', status: 500, body: SUCCESS, acknowledged: false, reason: 'HTTP 500' },
    { name: 'SUCCESS body with HTTP 301', status: 301, body: SUCCESS, acknowledged: false, reason: 'HTTP 301' },
    { name: 'SUCCESS body with HTTP 404', status: 404, body: SUCCESS, acknowledged: false, reason: 'HTTP 404' },
    { name: '200 with FAIL', status: 200, body: FAIL, acknowledged: false, reason: 'return_code FAIL' },
    { name: '503 with FAIL', status: 503, body: FAIL, acknowledged: false, reason: 'HTTP 503' },
    {
      name: '200 with an empty body',
      status: 200,
      body: '',
      acknowledged: false,
      reason: 'no return_code in the reply',
    },
    {
      name: '200 with "success" in lower case',
      status: 200,
      body: '<xml><return_code>success</return_code></xml>',
      acknowledged: false,
      reason: 'return_code success',
    },
    {
      name: '200 with plain text SUCCESS, not XML',
      status: 200,
      body: 'SUCCESS',
      acknowledged: false,
      reason: 'no return_code in the reply',
    },
    {
      name: '200 with two return_codes',
      status: 200,
      body: `${SUCCESS}${FAIL}`,
      acknowledged: false,
      reason: 'no return_code in the reply',
    },
    {
      name: '200 with JSON',
      status: 200,
      body: '{"code":"SUCCESS","message":"OK"}',
      acknowledged: false,
      reason: 'no return_code in the reply',
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.acknowledged ? 'acknowledged' : 'retried'}`, () => {
      const v = checkReply(c.status, c.body, c.latency ?? 10);
      assert.deepEqual([v.acknowledged, v.reason], [c.acknowledged, c.reason]);
    });
  }
  test('return_msg is read for the log', () => {
    assert.equal(checkReply(200, FAIL, 1).returnMsg, 'INVALID_SIGNATURE: no');
  });
});

describe('xmlField', () => {
  const cases: ReadonlyArray<[string, string, string | undefined]> = [
    ['<xml><a><![CDATA[x]]></a></xml>', 'a', 'x'],
    ['<xml><a>x</a></xml>', 'a', 'x'],
    ['<xml><a></a></xml>', 'a', ''],
    ['<xml><b>x</b></xml>', 'a', undefined],
    ['<xml><a>x</a><a>y</a></xml>', 'a', undefined],
    ['<xml><a><![CDATA[<b>]]></a></xml>', 'a', '<b>'],
  ];
  for (const [body, name, expected] of cases)
    test(`${body} ${name} => ${String(expected)}`, () => assert.equal(xmlField(body, name), expected));
});
