// The reply WeChat gets (gateway/reply.ts): <xml><return_code/><return_msg/></xml>, SUCCESS only
// when the core acknowledged; return_msg is CDATA that stays well-formed whatever it says.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNotifyXml } from '../../gateway/parse-notify-xml';
import { httpStatus, replyFor, replyXml, v3FailureStatus, v3ReplyFor } from '../../gateway/reply';
import { NotifyOutcome, type HandleNotifyResponse } from '../../src/gen/payment/callback/v1/payment_callback';

/** Reads a reply back with the gateway's own strict parser. */
function readReply(xml: string): Record<string, string> {
  const r = parseNotifyXml(Buffer.from(xml, 'utf8'));
  assert.ok(r.ok, r.ok ? '' : `the reply does not parse: ${r.message}\n${xml}`);
  return r.fields;
}

describe('replyXml: return_msg is one CDATA value; a "]]>" in the message is defused, never a second field', () => {
  const cases: ReadonlyArray<{ name: string; success: boolean; message: string; reads?: string }> = [
    { name: 'SUCCESS / OK', success: true, message: 'OK' },
    { name: 'FAIL with a plain message', success: false, message: 'INVALID_SIGNATURE: the signature does not match' },
    { name: 'FAIL with an empty message', success: false, message: '' },
    { name: 'markup characters need no escaping inside CDATA', success: false, message: '<a> & "b" \'c\' </xml>' },
    { name: 'Chinese', success: false, message: '签名错误' },
    { name: 'a "]]>" in the message', success: false, message: 'bad ]]> here', reads: 'bad ]] > here' },
    { name: 'a message that is only "]]>"', success: false, message: ']]>', reads: ']] >' },
    { name: 'two "]]>" in a row', success: false, message: ']]>]]>', reads: ']] >]] >' },
    {
      name: 'a "]]>" that tries to inject a field',
      success: false,
      message: ']]></return_msg><return_code><![CDATA[SUCCESS',
      reads: ']] ></return_msg><return_code><![CDATA[SUCCESS',
    },
    { name: 'control characters become spaces', success: false, message: 'a\u0001b\nc', reads: 'a b c' },
    {
      name: 'long messages are cut at 256 characters',
      success: false,
      message: 'x'.repeat(300),
      reads: 'x'.repeat(256),
    },
    { name: '"]]" and "]>" alone are not terminators', success: false, message: 'a]] b]> c]' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const xml = replyXml(c.success, c.message);
      assert.deepEqual(readReply(xml), {
        return_code: c.success ? 'SUCCESS' : 'FAIL',
        return_msg: c.reads ?? c.message,
      });
    });
  }
});

describe('httpStatus: one status per NotifyOutcome (for access logs; WeChat looks at return_code)', () => {
  const cases: ReadonlyArray<{ outcome: NotifyOutcome; status: number }> = [
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_PAID, status: 200 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE, status: 200 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_CONFLICTING_PAYMENT, status: 200 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_PAYMENT_FAILED, status: 200 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_REJECTED, status: 401 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_ORDER_MISMATCH, status: 409 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_ORDER_NOT_FOUND, status: 404 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_RETRY_LATER, status: 503 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_MALFORMED, status: 400 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_REFUNDED, status: 200 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_REFUND_RECORDED, status: 200 },
    { outcome: NotifyOutcome.NOTIFY_OUTCOME_UNSPECIFIED, status: 502 },
    { outcome: NotifyOutcome.UNRECOGNIZED, status: 502 },
  ];

  test('the table lists every NotifyOutcome value exactly once', () => {
    const all = Object.values(NotifyOutcome)
      .filter((v): v is NotifyOutcome => typeof v === 'number')
      .sort((a, b) => a - b);
    assert.deepEqual(
      cases.map((c) => c.outcome).sort((a, b) => a - b),
      all,
    );
  });
  for (const c of cases) {
    test(`${NotifyOutcome[c.outcome]} -> ${c.status}`, () => assert.equal(httpStatus(c.outcome), c.status));
  }
});

