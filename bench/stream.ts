// WatchPaymentEvents throughput and lag: how fast a consumer can drain a backlog, and how long a
// committed payment takes to reach a consumer while payments keep arriving.
//
//   npx tsc -p tsconfig.json && node dist/bench/stream.js [backlog=20000] [payments=600]

import { credentials, Metadata } from '@grpc/grpc-js';
import { PaymentCallbackClient, type PaymentEvent } from '../src/gen/payment/callback/v1/payment_callback';
import { POSTGRES_REDLOCK } from '../harness/backends';
import { DEMO, newTradeNo, paidFields, signNotification } from '../harness/sign-notification';
import { startTestCore } from '../harness/test-core';

async function main(): Promise<void> {
  const backlog = Number(process.argv[2] ?? 20_000);
  const payments = Number(process.argv[3] ?? 600);
  const backend = await POSTGRES_REDLOCK.start();
  const core = await startTestCore({
    databaseUrl: backend.databaseUrl,
    redisUrls: backend.redis.map((r) => r.url),
    env: { EVENTS_POLL_MS: '500' },
  });
  const client = new PaymentCallbackClient(`127.0.0.1:${core.port}`, credentials.createInsecure());
  try {
    // 1. Backlog: events committed before the consumer connects.
    const rows = Array.from({ length: backlog }, (_, i) => ({
      type: 'ORDER_PAID',
      mch_id: DEMO.mchId,
      out_trade_no: `backlog${i}`,
      transaction_id: `42${i}`,
      payload_json: JSON.stringify({
        total_fee: 100,
        fee_type: 'CNY',
        appid: DEMO.appid,
        paid_at: new Date().toISOString(),
      }),
      dedupe_key: `bench-backlog:${i}`,
      created_at_ms: Date.now(),
    }));
    for (let i = 0; i < rows.length; i += 1_000) await core.db('payment_events').insert(rows.slice(i, i + 1_000));
    const drainStart = process.hrtime.bigint();
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      const s = client.watchPaymentEvents({ afterCursor: '', mchIds: [], fromNow: false }, new Metadata());
      s.on('data', () => {
        if (++got === backlog) {
          s.cancel();
          resolve();
        }
      });
      s.on('error', (e: Error & { code?: number }) => (e.code === 1 ? undefined : reject(e)));
    });
    const drainSeconds = Number(process.hrtime.bigint() - drainStart) / 1e9;

    // 2. Lag under load: pay orders through HandleNotify at a steady rate while a consumer
    // follows; lag = delivery time minus the moment HandleNotify answered PAID.
    const paidAt = new Map<string, number>();
    const lags: number[] = [];
    const follower = client.watchPaymentEvents({ afterCursor: '', mchIds: [], fromNow: true }, new Metadata());
    follower.on('data', (e: PaymentEvent) => {
      const t = paidAt.get(e.outTradeNo);
      if (t !== undefined) lags.push(Date.now() - t);
    });
    follower.on('error', () => {});
    await new Promise((r) => setTimeout(r, 300));
    const tradeNos = Array.from({ length: payments }, () => newTradeNo('S'));
    await Promise.all(tradeNos.map((t) => core.createOrder({ outTradeNo: t })));
    const loadStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < tradeNos.length) {
          const t = tradeNos[next++] as string;
          const res = await core.notify(signNotification(paidFields(t), DEMO.key));
          if (res.acknowledge) paidAt.set(t, Date.now());
        }
      }),
    );
    const loadSeconds = (Date.now() - loadStart) / 1000;
    const deadline = Date.now() + 10_000;
    while (lags.length < paidAt.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    follower.cancel();
    lags.sort((a, b) => a - b);
    const pct = (p: number): number => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? NaN;
    process.stdout.write(
      `${JSON.stringify({
        backlog,
        drain_seconds: Number(drainSeconds.toFixed(2)),
        drain_events_per_second: Math.round(backlog / drainSeconds),
        payments: paidAt.size,
        payment_rate_per_second: Math.round(paidAt.size / loadSeconds),
        delivered: lags.length,
        lag_ms: { p50: pct(50), p99: pct(99), max: lags[lags.length - 1] ?? NaN },
      })}\n`,
    );
  } finally {
    client.close();
    await core.stop();
    await backend.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
