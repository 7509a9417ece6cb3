// The API the merchant's internal services build on: caller identity and scopes, the payment
// event stream across core processes, queries with paging, anomaly resolution, deadlines and
// metrics. Real PostgreSQL, three real Redis nodes, real gRPC on sockets.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import Redis from 'ioredis';
import Redlock from 'redlock';
import {
  CreateOrderRequest,
  GetOrderRequest,
  HandleNotifyRequest,
  ListAnomaliesRequest,
  ListNotificationsRequest,
  NotifyOutcome,
  PaymentCallbackClient,
  PaymentEventType,
  PaymentEvent,
  ResolveAnomalyRequest,
  WatchPaymentEventsRequest,
} from '../../src/gen/payment/callback/v1/payment_callback';
import { orderLockKey } from '../../src/lock/order-lock';
import { POSTGRES_REDLOCK, type Backend } from '../../harness/backends';
import { freePort } from '../../harness/free-port';
import { startCoreProcess, type ServiceProcess } from '../../harness/service-processes';
import {
  DEMO,
  HMAC_ONLY,
  newTradeNo,
  paidFields,
  signNotification,
  TEST_MERCHANTS_JSON,
} from '../../harness/sign-notification';
import { orderTrail, startTestCore, type TestCore } from '../../harness/test-core';

const TOKENS = {
  gateway: 'gateway-token-0000000000000000000001',
  orders: 'orders-service-token-00000000000000002',
  risk: 'risk-desk-token-0000000000000000000003',
} as const;
const CALLERS_JSON = JSON.stringify([
  { name: 'gateway', token: TOKENS.gateway, scopes: ['notify'] },
  { name: 'orders-service', token: TOKENS.orders, scopes: ['orders', 'events', 'queries'] },
  { name: 'risk-desk', token: TOKENS.risk, scopes: ['queries', 'anomalies'] },
]);

let backend: Backend;
let coreA: TestCore;
let coreB: ServiceProcess;
let clientA: PaymentCallbackClient;
let clientB: PaymentCallbackClient;
let metricsPortB: number;

before(async () => {
  backend = await POSTGRES_REDLOCK.start();
  const redisUrls = backend.redis.map((r) => r.url);
  coreA = await startTestCore({
    databaseUrl: backend.databaseUrl,
    redisUrls,
    token: TOKENS.orders,
    env: { CALLERS_JSON, EVENTS_POLL_MS: '100' },
  });
  metricsPortB = await freePort();
  coreB = await startCoreProcess({
    DATABASE_URL: backend.databaseUrl,
    REDIS_URLS: redisUrls.join(','),
    MERCHANTS_JSON: TEST_MERCHANTS_JSON,
    CALLERS_JSON,
    METRICS_LISTEN: `127.0.0.1:${metricsPortB}`,
  });
  clientA = new PaymentCallbackClient(`127.0.0.1:${coreA.port}`, credentials.createInsecure());
  clientB = new PaymentCallbackClient(`127.0.0.1:${coreB.port}`, credentials.createInsecure());
});

after(async () => {
  clientA?.close();
  clientB?.close();
  await coreB?.stop();
  await coreA?.stop();
  await backend?.dispose();
});

function auth(token: string | undefined): Metadata {
  const m = new Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
}

type Unary = (
  req: unknown,
  md: Metadata,
  opts: { deadline: number },
  cb: (err: ServiceError | null, res?: unknown) => void,
) => unknown;

/** Requests are completed with proto3 defaults, as any client library would. */
const REQUEST_TYPES: Record<string, { fromPartial(o: never): unknown }> = {
  handleNotify: HandleNotifyRequest,
  createOrder: CreateOrderRequest,
  getOrder: GetOrderRequest,
  listNotifications: ListNotificationsRequest,
  listAnomalies: ListAnomaliesRequest,
  resolveAnomaly: ResolveAnomalyRequest,
};

function callUnary<T>(
  client: PaymentCallbackClient,
  method: string,
  req: unknown,
  token: string | undefined,
  deadlineMs = 5_000,
): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  const type = REQUEST_TYPES[method];
  assert.ok(fn && type, method);
  const full = type.fromPartial(req as never);
  return new Promise((resolve, reject) => {
    fn.call(client, full, auth(token), { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res as T),
    );
  });
}

async function statusOf(p: Promise<unknown>): Promise<status> {
  try {
    await p;
    return status.OK;
  } catch (e) {
    return (e as ServiceError).code;
  }
}