describe('replyFor: SUCCESS/OK exactly when the core acknowledged', () => {
  const response = (
    outcome: NotifyOutcome,
    acknowledge: boolean,
    code: string,
    message: string,
  ): HandleNotifyResponse => ({ outcome, acknowledge, code, message });
  const cases: ReadonlyArray<{
    name: string;
    response: HandleNotifyResponse;
    status: number;
    returnCode: string;
    returnMsg: string;
  }> = [
    {
      name: 'PAID, acknowledged -> SUCCESS / OK',
      response: response(NotifyOutcome.NOTIFY_OUTCOME_PAID, true, 'OK', 'OK'),
      status: 200,
      returnCode: 'SUCCESS',
      returnMsg: 'OK',
    },
    {
      name: 'DUPLICATE, acknowledged -> SUCCESS / OK',
      response: response(NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE, true, 'DUPLICATE', 'OK'),
      status: 200,
      returnCode: 'SUCCESS',
      returnMsg: 'OK',
    },
    {
      name: "CONFLICTING_PAYMENT, acknowledged -> SUCCESS / OK (the core's message stays in the core)",
      response: response(
        NotifyOutcome.NOTIFY_OUTCOME_CONFLICTING_PAYMENT,
        true,
        'CONFLICTING_TRANSACTION',
        'OK: an anomaly was raised',
      ),
      status: 200,
      returnCode: 'SUCCESS',
      returnMsg: 'OK',
    },
    {
      name: 'PAYMENT_FAILED, acknowledged -> SUCCESS / OK',
      response: response(
        NotifyOutcome.NOTIFY_OUTCOME_PAYMENT_FAILED,
        true,
        'PAYMENT_FAILED',
        'payment failure recorded',
      ),
      status: 200,
      returnCode: 'SUCCESS',
      returnMsg: 'OK',
    },
    {
      name: 'REJECTED, not acknowledged -> FAIL / "signature verification failed", whichever check failed',
      response: response(
        NotifyOutcome.NOTIFY_OUTCOME_REJECTED,
        false,
        'UNKNOWN_MERCHANT',
        'mch_id 1 is not configured here',
      ),
      status: 401,
      returnCode: 'FAIL',
      returnMsg: 'signature verification failed',
    },
    {
      name: 'ORDER_NOT_FOUND, not acknowledged -> FAIL',
      response: response(NotifyOutcome.NOTIFY_OUTCOME_ORDER_NOT_FOUND, false, 'ORDER_NOT_FOUND', 'retry later'),
      status: 404,
      returnCode: 'FAIL',
      returnMsg: 'ORDER_NOT_FOUND: retry later',
    },
    {
      name: 'RETRY_LATER, not acknowledged -> FAIL',
      response: response(NotifyOutcome.NOTIFY_OUTCOME_RETRY_LATER, false, 'LOCK_BUSY', 'busy'),
      status: 503,
      returnCode: 'FAIL',
      returnMsg: 'LOCK_BUSY: busy',
    },
    {
      name: 'PAID but not acknowledged -> FAIL (acknowledge decides, not the outcome)',
      response: response(NotifyOutcome.NOTIFY_OUTCOME_PAID, false, 'OK', 'OK'),
      status: 200,
      returnCode: 'FAIL',
      returnMsg: 'OK: OK',
    },
    {
      name: 'UNSPECIFIED, not acknowledged -> FAIL',
      response: response(NotifyOutcome.NOTIFY_OUTCOME_UNSPECIFIED, false, '', ''),
      status: 502,
      returnCode: 'FAIL',
      returnMsg: ': ',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const reply = replyFor(c.response);
      assert.equal(reply.status, c.status);
      assert.deepEqual(readReply(reply.body), { return_code: c.returnCode, return_msg: c.returnMsg });
    });
  }
});

