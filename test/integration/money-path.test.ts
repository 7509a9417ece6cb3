// The money path's rules that an adversarial review found missing, each through a real core (real
// gRPC over a socket) on SQLite with the in-process lock and on PostgreSQL with Redlock over three
// Redis nodes, with WeChat's orderquery played by the local stand-in. Each describe is one rule;
// each failed before the one-path rewrite (issue: "One money path").

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import { NotifyOutcome, OrderStatus } from '../../src/gen/payment/callback/v1/payment_callback';
import { orderLockKey } from '../../src/lock/order-lock';
import { POSTGRES_REDLOCK, SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { DEMO, newTradeNo, paidFields, signNotification, toNotifyXml } from '../../harness/sign-notification';
import { orderTrail, startTestCore, tableCounts, type TestCore } from '../../harness/test-core';
import { newV3Key, signV3, transactionResource, v3Body } from '../../harness/v3-notification';
import {
  startOrderQueryStandIn,
  type OrderQueryStandIn,
  type RefundScriptedAnswer,
  type ScriptedAnswer,
} from '../../harness/wechat-orderquery-stand-in';
import { refundEnvelope, refundInnerFields } from '../../harness/refund-notification';

const O = NotifyOutcome;
const V3_KEY = 'ApiV3Key0123456789abcdefghijklmn';
const PUBKEY = newV3Key('PUB_KEY_ID_0114232134912410000000000777');
const V3M = { mchId: '1900000100', appid: 'wxd678efh567hg6787', key: 'V2key0123456789abcdefghijklmnopq' };
/** A merchant that has its v2 refunds confirmed with refundquery before they are credited. */
const CAREFUL = { mchId: '10000300', appid: 'wx0000000000000300', key: 'Careful0123456789abcdefghijklmno' };
const MERCHANTS = JSON.stringify([
  { mch_id: DEMO.mchId, appids: [DEMO.appid], api_key: DEMO.key, sign_types: ['MD5', 'HMAC-SHA256'] },
  { mch_id: CAREFUL.mchId, appids: [CAREFUL.appid], api_key: CAREFUL.key, confirm_refunds_with_query: true },
  {
    mch_id: V3M.mchId,
    appids: [V3M.appid],
    api_key: V3M.key,
    apiv3_key: V3_KEY,
    wechatpay_public_keys: [{ id: PUBKEY.id, pem: PUBKEY.publicPem }],
  },
]);

const signed = (fields: Record<string, string>): Record<string, string> => signNotification(fields, DEMO.key);
const tx = (label: string): string => `4200${label}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0');

/** The v2 signed text WeChat computes: sorted non-empty k=v pairs, sign left out. */
const signedText = (fields: Record<string, string>): string =>
  Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k] ?? ''}`)
    .join('&');

