// Planning a simulated run (tools/simulator/notification-mix.ts, bad-notifications.ts): how many of
// each kind, which orders to register, and that every bad kind really is refused by the service's
// own pure core (parser, verifier, notice reader, decision).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OUT_TRADE_NO } from '../../src/notify/payment-notice';
import { parseNotifyXml } from '../../gateway/parse-notify-xml';
import { authenticate } from '../../src/notify/authenticate';
import { decide } from '../../src/notify/decide';
import { merchantDirectory } from '../../src/notify/merchant';
import { parsePaymentNotice } from '../../src/notify/payment-notice';
import {
  forgedNotification,
  MALFORMED_VARIANTS,
  randomApiKey,
  wrongAmountNotification,
} from '../../tools/simulator/bad-notifications';
import {
  DEFAULT_MIX,
  isValidKind,
  kindCounts,
  NOTIFICATION_KINDS,
  parseMix,
  planNotifications,
  type Mix,
  type NotificationKind,
  type Plan,
} from '../../tools/simulator/notification-mix';
import type { PaymentSpec } from '../../tools/simulator/notification-builder';
import { seededRandom } from '../../tools/simulator/random';
import { DEMO } from '../../harness/sign-notification';

const merchant = { mchId: DEMO.mchId, appid: DEMO.appid, apiKey: DEMO.key };
const directory = merchantDirectory([
  { mchId: DEMO.mchId, appids: [DEMO.appid], apiKey: DEMO.key, signTypes: ['MD5', 'HMAC-SHA256'] },
]);
const only = (k: NotificationKind): Mix => parseMix(`${k}=1`);

describe('parseMix', () => {
  test('named kinds get their weight, the others 0', () => {
    const mix = parseMix('unique=70, forged=10,malformed=2.5');
    assert.deepEqual(
      NOTIFICATION_KINDS.map((k) => mix[k]),
      [70, 0, 0, 10, 0, 0, 2.5],
    );
  });
  for (const bad of ['unique', 'unique=x', 'refund=5', 'unique=-1', '', 'unique=0']) {
    test(`${JSON.stringify(bad)} is refused`, () => assert.throws(() => parseMix(bad), RangeError));
  }
});

describe('kindCounts: largest remainder, adding up exactly', () => {
  const cases: ReadonlyArray<[number, string, Partial<Record<NotificationKind, number>>]> = [
    [
      100,
      'unique=60,duplicate=10,concurrent-duplicate=10,forged=8,wrong-amount=6,unknown-order=3,malformed=3',
      {
        unique: 60,
        duplicate: 10,
        'concurrent-duplicate': 10,
        forged: 8,
        'wrong-amount': 6,
        'unknown-order': 3,
        malformed: 3,
      },
    ],
    [10, 'unique=1,forged=1,malformed=1', { unique: 4, forged: 3, malformed: 3 }],
    [1, 'unique=1,forged=1', { unique: 1, forged: 0 }],
    [0, 'unique=1', { unique: 0 }],
    [7, 'forged=1', { forged: 7 }],
  ];
  for (const [count, mix, expected] of cases) {
    test(`${count} with ${mix}`, () => {
      const counts = kindCounts(count, parseMix(mix));
      for (const k of NOTIFICATION_KINDS) assert.equal(counts[k], expected[k] ?? 0, k);
      assert.equal(
        NOTIFICATION_KINDS.reduce((s, k) => s + counts[k], 0),
        count,
      );
    });
  }
  test('refuses a negative or fractional count', () => {
    assert.throws(() => kindCounts(-1, DEFAULT_MIX), RangeError);
    assert.throws(() => kindCounts(1.5, DEFAULT_MIX), RangeError);
  });
});

function plan(count: number, mix: Mix = DEFAULT_MIX, seed = 1): Plan {
  return planNotifications({
    count,
    mix,
    seed,
    merchant,
    runId: 'T1',
    signType: 'mixed',
    spreadMs: 1000,
    now: new Date(Date.UTC(2026, 0, 1)),
  });
}

