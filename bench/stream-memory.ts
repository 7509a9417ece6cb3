// Memory per idle WatchPaymentEvents stream: a core process on SQLite, N idle streams from this
// process (one caller per 100 streams, to stay under EVENTS_MAX_STREAMS_PER_CALLER), and the
// core's RSS and heap before and after, read from /proc and the core's own metrics.
// Run: node dist/bench/stream-memory.js [streams=1000]

import { readFileSync } from 'node:fs';
import { credentials, Metadata } from '@grpc/grpc-js';
import { PaymentCallbackClient, WatchPaymentEventsRequest } from '../src/gen/payment/callback/v1/payment_callback';
import { SQLITE_IN_PROCESS } from '../harness/backends';
import { freePort } from '../harness/free-port';
import { startCoreProcess } from '../harness/service-processes';
import { TEST_MERCHANTS_JSON } from '../harness/sign-notification';

const STREAMS = Number(process.argv[2] ?? 1000);
const PER_CALLER = 100;

function rssKiB(pid: number): number {
  const line =
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0);
}

async function heapBytes(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const backend = await SQLITE_IN_PROCESS.start();
  const metricsPort = await freePort();
  const callers = Array.from({ length: Math.ceil(STREAMS / PER_CALLER) }, (_, i) => ({
    name: `c${i}`,
    token: `stream-memory-token-${String(i).padStart(12, '0')}`,
    scopes: ['events'],
  }));
  const core = await startCoreProcess({
    DATABASE_URL: backend.databaseUrl,
    MERCHANTS_JSON: TEST_MERCHANTS_JSON,
    CALLERS_JSON: JSON.stringify(callers),
    METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    EVENTS_MAX_STREAMS_PER_CALLER: String(PER_CALLER),
    NODE_OPTIONS: '--expose-gc',
  });
  const pid = core.process?.pid ?? 0;
  const client = new PaymentCallbackClient(`127.0.0.1:${core.port}`, credentials.createInsecure());
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 3_000));
  await settle();
  const before = { rss: rssKiB(pid), heap: await heapBytes(metricsPort) };
  const streams = Array.from({ length: STREAMS }, (_, i) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${callers[Math.floor(i / PER_CALLER)]?.token ?? ''}`);
    const s = client.watchPaymentEvents(WatchPaymentEventsRequest.fromPartial({ fromNow: true }), md);
    s.on('error', () => {});
    return s;
  });
  await settle();
  const after = { rss: rssKiB(pid), heap: await heapBytes(metricsPort) };
  console.log(
    JSON.stringify({
      streams: STREAMS,
      rss_kib_per_stream: ((after.rss - before.rss) / STREAMS).toFixed(1),
      heap_kib_per_stream: ((after.heap - before.heap) / 1024 / STREAMS).toFixed(1),
      rss_mib: [before.rss / 1024, after.rss / 1024].map((v) => v.toFixed(1)),
    }),
  );
  for (const s of streams) s.cancel();
  client.close();
  await core.stop();
  await backend.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