for (const kind of [SQLITE_IN_PROCESS, POSTGRES_REDLOCK]) {
  describe(`the money path on ${kind.name}`, () => {
    let backend: Backend;
    let standIn: OrderQueryStandIn;
    let core: TestCore;
    const answers = new Map<string, ScriptedAnswer>();
    const refundAnswers = new Map<string, RefundScriptedAnswer>();

    before(async () => {
      [backend, standIn] = await Promise.all([
        kind.start(),
        startOrderQueryStandIn(
          [
            { mchId: DEMO.mchId, appid: DEMO.appid, key: DEMO.key },
            { mchId: CAREFUL.mchId, appid: CAREFUL.appid, key: CAREFUL.key },
          ],
          (outTradeNo) => answers.get(outTradeNo) ?? { tradeState: 'NOTPAY' },
          (outRefundNo) => refundAnswers.get(outRefundNo) ?? { errCode: 'REFUNDNOTEXIST' },
        ),
      ]);
      core = await startTestCore({
        databaseUrl: backend.databaseUrl,
        redisUrls: backend.redis.map((r) => r.url),
        env: { MERCHANTS_JSON: MERCHANTS, WECHATPAY_API_BASE: standIn.url, LOCK_WAIT_MS: '300' },
      });
    });
    after(async () => {
      await core?.stop();
      await standIn?.close();
      await backend?.dispose();
    });

    describe('a re-cut v2 notification pays nothing WeChat did not report paid', () => {
      test('the attach re-cut: the forged cut is refused unconfirmed, the genuine cut pays its own 1-fen order after orderquery', async () => {
        const cheap = newTradeNo('CHEAP');
        const vip = newTradeNo('VIP');
        await core.createOrder({ outTradeNo: cheap, totalFee: 1 });
        await core.createOrder({ outTradeNo: vip, totalFee: 100000 });
        const injected = `x&mch_id=${DEMO.mchId}&out_trade_no=${vip}&result_code=SUCCESS&return_code=SUCCESS&time_end=20261127120000&total_fee=100000&tr=`;
        const genuine = signed(
          paidFields(cheap, { attach: injected, total_fee: '1', cash_fee: '1', transaction_id: tx(cheap) }),
        );
        // The same signed text, cut the other way: attach=x, the injected fields as fields, tr
        // swallowing the genuine tail up to the genuine transaction_id, which stays a field.
        const text = signedText(genuine);
        const tail = text.slice(text.indexOf('&tr=') + '&tr='.length, text.indexOf('&transaction_id='));
        const recut: Record<string, string> = {
          appid: DEMO.appid,
          attach: 'x',
          mch_id: DEMO.mchId,
          out_trade_no: vip,
          result_code: 'SUCCESS',
          return_code: 'SUCCESS',
          time_end: '20261127120000',
          total_fee: '100000',
          tr: tail,
          transaction_id: tx(cheap),
          sign: genuine['sign'] ?? '',
        };
        assert.equal(signedText(recut), signedText(genuine), 'the re-cut must sign the same text');
        const before = await tableCounts(core.db);

        answers.set(vip, { tradeState: 'NOTPAY' });
        const forged = await core.notify(recut, toNotifyXml(recut));
        assert.deepEqual([forged.outcome, forged.code], [O.NOTIFY_OUTCOME_REJECTED, 'NOT_CONFIRMED']);
        assert.equal((await core.getOrder(vip)).order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
        assert.deepEqual(await tableCounts(core.db), before, 'an unconfirmed notification writes nothing');

        answers.set(cheap, { tradeState: 'SUCCESS', transactionId: tx(cheap), totalFee: 1 });
        const paid = await core.notify(genuine, toNotifyXml(genuine));
        assert.deepEqual([paid.outcome, paid.code], [O.NOTIFY_OUTCOME_PAID, 'OK']);
        const order = (await core.getOrder(cheap)).order;
        assert.deepEqual([order?.status, order?.transactionId], [OrderStatus.ORDER_STATUS_PAID, tx(cheap)]);
        assert.equal((await core.getOrder(vip)).order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
        assert.deepEqual([standIn.countFor(vip), standIn.countFor(cheap)], [1, 1]);
      });

      const cases: ReadonlyArray<{
        name: string;
        attach: string;
        answer: (tradeNo: string) => ScriptedAnswer;
        expect: [NotifyOutcome, string];
        queried: number;
      }> = [
        {
          name: 'attach "note=gift&qty=2" names no documented field: paid without asking',
          attach: 'note=gift&qty=2',
          answer: () => ({ tradeState: 'NOTPAY' }),
          expect: [O.NOTIFY_OUTCOME_PAID, 'OK'],
          queried: 0,
        },
        {
          name: 'a suspicious attach that WeChat confirms paid: paid',
          attach: 'a&total_fee=1',
          answer: (t) => ({ tradeState: 'SUCCESS', transactionId: tx(t), totalFee: 100 }),
          expect: [O.NOTIFY_OUTCOME_PAID, 'OK'],
          queried: 1,
        },
        {
          name: 'a suspicious attach, WeChat says CLOSED: refused',
          attach: 'a&out_trade_no=1',
          answer: () => ({ tradeState: 'CLOSED' }),
          expect: [O.NOTIFY_OUTCOME_REJECTED, 'NOT_CONFIRMED'],
          queried: 1,
        },
        {
          name: 'a suspicious attach, orderquery fails: FAIL, WeChat retries',
          attach: 'a&coupon_fee_0=1',
          answer: () => ({ errCode: 'SYSTEMERROR' }),
          expect: [O.NOTIFY_OUTCOME_RETRY_LATER, 'CONFIRMATION_UNAVAILABLE'],
          queried: 1,
        },
        {
          name: 'a suspicious attach, a forged orderquery reply: FAIL, WeChat retries',
          attach: 'a&mch_id=1',
          answer: (t) => ({
            tradeState: 'SUCCESS',
            transactionId: tx(t),
            forgedWithKey: 'Forged0123456789abcdefghijklmnop',
          }),
          expect: [O.NOTIFY_OUTCOME_RETRY_LATER, 'CONFIRMATION_UNAVAILABLE'],
          queried: 1,
        },
      ];
      for (const c of cases) {
        test(c.name, async () => {
          const tradeNo = newTradeNo('AT');
          await core.createOrder({ outTradeNo: tradeNo });
          answers.set(tradeNo, c.answer(tradeNo));
          const fields = signed(paidFields(tradeNo, { attach: c.attach, transaction_id: tx(tradeNo) }));
          const r = await core.notify(fields, toNotifyXml(fields));
          assert.deepEqual([r.outcome, r.code], c.expect, r.message);
          assert.equal(standIn.countFor(tradeNo), c.queried);
        });
      }
    });

    describe('one WeChat transaction pays at most one order', () => {
      test('the same transaction for a second order: that order stays NOTPAY, an anomaly TRANSACTION_REUSED, acknowledged', async () => {
        const [a, b] = [newTradeNo('TA'), newTradeNo('TB')];
        await core.createOrder({ outTradeNo: a });
        await core.createOrder({ outTradeNo: b });
        const shared = tx(a);
        assert.equal(
          (await core.notify(signed(paidFields(a, { transaction_id: shared })))).outcome,
          O.NOTIFY_OUTCOME_PAID,
        );
        const second = await core.notify(signed(paidFields(b, { transaction_id: shared })));
        assert.deepEqual(
          [second.outcome, second.code, second.acknowledge],
          [O.NOTIFY_OUTCOME_CONFLICTING_PAYMENT, 'TRANSACTION_REUSED', true],
        );
        const trail = await orderTrail(core.db, b);
        assert.equal(trail.order?.['status'], 'NOTPAY');
        assert.deepEqual(
          trail.anomalies.map((x) => x['kind']),
          ['TRANSACTION_REUSED'],
        );
        assert.deepEqual(
          trail.events.map((e) => e['type']),
          ['ANOMALY_RAISED'],
        );
        // The redelivery raises nothing new.
        await core.notify(signed(paidFields(b, { transaction_id: shared, nonce_str: 'again' })));
        assert.equal((await orderTrail(core.db, b)).anomalies.length, 1);
      });

      test('ten orders raced with one transaction at once: exactly one is paid', async () => {
        const orders = Array.from({ length: 10 }, () => newTradeNo('TR'));
        for (const o of orders) await core.createOrder({ outTradeNo: o });
        const shared = tx(`R${orders[0] ?? ''}`);
        const replies = await Promise.all(
          orders.map((o) => core.notify(signed(paidFields(o, { transaction_id: shared })))),
        );
        const paid = replies.filter((r) => r.outcome === O.NOTIFY_OUTCOME_PAID).length;
        const rows = (await core.db('orders').where({ transaction_id: shared })) as unknown[];
        assert.deepEqual([paid, rows.length], [1, 1], replies.map((r) => r.code).join(','));
      });
    });

    describe('the schema refuses what the code must never do', () => {
      const cases: ReadonlyArray<{
        name: string;
        change: (paid: string, other: string) => Record<string, unknown>;
        on: 'paid' | 'other';
      }> = [
        {
          name: 'a second order with a paid transaction',
          on: 'other',
          change: (paid) => ({ status: 'PAID', transaction_id: tx(paid), paid_at_ms: 1 }),
        },
        {
          name: 'PAID back to NOTPAY',
          on: 'paid',
          change: () => ({ status: 'NOTPAY', transaction_id: null, paid_at_ms: null }),
        },
        { name: 'a PAID order to another transaction', on: 'paid', change: () => ({ transaction_id: 'another' }) },
        { name: 'refunded_fee above total_fee', on: 'paid', change: () => ({ refunded_fee: 101 }) },
        { name: 'refunded_fee falling', on: 'paid', change: () => ({ refunded_fee: -1 }) },
        {
          name: 'a PAID order to another currency or appid',
          on: 'paid',
          change: () => ({ fee_type: 'USD', appid: 'wxother' }),
        },
        { name: 'PAID without a transaction', on: 'other', change: () => ({ status: 'PAID', paid_at_ms: 1 }) },
      ];
      for (const c of cases) {
        test(c.name, async () => {
          const [paid, other] = [newTradeNo('SP'), newTradeNo('SO')];
          await core.createOrder({ outTradeNo: paid });
          await core.createOrder({ outTradeNo: other });
          await core.notify(signed(paidFields(paid, { transaction_id: tx(paid) })));
          const target = c.on === 'paid' ? paid : other;
          await assert.rejects(core.db('orders').where({ out_trade_no: target }).update(c.change(paid, other)));
          const row = (await core.db('orders').where({ out_trade_no: target }).first()) as Record<string, unknown>;
          assert.equal(row['status'], c.on === 'paid' ? 'PAID' : 'NOTPAY');
        });
      }
    });

    describe('a payment that arrives before its order is applied at CreateOrder, and the caller sees what became of it', () => {
      test('API v3: ORDER_NOT_FOUND, then CreateOrder pays it', async () => {
        const tradeNo = newTradeNo('V3P');
        const body = v3Body(
          `EV-${tradeNo}`,
          'TRANSACTION.SUCCESS',
          transactionResource({
            mchid: V3M.mchId,
            appid: V3M.appid,
            outTradeNo: tradeNo,
            transactionId: tx(tradeNo),
            total: 100,
          }),
          V3_KEY,
        );
        const early = await core.v3Notify(signV3(body, PUBKEY, Math.floor(Date.now() / 1000)), body);
        assert.equal(early.outcome, O.NOTIFY_OUTCOME_ORDER_NOT_FOUND);
        const created = await core.createOrder({ mchId: V3M.mchId, appid: V3M.appid, outTradeNo: tradeNo });
        assert.equal(created.order?.status, OrderStatus.ORDER_STATUS_PAID);
        assert.deepEqual(
          created.parkedPayments.map((p) => [p.transactionId, p.outcome, p.code]),
          [[tx(tradeNo), O.NOTIFY_OUTCOME_PAID, 'OK']],
        );
        const again = await core.createOrder({ mchId: V3M.mchId, appid: V3M.appid, outTradeNo: tradeNo });
        assert.deepEqual([again.created, again.parkedPayments.length], [false, 0]);
      });

      test('API v2 with an amount that differs: the order stays NOTPAY and the response says ORDER_MISMATCH', async () => {
        const tradeNo = newTradeNo('V2M');
        await core.notify(signed(paidFields(tradeNo, { total_fee: '99', cash_fee: '99' })));
        const created = await core.createOrder({ outTradeNo: tradeNo, totalFee: 100 });
        assert.equal(created.order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
        assert.deepEqual(
          created.parkedPayments.map((p) => [p.outcome, p.code]),
          [[O.NOTIFY_OUTCOME_ORDER_MISMATCH, 'AMOUNT_MISMATCH']],
        );
        const metric = await core.metrics.parkedReplays.get();
        assert.ok(metric.values.some((v) => v.labels['outcome'] === 'ORDER_MISMATCH' && v.value >= 1));
      });

      // Redlock can be held from outside the core; the in-process lock cannot.
      if (kind === POSTGRES_REDLOCK)
        test('a lock held elsewhere: RETRY_LATER in the response, and the identical CreateOrder retried later pays', async () => {
          const tradeNo = newTradeNo('V2L');
          await core.notify(signed(paidFields(tradeNo)));
          const clients = backend.redis.map((r) => new Redis(r.url, { lazyConnect: true, maxRetriesPerRequest: 1 }));
          const key = orderLockKey(DEMO.mchId, tradeNo);
          try {
            await Promise.all(clients.map((c) => c.set(key, 'held-by-test', 'PX', 30_000)));
            const first = await core.createOrder({ outTradeNo: tradeNo });
            assert.equal(first.order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
            assert.deepEqual(
              first.parkedPayments.map((p) => [p.outcome, p.code]),
              [[O.NOTIFY_OUTCOME_RETRY_LATER, 'LOCK_BUSY']],
            );
            await Promise.all(clients.map((c) => c.del(key)));
            const retried = await core.createOrder({ outTradeNo: tradeNo });
            assert.equal(retried.order?.status, OrderStatus.ORDER_STATUS_PAID);
            assert.deepEqual(
              retried.parkedPayments.map((p) => p.outcome),
              [O.NOTIFY_OUTCOME_PAID],
            );
          } finally {
            clients.forEach((c) => c.disconnect());
          }
        });
    });

    describe('a v2 refund SUCCESS of a merchant with confirm_refunds_with_query is credited only when refundquery confirms it', () => {
      const cases: ReadonlyArray<{
        name: string;
        answer: (r: { outTradeNo: string; outRefundNo: string }) => RefundScriptedAnswer;
        expect: [NotifyOutcome, string];
        refunded: number;
      }> = [
        {
          name: 'confirmed with the same facts: refunded',
          answer: (r) => ({
            refundStatus: 'SUCCESS',
            outTradeNo: r.outTradeNo,
            transactionId: tx(r.outTradeNo),
            refundFee: 30,
          }),
          expect: [O.NOTIFY_OUTCOME_REFUNDED, 'OK'],
          refunded: 30,
        },
        {
          name: 'WeChat reports another amount: refused',
          answer: (r) => ({
            refundStatus: 'SUCCESS',
            outTradeNo: r.outTradeNo,
            transactionId: tx(r.outTradeNo),
            refundFee: 29,
          }),
          expect: [O.NOTIFY_OUTCOME_REJECTED, 'NOT_CONFIRMED'],
          refunded: 0,
        },
        {
          name: 'WeChat knows no such refund: refused',
          answer: () => ({ errCode: 'REFUNDNOTEXIST' }),
          expect: [O.NOTIFY_OUTCOME_REJECTED, 'NOT_CONFIRMED'],
          refunded: 0,
        },
        {
          name: 'refundquery fails: FAIL, WeChat retries',
          answer: () => ({ httpStatus: 502 }),
          expect: [O.NOTIFY_OUTCOME_RETRY_LATER, 'CONFIRMATION_UNAVAILABLE'],
          refunded: 0,
        },
      ];
      for (const c of cases) {
        test(c.name, async () => {
          const outTradeNo = newTradeNo('RQ');
          const outRefundNo = `R${outTradeNo}`;
          await core.createOrder({ mchId: CAREFUL.mchId, appid: CAREFUL.appid, outTradeNo });
          const pay = signNotification(
            paidFields(outTradeNo, { mch_id: CAREFUL.mchId, appid: CAREFUL.appid, transaction_id: tx(outTradeNo) }),
            CAREFUL.key,
          );
          assert.equal((await core.notify(pay)).outcome, O.NOTIFY_OUTCOME_PAID);
          refundAnswers.set(outRefundNo, c.answer({ outTradeNo, outRefundNo }));
          const inner = refundInnerFields({ outTradeNo, outRefundNo, refundFee: 30, transactionId: tx(outTradeNo) });
          const r = await core.refundNotify(
            refundEnvelope(inner, CAREFUL.key, { mchId: CAREFUL.mchId, appid: CAREFUL.appid }),
          );
          assert.deepEqual([r.outcome, r.code], c.expect, r.message);
          assert.ok(
            !r.message.includes(outRefundNo) && !r.message.includes(outTradeNo),
            `the reply quotes nothing decrypted: ${r.message}`,
          );
          assert.equal((await core.getOrder(outTradeNo, CAREFUL.mchId)).order?.refundedFee, c.refunded);
        });
      }
    });

    describe('findings of the attack on the running stack, kept as tests', () => {
      test('one captured v2 refund re-cut by dropping or repeating an AES-ECB block of out_refund_no is credited once', async () => {
        const outTradeNo = newTradeNo('ECB');
        await core.createOrder({ outTradeNo });
        await core.notify(signed(paidFields(outTradeNo)));
        // 31 bytes of "<root>\n<out_refund_no><![CDATA[" put a 32-character number's block 2 inside it.
        const env = refundEnvelope(
          refundInnerFields({ outTradeNo, outRefundNo: 'R0123456789abcdefghijklmnopqrstu', refundFee: 20 }),
          DEMO.key,
          { mchId: DEMO.mchId, appid: DEMO.appid },
        );
        assert.equal((await core.refundNotify(env)).outcome, O.NOTIFY_OUTCOME_REFUNDED);
        const ct = Buffer.from(env['req_info'] ?? '', 'base64');
        const block = (i: number): Buffer => ct.subarray(16 * i, 16 * i + 16);
        for (const blocks of [
          [ct.subarray(0, 32), ct.subarray(48)],
          [ct.subarray(0, 48), block(2), ct.subarray(48)],
          [ct.subarray(0, 48), block(2), block(2), ct.subarray(48)],
        ]) {
          const r = await core.refundNotify({ ...env, req_info: Buffer.concat(blocks).toString('base64') });
          assert.notEqual(r.outcome, O.NOTIFY_OUTCOME_REFUNDED, r.code);
        }
        assert.equal((await core.getOrder(outTradeNo)).order?.refundedFee, 20);
      });

      test('replays of a genuine FAIL notification of a paid order, padded, keep its body once', async () => {
        const outTradeNo = newTradeNo('FPAD');
        await core.createOrder({ outTradeNo });
        await core.notify(signed(paidFields(outTradeNo)));
        const fail = signed({
          appid: DEMO.appid,
          mch_id: DEMO.mchId,
          nonce_str: 'n',
          out_trade_no: outTradeNo,
          result_code: 'FAIL',
          err_code: 'NOTENOUGH',
          return_code: 'SUCCESS',
        });
        for (let i = 0; i < 10; i++) await core.notify(fail, `${toNotifyXml(fail)}${' '.repeat(60_000)}`);
        const bodies: Array<{ raw_body: string }> = await core
          .db('notifications')
          .where({ out_trade_no: outTradeNo, result_code: 'FAIL' })
          .select('raw_body');
        assert.deepEqual([bodies.length, bodies.filter((b) => b.raw_body.length > 0).length], [10, 1]);
      });

      test('a field name holding "&" or "=" (a re-cut no value shows) is refused by the core itself', async () => {
        const outTradeNo = newTradeNo('NAME');
        await core.createOrder({ outTradeNo });
        const fields = signed(paidFields(outTradeNo));
        const r = await core.notify({ ...fields, 'zz&total_fee': '1' });
        assert.deepEqual([r.outcome, r.code], [O.NOTIFY_OUTCOME_MALFORMED, 'INVALID_FIELD']);
      });

      test('replies quote nothing decrypted or stored: a replayed v3 payment of an unknown order, a v2 amount mismatch, a forgery', async () => {
        const secret = newTradeNo('SECRET');
        const body = v3Body(
          `EV-${secret}`,
          'TRANSACTION.SUCCESS',
          transactionResource({
            mchid: V3M.mchId,
            appid: V3M.appid,
            outTradeNo: secret,
            transactionId: tx(secret),
            total: 777,
          }),
          V3_KEY,
        );
        const v3 = await core.v3Notify(signV3(body, PUBKEY, Math.floor(Date.now() / 1000)), body);
        assert.equal(v3.outcome, O.NOTIFY_OUTCOME_ORDER_NOT_FOUND);
        assert.ok(!v3.message.includes(secret) && !v3.message.includes('777'), v3.message);
        const mismatch = newTradeNo('MM');
        await core.createOrder({ outTradeNo: mismatch, totalFee: 4321 });
        const m = await core.notify(signed(paidFields(mismatch)));
        assert.equal(m.code, 'AMOUNT_MISMATCH');
        assert.ok(!m.message.includes('4321'), m.message);
        const forged = await core.notify(signNotification(paidFields(mismatch), 'NotTheKey0123456789abcdefghijklm'));
        assert.deepEqual(
          [forged.outcome, forged.message],
          [O.NOTIFY_OUTCOME_REJECTED, 'signature verification failed'],
        );
      });
    });

    describe('replays of one captured notification do not fill the disk', () => {
      test('300 copies padded to 60 KB each store one body, and each copy a digest', async () => {
        const tradeNo = newTradeNo('PAD');
        await core.createOrder({ outTradeNo: tradeNo });
        const fields = signed(paidFields(tradeNo));
        const xml = toNotifyXml(fields);
        assert.equal((await core.notify(fields, xml)).outcome, O.NOTIFY_OUTCOME_PAID);
        const padded = xml.replace('</xml>', `${' '.repeat(30_000)}<pad></pad>${'\n'.repeat(30_000)}</xml>`);
        for (let i = 0; i < 300; i += 30) {
          const replies = await Promise.all(Array.from({ length: 30 }, () => core.notify(fields, padded)));
          assert.ok(replies.every((r) => r.outcome === O.NOTIFY_OUTCOME_DUPLICATE));
        }
        const rows: Array<Record<string, string>> = await core
          .db('notifications')
          .where({ out_trade_no: tradeNo })
          .select('raw_body', 'fields_json', 'body_sha256');
        const stored = rows.reduce((n, r) => n + String(r['raw_body']).length + String(r['fields_json']).length, 0);
        assert.equal(rows.length, 301);
        assert.ok(
          stored < 2 * (xml.length + JSON.stringify(fields).length),
          `${stored} bytes of bodies stored for 301 deliveries`,
        );
        assert.equal(
          new Set(rows.map((r) => r['body_sha256'])).size,
          2,
          'the genuine body and the padded one, by digest',
        );
      });
    });
  });
}
