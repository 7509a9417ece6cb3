// HttpRefundQueryClient (src/reconcile/refundquery-client.ts) over real HTTP against the local
// stand-in of WeChat's v2 API (harness/wechat-orderquery-stand-in.ts), which checks every
// request's signature with the merchant's key and answers signed refundquery replies from a
// script, written from WeChat's documentation and sharing no code with src/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Merchant } from '../../src/notify/merchant';
import type { RefundChange } from '../../src/notify/refund-decide';
import { HttpOrderQueryClient } from '../../src/reconcile/orderquery-client';
import { HttpRefundQueryClient } from '../../src/reconcile/refundquery-client';
import { confirmRefund } from '../../src/reconcile/refundquery-reply';
import { refundQueryTargetOf, type RefundQueryTarget } from '../../src/reconcile/refundquery-request';
import { DEMO, HMAC_ONLY } from '../../harness/sign-notification';
import {
  startOrderQueryStandIn,
  type OrderQueryStandIn,
  type RefundScriptedAnswer,
} from '../../harness/wechat-orderquery-stand-in';

const NOW = new Date('2026-11-28T04:10:00.000Z');
const PROVIDER = { mchId: '1230000109', appid: 'wx8888888888888888', key: 'Provider0Provider1Provider2Provi' };
const SUB_MCH_ID = '1900000109';

const MERCHANTS: Readonly<Record<string, Merchant>> = {
  both: {
    mchId: DEMO.mchId,
    appids: [DEMO.appid],
    apiKey: DEMO.key,
    signTypes: ['MD5', 'HMAC-SHA256'],
    confirmRefundsWithQuery: true,
  },
  md5: { mchId: DEMO.mchId, appids: [DEMO.appid], apiKey: DEMO.key, signTypes: ['MD5'], confirmRefundsWithQuery: true },
  hmac: {
    mchId: HMAC_ONLY.mchId,
    appids: [HMAC_ONLY.appid],
    apiKey: HMAC_ONLY.key,
    signTypes: ['HMAC-SHA256'],
    confirmRefundsWithQuery: true,
  },
  provider: {
    mchId: PROVIDER.mchId,
    appids: [PROVIDER.appid],
    apiKey: PROVIDER.key,
    signTypes: ['MD5', 'HMAC-SHA256'],
    subMchIds: [SUB_MCH_ID],
  },
};

/** A v2 refund notification as read, for `outRefundNo` of order `outTradeNo`. */
function change(
  outRefundNo: string,
  outTradeNo: string,
  merchant: Merchant,
  over: Partial<RefundChange> = {},
): RefundChange {
  return {
    mchId: merchant.subMchIds?.[0] ?? merchant.mchId,
    appid: merchant.appids[0],
    outTradeNo,
    transactionId: `4200${outTradeNo}`,
    outRefundNo,
    refundId: `5030${outRefundNo}`,
    totalFee: 100,
    refundFee: 30,
    state: 'SUCCESS',
    reportedStatus: 'SUCCESS',
    successTime: NOW,
    ...over,
  };
}

