// Callers bound to merchants (a caller entry's mch_ids) and bounded event streams, through a real
// core over gRPC on SQLite. One table per rule: what a bound caller may reach, what it may not.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  CreateOrderRequest,
  GetOrderRequest,
  ListAnomaliesRequest,
  ListNotificationsRequest,
  PaymentCallbackClient,
  ResolveAnomalyRequest,
  WatchPaymentEventsRequest,
  type PaymentEvent,
} from '../../src/gen/payment/callback/v1/payment_callback';
import { SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { DEMO, HMAC_ONLY, newTradeNo, paidFields, signNotification } from '../../harness/sign-notification';
import { startTestCore, type TestCore } from '../../harness/test-core';

const TOKENS = {
  gateway: 'gateway-token-tenancy-000000000000001',
  demo: 'demo-only-token-tenancy-00000000000002',
  all: 'all-merchants-token-tenancy-0000000003',
} as const;
const CALLERS_JSON = JSON.stringify([
  { name: 'gateway', token: TOKENS.gateway, scopes: ['notify'] },
  {
    name: 'demo-shop',
    token: TOKENS.demo,
    scopes: ['orders', 'events', 'queries', 'anomalies'],
    mch_ids: [DEMO.mchId],
  },
  { name: 'platform', token: TOKENS.all, scopes: ['orders', 'events', 'queries', 'anomalies'] },
]);
const MAX_STREAMS = 2;

let backend: Backend;
let core: TestCore;
let client: PaymentCallbackClient;

function auth(token: string): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}

type Unary = (
  req: unknown,
  md: Metadata,
  opts: { deadline: number },
  cb: (err: ServiceError | null, res?: unknown) => void,
) => unknown;
const REQUEST_TYPES: Record<string, { fromPartial(o: never): unknown }> = {
  createOrder: CreateOrderRequest,
  getOrder: GetOrderRequest,
  listNotifications: ListNotificationsRequest,
  listAnomalies: ListAnomaliesRequest,
  resolveAnomaly: ResolveAnomalyRequest,
};

function call<T>(method: string, req: unknown, token: string): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  const type = REQUEST_TYPES[method];
  assert.ok(fn && type, method);
  return new Promise((resolve, reject) => {
    fn.call(client, type.fromPartial(req as never), auth(token), { deadline: Date.now() + 5_000 }, (err, res) =>
      err ? reject(err) : resolve(res as T),
    );
  });
}

async function codeOf(p: Promise<unknown>): Promise<status> {
  try {
    await p;
    return status.OK;
  } catch (e) {
    return (e as ServiceError).code;
  }
}

function watch(token: string, mchIds: string[] = []): ClientReadableStream<PaymentEvent> {
  return client.watchPaymentEvents(WatchPaymentEventsRequest.fromPartial({ mchIds }), auth(token));
}

/** The stream's first event, or its error status. */
function firstOf(stream: ClientReadableStream<PaymentEvent>): Promise<PaymentEvent | status> {
  return new Promise((resolve) => {
    stream.once('data', (e: PaymentEvent) => {
      stream.cancel();
      resolve(e);
    });
    stream.once('error', (e: ServiceError) => resolve(e.code));
  });
}

/** An order of `merchant`, paid with a second, conflicting transaction: it has an anomaly and events. */
async function orderWithAnomaly(
  merchant: { mchId: string; appid: string; key: string },
  signType: 'MD5' | 'HMAC-SHA256',
): Promise<string> {
  const tradeNo = newTradeNo('TN');
  await call(
    'createOrder',
    { mchId: merchant.mchId, appid: merchant.appid, outTradeNo: tradeNo, totalFee: 100, feeType: 'CNY' },
    TOKENS.all,
  );
  for (const transactionId of [`4200${tradeNo}a`, `4200${tradeNo}b`]) {
    const fields = signNotification(
      paidFields(tradeNo, {
        mch_id: merchant.mchId,
        appid: merchant.appid,
        transaction_id: transactionId.slice(0, 32),
      }),
      merchant.key,
      signType,
    );
    await core.notify(fields);
  }
  return tradeNo;
}

before(async () => {
  backend = await SQLITE_IN_PROCESS.start();
  core = await startTestCore({
    databaseUrl: backend.databaseUrl,
    token: TOKENS.gateway,
    env: {
      CALLERS_JSON,
      EVENTS_POLL_MS: '50',
      EVENTS_MAX_STREAMS_PER_CALLER: String(MAX_STREAMS),
      AUTH_DISABLED: 'false',
    },
  });
  client = new PaymentCallbackClient(`127.0.0.1:${core.port}`, credentials.createInsecure());
});

after(async () => {
  client?.close();
  await core?.stop();
  await backend?.dispose();
});