/** Reads `count` events (optionally only those matching `keep`), then cancels the stream. */
function readEvents(
  stream: ClientReadableStream<PaymentEvent>,
  count: number,
  keep: (e: PaymentEvent) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<PaymentEvent[]> {
  return new Promise((resolve, reject) => {
    const got: PaymentEvent[] = [];
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`only ${got.length} of ${count} events within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('data', (e: PaymentEvent) => {
      if (!keep(e)) return;
      got.push(e);
      if (got.length === count) {
        clearTimeout(timer);
        stream.cancel();
        resolve(got);
      }
    });
    stream.on('error', (e: ServiceError) => {
      if (e.code !== status.CANCELLED) {
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}

/** Registers and pays an order through core B (the other process). */
async function payThroughB(tradeNo: string, fields = paidFields(tradeNo)): Promise<void> {
  await callUnary(
    clientB,
    'createOrder',
    {
      mchId: DEMO.mchId,
      appid: DEMO.appid,
      outTradeNo: tradeNo,
      totalFee: Number(fields['total_fee'] ?? 100),
      feeType: 'CNY',
    },
    TOKENS.orders,
  );
  const res = await callUnary<{ outcome: NotifyOutcome }>(
    clientB,
    'handleNotify',
    { fields: signNotification(fields, DEMO.key), rawBody: Buffer.from('x') },
    TOKENS.gateway,
  );
  assert.equal(res.outcome, NotifyOutcome.NOTIFY_OUTCOME_PAID);
}

describe('caller identity: a token per service, scopes per RPC', () => {
  const notifyReq = { fields: {}, rawBody: Buffer.alloc(0) };
  const orderReq = { mchId: DEMO.mchId, outTradeNo: 'nope' };
  const cases: ReadonlyArray<{
    caller: string;
    token: string | undefined;
    method: string;
    req: unknown;
    expect: status;
  }> = [
    { caller: 'no token', token: undefined, method: 'handleNotify', req: notifyReq, expect: status.UNAUTHENTICATED },
    { caller: 'no token', token: undefined, method: 'getOrder', req: orderReq, expect: status.UNAUTHENTICATED },
    {
      caller: 'an unknown token',
      token: 'x'.repeat(40),
      method: 'getOrder',
      req: orderReq,
      expect: status.UNAUTHENTICATED,
    },
    { caller: 'gateway', token: TOKENS.gateway, method: 'handleNotify', req: notifyReq, expect: status.OK },
    { caller: 'gateway', token: TOKENS.gateway, method: 'getOrder', req: orderReq, expect: status.PERMISSION_DENIED },
    {
      caller: 'gateway',
      token: TOKENS.gateway,
      method: 'createOrder',
      req: orderReq,
      expect: status.PERMISSION_DENIED,
    },
    { caller: 'gateway', token: TOKENS.gateway, method: 'listAnomalies', req: {}, expect: status.PERMISSION_DENIED },
    {
      caller: 'gateway',
      token: TOKENS.gateway,
      method: 'resolveAnomaly',
      req: { id: '1', note: 'x' },
      expect: status.PERMISSION_DENIED,
    },
    { caller: 'orders-service', token: TOKENS.orders, method: 'getOrder', req: orderReq, expect: status.NOT_FOUND },
    { caller: 'orders-service', token: TOKENS.orders, method: 'listNotifications', req: orderReq, expect: status.OK },
    {
      caller: 'orders-service',
      token: TOKENS.orders,
      method: 'handleNotify',
      req: notifyReq,
      expect: status.PERMISSION_DENIED,
    },
    {
      caller: 'orders-service',
      token: TOKENS.orders,
      method: 'resolveAnomaly',
      req: { id: '1', note: 'x' },
      expect: status.PERMISSION_DENIED,
    },
    { caller: 'risk-desk', token: TOKENS.risk, method: 'listAnomalies', req: {}, expect: status.OK },
    {
      caller: 'risk-desk',
      token: TOKENS.risk,
      method: 'resolveAnomaly',
      req: { id: '999999999', note: 'checked' },
      expect: status.NOT_FOUND,
    },
    { caller: 'risk-desk', token: TOKENS.risk, method: 'createOrder', req: orderReq, expect: status.PERMISSION_DENIED },
  ];
  for (const c of cases) {
    test(`${c.caller} calling ${c.method}: ${status[c.expect]}`, async () => {
      assert.equal(await statusOf(callUnary(clientA, c.method, c.req, c.token)), c.expect);
    });
  }

  const streamCases: ReadonlyArray<{ caller: string; token: string | undefined; expect: status }> = [
    { caller: 'no token', token: undefined, expect: status.UNAUTHENTICATED },
    { caller: 'gateway', token: TOKENS.gateway, expect: status.PERMISSION_DENIED },
    { caller: 'risk-desk', token: TOKENS.risk, expect: status.PERMISSION_DENIED },
  ];
  for (const c of streamCases) {
    test(`${c.caller} opening WatchPaymentEvents: ${status[c.expect]}`, async () => {
      const stream = clientA.watchPaymentEvents({ afterCursor: '', mchIds: [], fromNow: true }, auth(c.token));
      const code = await new Promise<status>((resolve) => stream.on('error', (e: ServiceError) => resolve(e.code)));
      assert.equal(code, c.expect);
    });
  }
});

describe('WatchPaymentEvents', () => {
  test('delivers events committed by another core process, in commit order, as they commit', async () => {
    const stream = clientA.watchPaymentEvents({ afterCursor: '', mchIds: [], fromNow: true }, auth(TOKENS.orders));
    const tradeNos = Array.from({ length: 5 }, () => newTradeNo('W'));
    const received = readEvents(stream, 5, (e) => tradeNos.includes(e.outTradeNo));
    await new Promise((r) => setTimeout(r, 300));
    for (const t of tradeNos) await payThroughB(t);
    const events = await received;
    assert.deepEqual(
      events.map((e) => e.outTradeNo),
      tradeNos,
    );
    assert.ok(
      events.every(
        (e) => e.type === PaymentEventType.PAYMENT_EVENT_TYPE_ORDER_PAID && e.totalFee === 100 && e.feeType === 'CNY',
      ),
    );
    const cursors = events.map((e) => Number(e.cursor));
    assert.deepEqual(
      cursors,
      [...cursors].sort((a, b) => a - b),
    );
  });

  test('a consumer that reconnects with its last cursor misses nothing and sees nothing twice', async () => {
    const first = Array.from({ length: 12 }, () => newTradeNo('X'));
    for (const t of first) await payThroughB(t);
    const ours = new Set(first);
    // Read 7 of ours, remember the cursor, disconnect; more events commit meanwhile.
    const head = await readEvents(
      clientA.watchPaymentEvents({ afterCursor: '', mchIds: [], fromNow: false }, auth(TOKENS.orders)),
      7,
      (e) => ours.has(e.outTradeNo),
    );
    const cursor = head[head.length - 1]?.cursor ?? '';
    const second = Array.from({ length: 8 }, () => newTradeNo('Y'));
    for (const t of second) await payThroughB(t);
    for (const t of second) ours.add(t);
    const tail = await readEvents(
      clientA.watchPaymentEvents({ afterCursor: cursor, mchIds: [], fromNow: false }, auth(TOKENS.orders)),
      13,
      (e) => ours.has(e.outTradeNo),
    );
    const seen = [...head, ...tail].map((e) => e.outTradeNo);
    assert.deepEqual(seen, [...first, ...second], 'every event once, in order');
  });

  test('mch_ids filters the stream to those merchants', async () => {
    const stream = clientA.watchPaymentEvents(
      { afterCursor: '', mchIds: [HMAC_ONLY.mchId], fromNow: true },
      auth(TOKENS.orders),
    );
    const got: PaymentEvent[] = [];
    stream.on('data', (e: PaymentEvent) => got.push(e));
    stream.on('error', () => {});
    await payThroughB(newTradeNo('F'));
    await new Promise((r) => setTimeout(r, 500));
    stream.cancel();
    assert.deepEqual(got, []);
  });

  test('a consumer that stops reading holds a bounded number of events on the server', async () => {
    // 3000 committed events, written straight into the outbox table the stream reads.
    const before = Number(
      ((await coreA.db('payment_events').max({ id: 'id' }).first()) as { id: number | string | null }).id ?? 0,
    );
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      type: 'PAYMENT_FAILED',
      mch_id: DEMO.mchId,
      out_trade_no: `slow${i}`,
      transaction_id: null,
      payload_json: JSON.stringify({ err_code: 'X'.repeat(40) }),
      dedupe_key: `slow-consumer:${Date.now()}:${i}`,
      created_at_ms: Date.now(),
    }));
    for (let i = 0; i < rows.length; i += 500) await coreA.db('payment_events').insert(rows.slice(i, i + 500));
    const delivered = async (): Promise<number> =>
      (await coreA.metrics.streamDelivered.get()).values.find((v) => v.labels['caller'] === 'orders-service')?.value ??
      0;
    const base = await delivered();
    // A raw HTTP/2 client that stops reading at the socket, so HTTP/2 flow control pushes back
    // on the server (a gRPC library would keep reading into its own buffer).
    const consumer = rawStream(
      coreA.port,
      '/payment.callback.v1.PaymentCallback/WatchPaymentEvents',
      WatchPaymentEventsRequest.encode({ afterCursor: String(before), mchIds: [], fromNow: false }).finish(),
      TOKENS.orders,
    );
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      const whilePaused = (await delivered()) - base;
      assert.ok(whilePaused < 1_000, `the server wrote ${whilePaused} of 3000 events to a consumer that reads nothing`);
      const events = await consumer.readAll(3000);
      assert.deepEqual(
        events.map((e) => e.outTradeNo),
        rows.map((r) => r.out_trade_no),
      );
      process.stdout.write(
        `# slow consumer: ${whilePaused} of 3000 events left the server while the consumer read nothing\n`,
      );
    } finally {
      consumer.close();
    }
  });

  test('an after_cursor that is not a cursor is INVALID_ARGUMENT', async () => {
    const stream = clientA.watchPaymentEvents(
      { afterCursor: 'yesterday', mchIds: [], fromNow: false },
      auth(TOKENS.orders),
    );
    const code = await new Promise<status>((resolve) => stream.on('error', (e: ServiceError) => resolve(e.code)));
    assert.equal(code, status.INVALID_ARGUMENT);
  });
});