describe('HttpRefundQueryClient against the WeChat stand-in', () => {
  let standIn: OrderQueryStandIn;
  /** The stand-in's answers per out_refund_no; unscripted refunds do not exist (REFUNDNOTEXIST). */
  const answers = new Map<string, (attempt: number) => RefundScriptedAnswer>();
  let client: HttpRefundQueryClient;

  before(async () => {
    standIn = await startOrderQueryStandIn([
      { mchId: DEMO.mchId, appid: DEMO.appid, key: DEMO.key },
      { mchId: HMAC_ONLY.mchId, appid: HMAC_ONLY.appid, key: HMAC_ONLY.key },
      PROVIDER,
    ]);
    standIn.refundScript = (outRefundNo, attempt) =>
      answers.get(outRefundNo)?.(attempt) ?? { errCode: 'REFUNDNOTEXIST' };
    client = new HttpRefundQueryClient({ apiBase: standIn.url, timeoutMs: 3_000, clock: () => NOW });
  });
  after(async () => {
    await standIn?.close();
  });

  const success = (
    outRefundNo: string,
    outTradeNo: string,
    over: Partial<Extract<RefundScriptedAnswer, { refundStatus: string }>> = {},
  ): RefundScriptedAnswer => ({
    refundStatus: 'SUCCESS',
    outTradeNo,
    transactionId: `4200${outTradeNo}`,
    refundFee: 30,
    refundId: `5030${outRefundNo}`,
    ...over,
  });

  const cases: ReadonlyArray<{
    name: string;
    merchant: keyof typeof MERCHANTS;
    /** The refund notification to confirm; its out_refund_no is the one queried. */
    change: RefundChange;
    answer?: RefundScriptedAnswer;
    verdict: string;
    confirmation: 'ok' | 'NOT_CONFIRMED' | 'UNAVAILABLE';
  }> = [
    {
      name: 'SUCCESS, HMAC-SHA256',
      merchant: 'both',
      change: change('rq-1', 'o-1', MERCHANTS.both as Merchant),
      answer: success('rq-1', 'o-1'),
      verdict: 'CONFIRMED',
      confirmation: 'ok',
    },
    {
      name: 'SUCCESS, MD5 for an MD5-only merchant',
      merchant: 'md5',
      change: change('rq-2', 'o-2', MERCHANTS.md5 as Merchant),
      answer: success('rq-2', 'o-2'),
      verdict: 'CONFIRMED',
      confirmation: 'ok',
    },
    {
      name: 'SUCCESS for an HMAC-only merchant',
      merchant: 'hmac',
      change: change('rq-3', 'o-3', MERCHANTS.hmac as Merchant),
      answer: success('rq-3', 'o-3'),
      verdict: 'CONFIRMED',
      confirmation: 'ok',
    },
    {
      name: 'SUCCESS listed after two other refunds of the order',
      merchant: 'both',
      change: change('rq-4', 'o-4', MERCHANTS.both as Merchant),
      answer: success('rq-4', 'o-4', { otherRefundsFirst: ['rq-4a', 'rq-4b'] }),
      verdict: 'CONFIRMED',
      confirmation: 'ok',
    },
    {
      name: "a sub-merchant's refund through its provider",
      merchant: 'provider',
      change: change('rq-5', 'o-5', MERCHANTS.provider as Merchant),
      answer: success('rq-5', 'o-5'),
      verdict: 'CONFIRMED',
      confirmation: 'ok',
    },
    {
      name: 'WeChat refunded less than the notification says',
      merchant: 'both',
      change: change('rq-6', 'o-6', MERCHANTS.both as Merchant, { refundFee: 100 }),
      answer: success('rq-6', 'o-6'),
      verdict: 'CONFIRMED',
      confirmation: 'NOT_CONFIRMED',
    },
    {
      name: 'still PROCESSING',
      merchant: 'both',
      change: change('rq-7', 'o-7', MERCHANTS.both as Merchant),
      answer: success('rq-7', 'o-7', { refundStatus: 'PROCESSING' }),
      verdict: 'CONFIRMED',
      confirmation: 'UNAVAILABLE',
    },
    {
      name: 'CHANGE (abnormal)',
      merchant: 'both',
      change: change('rq-8', 'o-8', MERCHANTS.both as Merchant),
      answer: success('rq-8', 'o-8', { refundStatus: 'CHANGE' }),
      verdict: 'CONFIRMED',
      confirmation: 'NOT_CONFIRMED',
    },
    {
      name: 'no such refund (unscripted)',
      merchant: 'both',
      change: change('rq-9', 'o-9', MERCHANTS.both as Merchant),
      verdict: 'NOT_CONFIRMED',
      confirmation: 'NOT_CONFIRMED',
    },
    {
      name: 'filed under another order',
      merchant: 'both',
      change: change('rq-10', 'o-10', MERCHANTS.both as Merchant),
      answer: success('rq-10', 'o-other'),
      verdict: 'NOT_CONFIRMED',
      confirmation: 'NOT_CONFIRMED',
    },
    {
      name: 'a reply signed with another key',
      merchant: 'both',
      change: change('rq-11', 'o-11', MERCHANTS.both as Merchant),
      answer: success('rq-11', 'o-11', { forgedWithKey: 'wrongwrongwrongwrongwrongwrong00' }),
      verdict: 'NO_ANSWER',
      confirmation: 'UNAVAILABLE',
    },
    {
      name: 'a reply about other refunds only',
      merchant: 'both',
      change: change('rq-12', 'o-12', MERCHANTS.both as Merchant),
      answer: success('rq-12', 'o-12', { otherRefundsFirst: ['rq-12a'], onlyOtherRefunds: true }),
      verdict: 'NO_ANSWER',
      confirmation: 'UNAVAILABLE',
    },
    {
      name: 'SYSTEMERROR',
      merchant: 'both',
      change: change('rq-13', 'o-13', MERCHANTS.both as Merchant),
      answer: { errCode: 'SYSTEMERROR' },
      verdict: 'NO_ANSWER',
      confirmation: 'UNAVAILABLE',
    },
    {
      name: 'return_code FAIL',
      merchant: 'both',
      change: change('rq-14', 'o-14', MERCHANTS.both as Merchant),
      answer: { returnFail: '系统繁忙' },
      verdict: 'NO_ANSWER',
      confirmation: 'UNAVAILABLE',
    },
    {
      name: 'HTTP 503',
      merchant: 'both',
      change: change('rq-15', 'o-15', MERCHANTS.both as Merchant),
      answer: { httpStatus: 503 },
      verdict: 'NO_ANSWER',
      confirmation: 'UNAVAILABLE',
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const outRefundNo = c.change.outRefundNo;
      if (c.answer) answers.set(outRefundNo, () => c.answer as RefundScriptedAnswer);
      const merchant = MERCHANTS[c.merchant] as Merchant;
      const target = refundQueryTargetOf(c.change) as RefundQueryTarget;
      const answer = await client.query(target, merchant);
      assert.equal(answer.verdict.kind, c.verdict, answer.verdict.message);
      const r = confirmRefund(answer.verdict, c.change);
      assert.equal(r.ok ? 'ok' : r.failure.kind, c.confirmation, r.ok ? '' : r.failure.detail);
      // WeChat (the stand-in) found our request correctly signed, by out_refund_no.
      const sent = standIn.refundQueries.filter((q) => q.outRefundNo === outRefundNo);
      assert.deepEqual(
        sent.map((q) => q.signatureValid),
        [true],
      );
      assert.equal(sent[0]?.fields['mch_id'], merchant.mchId);
      assert.equal(sent[0]?.fields['sub_mch_id'], c.merchant === 'provider' ? SUB_MCH_ID : undefined);
      assert.equal(standIn.refundCountFor(outRefundNo), 1);
      if (c.answer && !('httpStatus' in c.answer)) assert.notEqual(answer.rawBody, '');
    });
  }

  test('a request signed with the wrong key is refused by the stand-in: NO_ANSWER, RETURN_FAIL', async () => {
    const wrong: Merchant = { ...(MERCHANTS.both as Merchant), apiKey: 'wrongwrongwrongwrongwrongwrong00' };
    const answer = await client.query({ mchId: DEMO.mchId, appid: DEMO.appid, outRefundNo: 'rq-bad' }, wrong);
    assert.deepEqual(
      [answer.verdict.kind, answer.verdict.kind === 'CONFIRMED' ? '' : answer.verdict.label],
      ['NO_ANSWER', 'RETURN_FAIL'],
    );
    assert.deepEqual(
      standIn.refundQueries.filter((q) => q.outRefundNo === 'rq-bad').map((q) => q.signatureValid),
      [false],
    );
  });

  test('nobody listening: NO_ANSWER, TRANSPORT_ERROR', async () => {
    const closed = await startOrderQueryStandIn([]);
    const url = closed.url;
    await closed.close();
    const answer = await new HttpRefundQueryClient({ apiBase: url, timeoutMs: 3_000, clock: () => NOW }).query(
      { mchId: DEMO.mchId, appid: DEMO.appid, outRefundNo: 'rq-x' },
      MERCHANTS.both as Merchant,
    );
    assert.deepEqual(
      [answer.verdict.kind, answer.verdict.kind === 'CONFIRMED' ? '' : answer.verdict.label],
      ['NO_ANSWER', 'TRANSPORT_ERROR'],
    );
  });

  test('orderquery on the same stand-in still answers, and is counted apart', async () => {
    standIn.script = () => ({ tradeState: 'SUCCESS', transactionId: '4200000000000000000000000001' });
    const answer = await new HttpOrderQueryClient({ apiBase: standIn.url, timeoutMs: 3_000, clock: () => NOW }).query(
      { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo: 'o-paid' },
      MERCHANTS.both as Merchant,
    );
    assert.equal(answer.verdict.kind, 'PAID', answer.verdict.message);
    assert.equal(standIn.countFor('o-paid'), 1);
    assert.equal(standIn.refundCountFor('o-paid'), 0);
  });
});