/** What the service's pure core decides for a body, with the orders the plan registers. */
function verdict(p: Plan, xml: string): string {
  const parsed = parseNotifyXml(Buffer.from(xml, 'utf8'));
  if (!parsed.ok) return 'PARSE_FAIL';
  const auth = authenticate(parsed.fields, directory);
  if (!auth.ok) return auth.result.outcome;
  const notice = parsePaymentNotice(parsed.fields);
  if (!notice.ok) return notice.result.outcome;
  const order = p.orders.find((o) => o.outTradeNo === notice.notice.outTradeNo);
  return decide(
    notice.notice,
    order && {
      mchId: order.mchId,
      appid: order.appid,
      outTradeNo: order.outTradeNo,
      totalFee: order.totalFee,
      feeType: order.feeType,
      status: 'NOTPAY',
      transactionId: null,
      paidAt: null,
      createdAt: new Date(),
    },
  ).result.outcome;
}

describe('planNotifications', () => {
  test('the same seed gives the same plan; another seed another', () => {
    assert.deepEqual(plan(200), plan(200));
    assert.notDeepEqual(
      plan(200).notifications.map((n) => n.kind),
      plan(200, DEFAULT_MIX, 2).notifications.map((n) => n.kind),
    );
  });
  test('as many of each kind as kindCounts says, interleaved', () => {
    const p = plan(500);
    const counts = kindCounts(500, DEFAULT_MIX);
    for (const k of NOTIFICATION_KINDS) assert.equal(p.notifications.filter((n) => n.kind === k).length, counts[k], k);
    assert.notDeepEqual(
      p.notifications.slice(0, 20).map((n) => n.kind),
      Array(20).fill('unique'),
    );
  });
  test('first sends spread evenly over the window', () => {
    const p = plan(10);
    assert.deepEqual(
      p.notifications.map((n) => n.startAtMs),
      [0, 100, 200, 300, 400, 500, 600, 700, 800, 900],
    );
  });
  test("out_trade_no and transaction_id: WeChat's shapes, unique per notification", () => {
    const p = plan(2000);
    for (const n of p.notifications) assert.match(n.outTradeNo, OUT_TRADE_NO);
    for (const n of p.notifications) if (n.transactionId) assert.match(n.transactionId, /^[A-Za-z0-9_-]{1,32}$/);
    const valid = p.notifications.filter((n) => n.valid);
    assert.equal(new Set(valid.map((n) => n.outTradeNo)).size, valid.length);
    assert.equal(new Set(p.notifications.map((n) => n.transactionId)).size, p.notifications.length);
    assert.equal(new Set(p.orders.map((o) => o.outTradeNo)).size, p.orders.length);
  });

  const rules: ReadonlyArray<{
    kind: NotificationKind;
    senders: [number, number];
    role: string | undefined;
    outcome: readonly string[];
  }> = [
    { kind: 'unique', senders: [1, 1], role: 'paid', outcome: ['PAID'] },
    { kind: 'duplicate', senders: [2, 2], role: 'paid', outcome: ['PAID'] },
    { kind: 'concurrent-duplicate', senders: [3, 5], role: 'paid', outcome: ['PAID'] },
    { kind: 'forged', senders: [1, 1], role: undefined, outcome: ['REJECTED'] },
    { kind: 'wrong-amount', senders: [1, 1], role: 'wrong-amount', outcome: ['ORDER_MISMATCH'] },
    { kind: 'unknown-order', senders: [1, 1], role: undefined, outcome: ['ORDER_NOT_FOUND'] },
    { kind: 'malformed', senders: [1, 1], role: 'bait', outcome: ['PARSE_FAIL', 'REJECTED', 'MALFORMED'] },
  ];
  for (const r of rules) {
    test(`${r.kind}: ${r.senders.join(' to ')} sender(s), order ${r.role ?? 'as below'}, the core decides ${r.outcome.join(' or ')}`, () => {
      const p = plan(60, only(r.kind), 3);
      assert.equal(p.notifications.length, 60);
      for (const n of p.notifications) {
        assert.equal(n.valid, isValidKind(r.kind));
        assert.ok(
          n.offsetsMs.length >= r.senders[0] && n.offsetsMs.length <= r.senders[1],
          `${n.offsetsMs.length} senders`,
        );
        assert.ok(r.outcome.includes(verdict(p, n.xml)), `${n.variant ?? n.kind}: ${verdict(p, n.xml)}`);
        const order = p.orders.find((o) => o.outTradeNo === n.outTradeNo);
        if (r.role) assert.equal(order?.role, r.role);
        if (r.kind === 'unknown-order') assert.equal(order, undefined);
        if (r.kind === 'wrong-amount') assert.notEqual(n.totalFee, order?.totalFee);
      }
    });
  }
  test('forged: half name a bait order of their own, half race a paid order with another transaction_id', () => {
    const p = plan(400, parseMix('unique=1,forged=1'), 5);
    const forged = p.notifications.filter((n) => n.kind === 'forged');
    const roles = forged.map((n) => p.orders.find((o) => o.outTradeNo === n.outTradeNo)?.role);
    assert.ok(roles.filter((r) => r === 'bait').length >= 80);
    assert.ok(roles.filter((r) => r === 'paid').length >= 80);
    for (const n of forged) assert.match(n.transactionId ?? '', /^6600/);
  });
  test('every malformed variant is used', () => {
    const p = plan(MALFORMED_VARIANTS.length * 2, only('malformed'));
    assert.deepEqual(new Set(p.notifications.map((n) => n.variant)), new Set(MALFORMED_VARIANTS.map((v) => v.name)));
  });
  test('a run id that would make out_trade_no too long or invalid is refused', () => {
    for (const runId of ['', 'ABCDEFGHIJKLM', 'a b']) {
      assert.throws(
        () => planNotifications({ count: 1, mix: DEFAULT_MIX, seed: 1, merchant, runId, signType: 'MD5', spreadMs: 0 }),
        RangeError,
      );
    }
  });
});

