// Reconciliation (src/reconcile/) through a real core, against a local stand-in of WeChat's
// orderquery endpoint (harness/wechat-orderquery-stand-in.ts) that checks every request's
// signature and answers signed XML from a script. On SQLite with the in-process lock, and on
// PostgreSQL with Redlock over three Redis nodes (MariaDB passes too: add MARIADB_REDLOCK to
// KINDS; left out to keep this file near 20 s). The core runs on a fake wall clock the test moves
// (schedules use the real defaults: 5 min, then 5, 10, 20... min); sweeps run every 20 ms of real
// time, and the rate limiter measures real time.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import knex from 'knex';
import pino from 'pino';
import type { Counter } from 'prom-client';
import { NotifyOutcome, OrderStatus } from '../../src/gen/payment/callback/v1/payment_callback';
import type { Logger } from '../../src/logger';
import { findReconcileState, type ReconcileStateRow } from '../../src/reconcile/reconcile-state-table';
import { POSTGRES_REDLOCK, SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { DEMO, HMAC_ONLY, newTradeNo, paidFields, signNotification } from '../../harness/sign-notification';
import { orderTrail, startTestCore, tableCounts, type TestCore } from '../../harness/test-core';
import { waitUntil } from '../../harness/wait-until';
import {
  startOrderQueryStandIn,
  type OrderQueryStandIn,
  type ScriptedAnswer,
} from '../../harness/wechat-orderquery-stand-in';

const MIN = 60_000;
const HOUR = 60 * MIN;
const WAIT_MS = 10_000;

/** The wall clock the core sees; only the test moves it. */
class FakeClock {
  now = Date.UTC(2026, 10, 27, 4, 0, 0);
  readonly read = (): Date => new Date(this.now);
  advance(ms: number): void {
    this.now += ms;
  }
}

/** The sum of a counter's values, optionally only those with the given labels. */
async function counted(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Returns once `n` more sweeps (as leader or standby) have completed: all of them saw the clock as it is now. */
async function afterSweeps(core: TestCore, n = 2): Promise<void> {
  const start = await counted(core.metrics.reconcileSweeps);
  await waitUntil(
    `${n} more sweeps`,
    WAIT_MS,
    async () => (await counted(core.metrics.reconcileSweeps)) >= start + n + 1,
  );
}

/** A logger that keeps its JSON lines, to check what reconciliation reports. */
function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { log, lines };
}

const signed = (fields: Record<string, string>): Record<string, string> => signNotification(fields, DEMO.key);
const txOf = (tradeNo: string): string => paidFields(tradeNo)['transaction_id'] ?? '';

const KINDS = [SQLITE_IN_PROCESS, POSTGRES_REDLOCK];
// PostgreSQL and Redis start while the SQLite tests run (they take most of this file's time).
const STARTED = new Map(
  KINDS.map((kind) => {
    const started = kind.start();
    started.catch(() => {}); // reported by the describe that awaits it
    return [kind, started] as const;
  }),
);

for (const kind of KINDS) {
  describe(`reconciliation on ${kind.name}`, () => {
    let backend: Backend;
    let standIn: OrderQueryStandIn;
    /** The stand-in's answers, per out_trade_no and attempt; unscripted orders are NOTPAY. */
    const answers = new Map<string, (attempt: number) => ScriptedAnswer>();
    const cores: TestCore[] = [];
    let databases = 0;

    before(async () => {
      [backend, standIn] = await Promise.all([
        STARTED.get(kind) ?? kind.start(),
        startOrderQueryStandIn([
          { mchId: DEMO.mchId, appid: DEMO.appid, key: DEMO.key },
          { mchId: HMAC_ONLY.mchId, appid: HMAC_ONLY.appid, key: HMAC_ONLY.key },
        ]),
      ]);
      standIn.script = (tradeNo, attempt) => answers.get(tradeNo)?.(attempt) ?? { tradeState: 'NOTPAY' };
    });
    after(async () => {
      await Promise.allSettled(cores.map((c) => c.stop()));
      await standIn?.close();
      await backend?.dispose();
      // Every request the reconciler sent was signed with the merchant's key.
      assert.deepEqual(standIn?.queries.filter((q) => !q.signatureValid).map((q) => q.outTradeNo) ?? [], []);
    });

    /** A database of its own per test, so no sweep sees another test's orders. */
    async function freshDatabase(): Promise<string> {
      databases += 1;
      if (backend.postgres) return backend.postgres.createDatabase(`reconcile_${databases}`);
      if (backend.mariadb) {
        const admin = knex({ client: 'mysql2', connection: backend.mariadb.url });
        try {
          await admin.raw(`CREATE DATABASE reconcile_${databases}`);
        } finally {
          await admin.destroy();
        }
        return backend.mariadb.url.replace(/[^/]+$/, `reconcile_${databases}`);
      }
      return backend.databaseUrl.replace(/[^/]+$/, `reconcile-${databases}.sqlite`);
    }

    async function reconcilingCore(
      databaseUrl: string,
      clock: FakeClock,
      env: Record<string, string> = {},
      log?: Logger,
    ): Promise<TestCore> {
      const core = await startTestCore({
        databaseUrl,
        redisUrls: backend.redis.map((r) => r.url),
        clock: clock.read,
        ...(log ? { log } : {}),
        env: {
          RECONCILE_ENABLED: 'true',
          WECHATPAY_API_BASE: standIn.url,
          RECONCILE_SWEEP_INTERVAL_MS: '20',
          RECONCILE_MAX_QPS: '100',
          ...env,
        },
      });
      cores.push(core);
      return core;
    }

    const stateOf = (core: TestCore, tradeNo: string): Promise<ReconcileStateRow | undefined> =>
      findReconcileState(core.db, DEMO.mchId, tradeNo);
    const waitForState = async (
      core: TestCore,
      tradeNo: string,
      check: (s: ReconcileStateRow) => boolean,
      what: string,
    ): Promise<ReconcileStateRow> => {
      let last: ReconcileStateRow | undefined;
      await waitUntil(
        what,
        WAIT_MS,
        async () => {
          last = await stateOf(core, tradeNo);
          return last !== undefined && check(last);
        },
        { details: () => JSON.stringify(last) },
      );
      return last as ReconcileStateRow;
    };

    test('a missed notification is recovered by orderquery; the late notification is then a DUPLICATE, with one ORDER_PAID', async () => {
      const clock = new FakeClock();
      const core = await reconcilingCore(await freshDatabase(), clock);
      const tradeNo = newTradeNo('RC');
      answers.set(tradeNo, () => ({ tradeState: 'SUCCESS', transactionId: txOf(tradeNo) }));
      await core.createOrder({ outTradeNo: tradeNo });

      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 0, 'not asked before RECONCILE_AFTER_MS (5 min)');

      clock.advance(5 * MIN);
      await waitForState(core, tradeNo, (s) => s.state === 'RECOVERED', 'the order recovered');
      const trail = await orderTrail(core.db, tradeNo);
      assert.equal(trail.order?.['status'], 'PAID');
      assert.equal(trail.order?.['transaction_id'], txOf(tradeNo));
      assert.equal(
        Number(trail.order?.['paid_at_ms']),
        Date.UTC(2026, 10, 27, 4, 0, 0),
        'time_end 12:00 China Standard Time',
      );
      assert.deepEqual(
        trail.notifications.map((n) => [n['outcome'], n['source']]),
        [['PAID', 'reconciliation']],
      );
      assert.deepEqual(
        trail.events.map((e) => e['type']),
        ['ORDER_PAID'],
      );
      const [query] = standIn.queries.filter((q) => q.outTradeNo === tradeNo);
      assert.deepEqual(
        [query?.signatureValid, query?.signType, query?.fields['mch_id']],
        [true, 'HMAC-SHA256', DEMO.mchId],
      );

      const late = await core.notify(signed(paidFields(tradeNo)));
      assert.deepEqual([late.outcome, late.acknowledge], [NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE, true]);
      const after = await orderTrail(core.db, tradeNo);
      assert.deepEqual(
        after.notifications.map((n) => [n['outcome'], n['source']]),
        [
          ['PAID', 'reconciliation'],
          ['DUPLICATE', 'notification'],
        ],
      );
      assert.deepEqual(
        after.events.map((e) => e['type']),
        ['ORDER_PAID'],
      );

      clock.advance(2 * HOUR);
      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 1, 'a recovered order is never asked again');
      assert.equal(await counted(core.metrics.reconcileOrders, { state: 'RECOVERED' }), 1);
      assert.equal(await counted(core.metrics.reconcileQueries, { result: 'SUCCESS' }), 1);
    });

    test('an order paid by its notification is never queried', async () => {
      const clock = new FakeClock();
      const core = await reconcilingCore(await freshDatabase(), clock);
      const tradeNo = newTradeNo('RN');
      await core.createOrder({ outTradeNo: tradeNo });
      assert.equal((await core.notify(signed(paidFields(tradeNo)))).outcome, NotifyOutcome.NOTIFY_OUTCOME_PAID);
      clock.advance(HOUR);
      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 0);
      assert.equal(await stateOf(core, tradeNo), undefined);
    });

    test('NOTPAY and USERPAYING are asked again after 5, then 10 minutes; SUCCESS on the third query pays', async () => {
      const clock = new FakeClock();
      const core = await reconcilingCore(await freshDatabase(), clock);
      const tradeNo = newTradeNo('RB');
      const t0 = clock.now;
      answers.set(tradeNo, (attempt) =>
        attempt === 1
          ? { tradeState: 'NOTPAY' }
          : attempt === 2
            ? { tradeState: 'USERPAYING' }
            : { tradeState: 'SUCCESS', transactionId: txOf(tradeNo) },
      );
      await core.createOrder({ outTradeNo: tradeNo });

      clock.advance(5 * MIN);
      const first = await waitForState(core, tradeNo, (s) => s.lastResult === 'NOTPAY', 'the first answer');
      assert.deepEqual([first.state, first.attempts, first.nextAttemptAt.getTime()], ['PENDING', 1, t0 + 10 * MIN]);

      clock.advance(5 * MIN - 1);
      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 1, 'not before the backoff');
      clock.advance(1);
      const second = await waitForState(core, tradeNo, (s) => s.lastResult === 'USERPAYING', 'the second answer');
      assert.deepEqual([second.state, second.attempts, second.nextAttemptAt.getTime()], ['PENDING', 2, t0 + 20 * MIN]);

      clock.advance(10 * MIN - 1);
      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 2, 'the backoff doubled');
      clock.advance(1);
      const third = await waitForState(core, tradeNo, (s) => s.state === 'RECOVERED', 'the payment');
      assert.equal(third.attempts, 3);
      assert.equal((await core.getOrder(tradeNo)).order?.status, OrderStatus.ORDER_STATUS_PAID);
      assert.equal(standIn.countFor(tradeNo), 3);
    });

    test('CLOSED stops: asked once, never again, the order untouched', async () => {
      const clock = new FakeClock();
      const core = await reconcilingCore(await freshDatabase(), clock);
      const tradeNo = newTradeNo('RX');
      answers.set(tradeNo, () => ({ tradeState: 'CLOSED' }));
      await core.createOrder({ outTradeNo: tradeNo });
      clock.advance(5 * MIN);
      const state = await waitForState(core, tradeNo, (s) => s.state !== 'PENDING', 'a final state');
      assert.deepEqual([state.state, state.lastResult], ['STOPPED', 'CLOSED']);
      clock.advance(6 * HOUR);
      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 1);
      const trail = await orderTrail(core.db, tradeNo);
      assert.deepEqual([trail.order?.['status'], trail.notifications.length, trail.events.length], ['NOTPAY', 0, 0]);
    });

    test('REFUND (paid at WeChat, refunded, never confirmed here): one anomaly REFUNDED_BEFORE_PAID and its event, the order untouched', async () => {
      const clock = new FakeClock();
      const core = await reconcilingCore(await freshDatabase(), clock);
      const tradeNo = newTradeNo('RR');
      answers.set(tradeNo, () => ({ tradeState: 'REFUND' }));
      await core.createOrder({ outTradeNo: tradeNo });
      clock.advance(5 * MIN);
      const state = await waitForState(core, tradeNo, (s) => s.state !== 'PENDING', 'a final state');
      assert.deepEqual([state.state, state.lastResult], ['ANOMALY', 'REFUND']);
      const trail = await orderTrail(core.db, tradeNo);
      assert.equal(trail.order?.['status'], 'NOTPAY');
      assert.deepEqual(
        trail.anomalies.map((a) => a['kind']),
        ['REFUNDED_BEFORE_PAID'],
      );
      assert.deepEqual(
        trail.events.map((e) => e['type']),
        ['ANOMALY_RAISED'],
      );
      assert.deepEqual(
        trail.notifications.map((n) => [n['source'], n['code']]),
        [['reconciliation', 'REFUNDED_BEFORE_PAID']],
      );
    });

    test('still NOTPAY at the give-up age: given up after the last attempt, never asked again', async () => {
      const clock = new FakeClock();
      // Give up at 30 min: queries at 5, 10 and 20 min; the next (40 min) would be too late.
      const core = await reconcilingCore(await freshDatabase(), clock, { RECONCILE_GIVE_UP_MS: String(30 * MIN) });
      const tradeNo = newTradeNo('RG');
      await core.createOrder({ outTradeNo: tradeNo });
      let state: ReconcileStateRow | undefined;
      for (const [advance, attempts] of [
        [5 * MIN, 1],
        [5 * MIN, 2],
        [10 * MIN, 3],
      ] as const) {
        clock.advance(advance);
        // Move the clock again only once the answer is recorded: the next attempt counts from it.
        state = await waitForState(
          core,
          tradeNo,
          (s) => s.attempts === attempts && s.lastResult !== null,
          `answer ${attempts} recorded`,
        );
      }
      assert.equal(standIn.countFor(tradeNo), 3);
      assert.deepEqual([state?.state, state?.attempts, state?.lastResult], ['GAVE_UP', 3, 'NOTPAY']);
      clock.advance(24 * HOUR);
      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 3);
      assert.equal(await counted(core.metrics.reconcileOrders, { state: 'GAVE_UP' }), 1);
    });

    test('a forged SUCCESS reply is ignored and logged: nothing changes; the genuine reply later pays', async () => {
      const clock = new FakeClock();
      const { log, lines } = capturingLogger();
      const core = await reconcilingCore(await freshDatabase(), clock, {}, log);
      const tradeNo = newTradeNo('RF');
      answers.set(tradeNo, (attempt) =>
        attempt === 1
          ? { tradeState: 'SUCCESS', transactionId: txOf(tradeNo), forgedWithKey: 'wrongwrongwrongwrongwrongwrong00' }
          : { tradeState: 'SUCCESS', transactionId: txOf(tradeNo) },
      );
      await core.createOrder({ outTradeNo: tradeNo });
      const before = await tableCounts(core.db);

      clock.advance(5 * MIN);
      const state = await waitForState(core, tradeNo, (s) => s.lastResult === 'REJECTED', 'the forged reply handled');
      assert.equal(state.state, 'PENDING');
      assert.deepEqual(await tableCounts(core.db), before, 'no order, notification, anomaly or event written');
      assert.equal((await core.getOrder(tradeNo)).order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
      const warning = lines.find((l) => l['out_trade_no'] === tradeNo && l['code'] === 'INVALID_SIGNATURE');
      assert.ok(warning, JSON.stringify(lines.slice(-5)));
      assert.equal(warning['level'], 40, 'logged as a warning');
      assert.match(String(warning['msg']), /orderquery reply ignored/);
      assert.equal(await counted(core.metrics.reconcileQueries, { result: 'REJECTED' }), 1);

      clock.advance(5 * MIN);
      await waitForState(core, tradeNo, (s) => s.state === 'RECOVERED', 'the genuine reply');
      assert.equal((await orderTrail(core.db, tradeNo)).events.length, 1);
    });

    test('an amount mismatch raises the same AMOUNT_MISMATCH anomaly as a notification, leaves the order NOTPAY, and stops', async () => {
      const clock = new FakeClock();
      const core = await reconcilingCore(await freshDatabase(), clock);
      const tradeNo = newTradeNo('RM');
      answers.set(tradeNo, () => ({ tradeState: 'SUCCESS', transactionId: txOf(tradeNo), totalFee: 1 }));
      await core.createOrder({ outTradeNo: tradeNo, totalFee: 100 });
      clock.advance(5 * MIN);
      await waitForState(core, tradeNo, (s) => s.state === 'ANOMALY', 'the anomaly');
      const trail = await orderTrail(core.db, tradeNo);
      assert.equal(trail.order?.['status'], 'NOTPAY');
      assert.deepEqual(
        trail.anomalies.map((a) => a['kind']),
        ['AMOUNT_MISMATCH'],
      );
      assert.deepEqual(
        trail.events.map((e) => e['type']),
        ['ANOMALY_RAISED'],
      );
      assert.deepEqual(
        trail.notifications.map((n) => [n['outcome'], n['source']]),
        [['ORDER_MISMATCH', 'reconciliation']],
      );
      clock.advance(2 * HOUR);
      await afterSweeps(core);
      assert.equal(standIn.countFor(tradeNo), 1, 'one anomaly, not one per query');
    });

    test('two cores sweeping at once query each order once (the lease); the standby takes over when the holder stops', async () => {
      const clock = new FakeClock();
      const databaseUrl = await freshDatabase();
      const a = await reconcilingCore(databaseUrl, clock);
      const b = await reconcilingCore(databaseUrl, clock);
      const tradeNos = Array.from({ length: 6 }, () => newTradeNo('R2'));
      for (const t of tradeNos) await a.createOrder({ outTradeNo: t });

      clock.advance(5 * MIN);
      await waitUntil('every order asked', WAIT_MS, async () => {
        const states = await Promise.all(tradeNos.map((t) => stateOf(a, t)));
        return states.every((s) => s?.lastResult === 'NOTPAY');
      });
      await Promise.all([afterSweeps(a, 3), afterSweeps(b, 3)]);
      assert.deepEqual(
        tradeNos.map((t) => standIn.countFor(t)),
        tradeNos.map(() => 1),
      );
      const byCore = [await counted(a.metrics.reconcileQueries), await counted(b.metrics.reconcileQueries)];
      assert.deepEqual([...byCore].sort(), [0, 6], `only the lease holder queries: ${JSON.stringify(byCore)}`);

      const [holder, standby] = byCore[0] === 6 ? [a, b] : [b, a];
      await holder.stop();
      clock.advance(5 * MIN);
      await waitUntil('every order asked again, by the standby, and settled', WAIT_MS, async () => {
        const states = await Promise.all(tradeNos.map((t) => stateOf(standby, t)));
        return states.every((s) => s?.attempts === 2 && s.lastResult === 'NOTPAY');
      });
      assert.equal(await counted(standby.metrics.reconcileQueries), 6);
      await afterSweeps(standby, 3);
      assert.deepEqual(
        tradeNos.map((t) => standIn.countFor(t)),
        tradeNos.map(() => 2),
      );
    });

    test('the rate limit holds: 15 due orders at RECONCILE_MAX_QPS=5 are spread over at least 2 s', async () => {
      const clock = new FakeClock();
      const core = await reconcilingCore(await freshDatabase(), clock, { RECONCILE_MAX_QPS: '5' });
      const tradeNos = Array.from({ length: 15 }, () => newTradeNo('RL'));
      for (const t of tradeNos) await core.createOrder({ outTradeNo: t });
      clock.advance(5 * MIN);
      await waitUntil('all 15 asked', WAIT_MS, () => tradeNos.every((t) => standIn.countFor(t) === 1));
      const mine = new Set(tradeNos);
      const times = standIn.queries
        .filter((q) => mine.has(q.outTradeNo))
        .map((q) => q.at)
        .sort((x, y) => x - y);
      const t0 = times[0] ?? 0;
      // A burst of one second's worth (5), then one every 200 ms: in any window of w ms at most
      // 5 + 5 * w / 1000 requests. Measured on arrival, so 150 ms of slack for connection set-up
      // and scheduling jitter between the limiter and the stand-in.
      const slackMs = 150;
      const shown = times.map((x) => Math.round(x - t0)).join(', ');
      for (let i = 0; i < times.length; i++) {
        for (let j = i; j < times.length; j++) {
          const windowMs = (times[j] ?? 0) - (times[i] ?? 0);
          assert.ok(
            j - i + 1 <= 5 + (5 * (windowMs + slackMs)) / 1000,
            `requests ${i + 1}..${j + 1} came within ${Math.round(windowMs)} ms: ${shown}`,
          );
        }
      }
      assert.ok((times[14] ?? 0) - t0 >= 2_000 - slackMs, shown);
    });

    test('disabled unless RECONCILE_ENABLED=true: a core without it never queries', async () => {
      const clock = new FakeClock();
      const core = await startTestCore({
        databaseUrl: await freshDatabase(),
        redisUrls: backend.redis.map((r) => r.url),
        clock: clock.read,
        env: { WECHATPAY_API_BASE: standIn.url },
      });
      cores.push(core);
      const tradeNo = newTradeNo('RD');
      await core.createOrder({ outTradeNo: tradeNo });
      clock.advance(HOUR);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(standIn.countFor(tradeNo), 0);
      assert.equal(await counted(core.metrics.reconcileSweeps), 0);
    });
  });
}