describe('queries', () => {
  test('ListNotifications pages newest first and never exposes the body or the signature', async () => {
    const tradeNo = newTradeNo('N');
    await payThroughB(tradeNo);
    const fields = signNotification(paidFields(tradeNo), DEMO.key);
    for (let i = 0; i < 2; i++)
      await callUnary(clientB, 'handleNotify', { fields, rawBody: Buffer.from('x') }, TOKENS.gateway);
    type Page = { notifications: Array<Record<string, unknown>>; nextPageToken: string };
    const p1 = await callUnary<Page>(
      clientA,
      'listNotifications',
      { mchId: DEMO.mchId, outTradeNo: tradeNo, pageSize: 2 },
      TOKENS.orders,
    );
    assert.equal(p1.notifications.length, 2);
    assert.notEqual(p1.nextPageToken, '');
    const p2 = await callUnary<Page>(
      clientA,
      'listNotifications',
      { mchId: DEMO.mchId, outTradeNo: tradeNo, pageSize: 2, pageToken: p1.nextPageToken },
      TOKENS.orders,
    );
    assert.equal(p2.nextPageToken, '');
    const outcomes = [...p1.notifications, ...p2.notifications].map((n) => n['outcome']);
    assert.deepEqual(outcomes, [
      NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE,
      NotifyOutcome.NOTIFY_OUTCOME_DUPLICATE,
      NotifyOutcome.NOTIFY_OUTCOME_PAID,
    ]);
    const text = JSON.stringify([p1, p2]);
    assert.ok(!text.includes(fields['sign'] ?? '?'), 'no signature in the listing');
    assert.equal(
      await statusOf(
        callUnary(
          clientA,
          'listNotifications',
          { mchId: DEMO.mchId, outTradeNo: tradeNo, pageToken: 'bogus' },
          TOKENS.orders,
        ),
      ),
      status.INVALID_ARGUMENT,
    );
  });

  test('an amount mismatch is listed, resolved once with the resolver recorded, then hidden by default', async () => {
    const tradeNo = newTradeNo('Z');
    await callUnary(
      clientB,
      'createOrder',
      { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo: tradeNo, totalFee: 100, feeType: 'CNY' },
      TOKENS.orders,
    );
    await callUnary(
      clientB,
      'handleNotify',
      { fields: signNotification(paidFields(tradeNo, { total_fee: '1' }), DEMO.key), rawBody: Buffer.from('x') },
      TOKENS.gateway,
    );
    type Anomalies = {
      anomalies: Array<{
        id: string;
        kind: string;
        outTradeNo: string;
        resolved: boolean;
        resolvedBy: string;
        resolutionNote: string;
      }>;
    };
    const open = await callUnary<Anomalies>(
      clientA,
      'listAnomalies',
      { mchId: DEMO.mchId, pageSize: 500 },
      TOKENS.risk,
    );
    const anomaly = open.anomalies.find((a) => a.outTradeNo === tradeNo);
    assert.ok(anomaly);
    assert.deepEqual([anomaly.kind, anomaly.resolved], ['AMOUNT_MISMATCH', false]);
    const resolved = await callUnary<{ anomaly: Anomalies['anomalies'][number] }>(
      clientA,
      'resolveAnomaly',
      { id: anomaly.id, note: 'customer paid 1 fen; refunded' },
      TOKENS.risk,
    );
    assert.deepEqual(
      [resolved.anomaly.resolved, resolved.anomaly.resolvedBy, resolved.anomaly.resolutionNote],
      [true, 'risk-desk', 'customer paid 1 fen; refunded'],
    );
    assert.equal(
      await statusOf(callUnary(clientA, 'resolveAnomaly', { id: anomaly.id, note: 'again' }, TOKENS.risk)),
      status.FAILED_PRECONDITION,
    );
    assert.equal(
      await statusOf(callUnary(clientA, 'resolveAnomaly', { id: anomaly.id, note: ' ' }, TOKENS.risk)),
      status.INVALID_ARGUMENT,
    );
    const stillOpen = await callUnary<Anomalies>(
      clientA,
      'listAnomalies',
      { mchId: DEMO.mchId, pageSize: 500 },
      TOKENS.risk,
    );
    assert.ok(!stillOpen.anomalies.some((a) => a.id === anomaly.id));
    const everything = await callUnary<Anomalies>(
      clientA,
      'listAnomalies',
      { mchId: DEMO.mchId, includeResolved: true, pageSize: 500 },
      TOKENS.risk,
    );
    assert.ok(everything.anomalies.some((a) => a.id === anomaly.id && a.resolved));
  });
});