describe('bad notifications, one rule each', () => {
  const base: PaymentSpec = {
    merchant,
    outTradeNo: 'B1',
    transactionId: '42001',
    totalFee: 500,
    signType: 'MD5',
    timeEnd: new Date(),
    nonceStr: 'n',
  };
  test("forged: signed with a key that is not the merchant's, refused as INVALID_SIGNATURE", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const f = forgedNotification(base, seededRandom(seed));
      const auth = authenticate(f.fields, directory);
      assert.ok(!auth.ok && auth.result.code === 'INVALID_SIGNATURE');
    }
  });
  test('randomApiKey: 32 letters or digits, never the one excluded', () => {
    const r = seededRandom(9);
    for (let i = 0; i < 50; i++) assert.match(randomApiKey(r, DEMO.key), /^[A-Za-z0-9]{32}$/);
  });
  test('wrong-amount: correctly signed, total_fee differs from the order and stays at least 1', () => {
    for (let seed = 1; seed <= 50; seed++) {
      for (const orderFee of [1, 2, 500]) {
        const w = wrongAmountNotification(base, orderFee, seededRandom(seed));
        assert.ok(authenticate(w.fields, directory).ok);
        const fee = Number(w.fields['total_fee']);
        assert.ok(fee !== orderFee && fee >= 1, `${fee} vs ${orderFee}`);
      }
    }
  });
  for (const v of MALFORMED_VARIANTS) {
    test(`malformed ${v.name}: refused before anything is stored`, () => {
      const parsed = parseNotifyXml(Buffer.from(v.body(base), 'utf8'));
      if (!parsed.ok) return;
      const auth = authenticate(parsed.fields, directory);
      if (!auth.ok) return;
      assert.equal(parsePaymentNotice(parsed.fields).ok, false, 'parsed, verified and read as a payment');
    });
  }
});