describe('a caller with mch_ids reaches only its merchants', () => {
  let own: string;
  let other: string;
  before(async () => {
    own = await orderWithAnomaly(DEMO, 'MD5');
    other = await orderWithAnomaly(HMAC_ONLY, 'HMAC-SHA256');
  });

  const cases: ReadonlyArray<{ name: string; run: () => Promise<unknown>; expected: status }> = [
    {
      name: 'CreateOrder for its merchant',
      run: () =>
        call(
          'createOrder',
          { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo: newTradeNo('TC'), totalFee: 1 },
          TOKENS.demo,
        ),
      expected: status.OK,
    },
    {
      name: 'CreateOrder for another merchant',
      run: () =>
        call(
          'createOrder',
          { mchId: HMAC_ONLY.mchId, appid: HMAC_ONLY.appid, outTradeNo: newTradeNo('TC'), totalFee: 1 },
          TOKENS.demo,
        ),
      expected: status.PERMISSION_DENIED,
    },
    {
      name: 'GetOrder of its merchant',
      run: () => call('getOrder', { mchId: DEMO.mchId, outTradeNo: own }, TOKENS.demo),
      expected: status.OK,
    },
    {
      name: 'GetOrder of another merchant',
      run: () => call('getOrder', { mchId: HMAC_ONLY.mchId, outTradeNo: other }, TOKENS.demo),
      expected: status.PERMISSION_DENIED,
    },
    {
      name: 'ListNotifications of another merchant',
      run: () => call('listNotifications', { mchId: HMAC_ONLY.mchId, outTradeNo: other }, TOKENS.demo),
      expected: status.PERMISSION_DENIED,
    },
    {
      name: 'ListAnomalies naming another merchant',
      run: () => call('listAnomalies', { mchId: HMAC_ONLY.mchId }, TOKENS.demo),
      expected: status.PERMISSION_DENIED,
    },
    {
      name: 'a caller without mch_ids: GetOrder of any merchant',
      run: () => call('getOrder', { mchId: HMAC_ONLY.mchId, outTradeNo: other }, TOKENS.all),
      expected: status.OK,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      assert.equal(await codeOf(c.run()), c.expected);
    });
  }

  test("ListAnomalies without mch_id lists only its merchants' anomalies", async () => {
    const mine = await call<{ anomalies: Array<{ mchId: string }> }>('listAnomalies', { pageSize: 100 }, TOKENS.demo);
    const everyone = await call<{ anomalies: Array<{ mchId: string }> }>(
      'listAnomalies',
      { pageSize: 100 },
      TOKENS.all,
    );
    assert.deepEqual([...new Set(mine.anomalies.map((a) => a.mchId))], [DEMO.mchId]);
    assert.ok(everyone.anomalies.some((a) => a.mchId === HMAC_ONLY.mchId));
  });

  test("ResolveAnomaly of another merchant's anomaly: NOT_FOUND, and it stays open", async () => {
    const everyone = await call<{ anomalies: Array<{ id: string; mchId: string }> }>(
      'listAnomalies',
      { pageSize: 100 },
      TOKENS.all,
    );
    const foreign = everyone.anomalies.find((a) => a.mchId === HMAC_ONLY.mchId);
    assert.ok(foreign);
    assert.equal(
      await codeOf(call('resolveAnomaly', { id: foreign.id, note: 'not mine' }, TOKENS.demo)),
      status.NOT_FOUND,
    );
    const still = await call<{ anomalies: Array<{ id: string }> }>(
      'listAnomalies',
      { mchId: HMAC_ONLY.mchId, pageSize: 100 },
      TOKENS.all,
    );
    assert.ok(still.anomalies.some((a) => a.id === foreign.id));
  });

  test('WatchPaymentEvents without a filter means "my merchants", never all', async () => {
    const stream = watch(TOKENS.demo);
    const seen: PaymentEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.cancel();
        resolve();
      }, 1_500);
      stream.on('data', (e: PaymentEvent) => seen.push(e));
      stream.on('error', (e: ServiceError) => {
        if (e.code !== status.CANCELLED) {
          clearTimeout(timer);
          reject(e);
        }
      });
    });
    assert.ok(seen.length > 0);
    assert.deepEqual([...new Set(seen.map((e) => e.mchId))], [DEMO.mchId]);
  });

  test('WatchPaymentEvents naming another merchant: PERMISSION_DENIED', async () => {
    assert.equal(await firstOf(watch(TOKENS.demo, [HMAC_ONLY.mchId])), status.PERMISSION_DENIED);
  });
});

describe('at most EVENTS_MAX_STREAMS_PER_CALLER streams per caller', () => {
  test('the next one is RESOURCE_EXHAUSTED with the limit in its message; closing one frees a place; other callers are not affected', async () => {
    const open = Array.from({ length: MAX_STREAMS }, () => watch(TOKENS.all));
    // Each must be accepted (it delivers events) before the next is counted.
    for (const s of open) s.on('error', () => {});
    await Promise.all(open.map((s) => new Promise<void>((resolve) => s.once('data', () => resolve()))));
    const refused = watch(TOKENS.all);
    const error = await new Promise<ServiceError>((resolve) => refused.once('error', resolve));
    assert.equal(error.code, status.RESOURCE_EXHAUSTED);
    assert.match(error.details, /EVENTS_MAX_STREAMS_PER_CALLER \(2\)/);
    const otherCaller = await firstOf(watch(TOKENS.demo));
    assert.notEqual(otherCaller, status.RESOURCE_EXHAUSTED);
    open[0]?.cancel();
    await new Promise((r) => setTimeout(r, 300));
    const again = await firstOf(watch(TOKENS.all));
    assert.equal(typeof again, 'object', 'a place was freed');
    for (const s of open) s.cancel();
  });

  test("the gateway's HandleNotify calls are not limited by it", async () => {
    const tradeNo = newTradeNo('TL');
    await call('createOrder', { mchId: DEMO.mchId, appid: DEMO.appid, outTradeNo: tradeNo, totalFee: 100 }, TOKENS.all);
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => core.notify(signNotification(paidFields(tradeNo), DEMO.key))),
    );
    assert.equal(replies.length, 10);
  });
});