describe('server behaviour', () => {
  test("work stops when the caller's deadline passes: DEADLINE_EXCEEDED, nothing written", async () => {
    const clients = backend.redis.map((r) => new Redis(r.url));
    const holder = new Redlock(clients, { retryCount: 0 });
    const tradeNo = newTradeNo('T');
    try {
      await callUnary(
        clientA,
        'createOrder',
        { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo: tradeNo, totalFee: 100, feeType: 'CNY' },
        TOKENS.orders,
      );
      const lock = await holder.acquire([orderLockKey(DEMO.mchId, tradeNo)], 10_000);
      const fields = signNotification(paidFields(tradeNo), DEMO.key);
      const code = await statusOf(
        callUnary(clientA, 'handleNotify', { fields, rawBody: Buffer.from('x') }, TOKENS.gateway, 300),
      );
      assert.equal(code, status.DEADLINE_EXCEEDED);
      await lock.release();
      // The server's bounded lock wait ends within LOCK_WAIT_MS; it must then write nothing.
      await new Promise((r) => setTimeout(r, 2_500));
      const trail = await orderTrail(coreA.db, tradeNo);
      assert.deepEqual([trail.order?.['status'], trail.notifications.length], ['NOTPAY', 0]);
      const retry = await callUnary<{ outcome: NotifyOutcome }>(
        clientA,
        'handleNotify',
        { fields, rawBody: Buffer.from('x') },
        TOKENS.gateway,
      );
      assert.equal(retry.outcome, NotifyOutcome.NOTIFY_OUTCOME_PAID);
    } finally {
      await Promise.allSettled(clients.map((c) => c.quit()));
    }
  });

  test('Prometheus metrics name outcomes, latency, lock wait, database time, calls and streams', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPortB}/metrics`)).text();
    for (const name of [
      'payment_callback_notifications_total{outcome="PAID",code="OK",mch_id="10000100"}',
      'payment_callback_handle_notify_seconds_bucket',
      'payment_callback_lock_wait_seconds_bucket',
      'payment_callback_store_seconds_bucket',
      'payment_callback_grpc_server_handled_total{method="/payment.callback.v1.PaymentCallback/HandleNotify",code="OK"}',
      'payment_callback_event_stream_consumers',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(text.includes(name), `missing ${name}`);
    }
  });
});

/** A gRPC server stream over bare HTTP/2 that reads nothing until readAll() is called. */
function rawStream(
  port: number,
  path: string,
  request: Uint8Array,
  token: string,
): { readAll(n: number): Promise<PaymentEvent[]>; close(): void } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    authorization: `Bearer ${token}`,
  });
  stream.on('error', () => {});
  const frame = Buffer.alloc(5 + request.length);
  frame.writeUInt32BE(request.length, 1);
  Buffer.from(request).copy(frame, 5);
  stream.end(frame);
  stream.pause();
  return {
    readAll: (n) =>
      new Promise((resolve, reject) => {
        const events: PaymentEvent[] = [];
        let buffer = Buffer.alloc(0);
        const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${n} events`)), 20_000);
        stream.on('data', (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          while (buffer.length >= 5 && buffer.length >= 5 + buffer.readUInt32BE(1)) {
            const length = buffer.readUInt32BE(1);
            events.push(PaymentEvent.decode(buffer.subarray(5, 5 + length)));
            buffer = buffer.subarray(5 + length);
          }
          if (events.length >= n) {
            clearTimeout(timer);
            resolve(events);
          }
        });
        stream.resume();
      }),
    close: () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.close();
    },
  };
}