describe('v3FailureStatus: the status of an APIv3 notification the core did not acknowledge (WeChat acts on it)', () => {
  const O = NotifyOutcome;
  const cases: ReadonlyArray<{ outcome: NotifyOutcome; status: number }> = [
    // 4xx: fails the same way until a person changes something.
    { outcome: O.NOTIFY_OUTCOME_REJECTED, status: 401 },
    { outcome: O.NOTIFY_OUTCOME_MALFORMED, status: 400 },
    { outcome: O.NOTIFY_OUTCOME_ORDER_MISMATCH, status: 409 },
    // 5xx: a retry can succeed on its own.
    { outcome: O.NOTIFY_OUTCOME_ORDER_NOT_FOUND, status: 503 },
    { outcome: O.NOTIFY_OUTCOME_RETRY_LATER, status: 503 },
    // Outcomes that always acknowledge: unacknowledged only from a broken core.
    { outcome: O.NOTIFY_OUTCOME_PAID, status: 500 },
    { outcome: O.NOTIFY_OUTCOME_DUPLICATE, status: 500 },
    { outcome: O.NOTIFY_OUTCOME_CONFLICTING_PAYMENT, status: 500 },
    { outcome: O.NOTIFY_OUTCOME_PAYMENT_FAILED, status: 500 },
    { outcome: O.NOTIFY_OUTCOME_REFUNDED, status: 500 },
    { outcome: O.NOTIFY_OUTCOME_REFUND_RECORDED, status: 500 },
    { outcome: O.NOTIFY_OUTCOME_UNSPECIFIED, status: 502 },
    { outcome: O.UNRECOGNIZED, status: 502 },
  ];
  test('the table lists every NotifyOutcome value exactly once', () => {
    const all = Object.values(NotifyOutcome)
      .filter((v): v is NotifyOutcome => typeof v === 'number')
      .sort((a, b) => a - b);
    assert.deepEqual(
      cases.map((c) => c.outcome).sort((a, b) => a - b),
      all,
    );
  });
  for (const c of cases) {
    test(`${NotifyOutcome[c.outcome]} -> ${c.status}`, () => assert.equal(v3FailureStatus(c.outcome), c.status));
  }
});

describe('v3ReplyFor: 204 without a body exactly when the core acknowledged, else {"code":"FAIL"} JSON', () => {
  const O = NotifyOutcome;
  const cases: ReadonlyArray<{
    name: string;
    response: HandleNotifyResponse;
    status: number;
    json?: { code: string; message: string };
  }> = [
    {
      name: 'PAID, acknowledged -> 204',
      response: { outcome: O.NOTIFY_OUTCOME_PAID, acknowledge: true, code: 'OK', message: 'OK' },
      status: 204,
    },
    {
      name: 'REFUNDED, acknowledged -> 204',
      response: { outcome: O.NOTIFY_OUTCOME_REFUNDED, acknowledge: true, code: 'OK', message: 'OK' },
      status: 204,
    },
    {
      name: 'UNSUPPORTED_EVENT_TYPE (MALFORMED) -> 400',
      response: {
        outcome: O.NOTIFY_OUTCOME_MALFORMED,
        acknowledge: false,
        code: 'UNSUPPORTED_EVENT_TYPE',
        message: 'not handled here',
      },
      status: 400,
      json: { code: 'FAIL', message: 'UNSUPPORTED_EVENT_TYPE: not handled here' },
    },
    {
      name: 'SIGNATURE_PROBE (REJECTED) -> 401, naming no check',
      response: { outcome: O.NOTIFY_OUTCOME_REJECTED, acknowledge: false, code: 'SIGNATURE_PROBE', message: 'a probe' },
      status: 401,
      json: { code: 'FAIL', message: 'signature verification failed' },
    },
    {
      name: 'ORDER_NOT_FOUND -> 503 (retry)',
      response: {
        outcome: O.NOTIFY_OUTCOME_ORDER_NOT_FOUND,
        acknowledge: false,
        code: 'ORDER_NOT_PAID',
        message: 'retry later',
      },
      status: 503,
      json: { code: 'FAIL', message: 'ORDER_NOT_PAID: retry later' },
    },
    {
      name: 'a message with control characters and quotes stays one JSON string',
      response: { outcome: O.NOTIFY_OUTCOME_MALFORMED, acknowledge: false, code: 'INVALID_JSON', message: 'a"b\nc' },
      status: 400,
      json: { code: 'FAIL', message: 'INVALID_JSON: a"b c' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const reply = v3ReplyFor(c.response);
      assert.equal(reply.status, c.status);
      if (c.json) {
        assert.deepEqual(JSON.parse(reply.body), c.json);
        assert.match(reply.contentType ?? '', /^application\/json/);
      } else {
        assert.equal(reply.body, '');
      }
    });
  }
});
