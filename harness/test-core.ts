import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Knex } from 'knex';
import { readCoreConfig } from '../src/config';
import { startCore, type RunningCore } from '../src/core';
import {
  PaymentCallbackClient,
  type CreateOrderRequest,
  type CreateOrderResponse,
  type GetOrderResponse,
  type HandleNotifyResponse,
} from '../src/gen/payment/callback/v1/payment_callback';
import { createLogger, type Logger } from '../src/logger';
import { CoreMetrics } from '../src/metrics';
import { openDatabase } from '../src/store/database';
import { TEST_MERCHANTS_JSON } from './sign-notification';

export interface TestCoreOptions {
  readonly databaseUrl: string;
  readonly redisUrls?: readonly string[];
  /** Extra environment, e.g. LOCK_WAIT_MS. */
  readonly env?: Readonly<Record<string, string>>;
  /** Sent as a bearer token by the helper methods (notify, createOrder, getOrder). */
  readonly token?: string;
  /** The core's clock (default: the real one) and logger (default: silent), e.g. for reconciliation tests. */
  readonly clock?: () => Date;
  readonly log?: Logger;
}

/**
 * A real core (real gRPC server on a free port, real database, real lock) in this process, and
 * a real client connected to it over a socket.
 */
export interface TestCore {
  readonly port: number;
  readonly core: RunningCore;
  /** A connection of the test's own to the core's database, for reading and arranging rows. */
  readonly db: Knex;
  /** The registry the core records into. */
  readonly metrics: CoreMetrics;
  readonly client: PaymentCallbackClient;
  notify(fields: Record<string, string>, rawBody?: string): Promise<HandleNotifyResponse>;
  refundNotify(fields: Record<string, string>): Promise<HandleNotifyResponse>;
  v3Notify(headers: Record<string, string>, body: string | Buffer): Promise<HandleNotifyResponse>;
  createOrder(req: Partial<CreateOrderRequest> & { outTradeNo: string }): Promise<CreateOrderResponse>;
  getOrder(outTradeNo: string, mchId?: string): Promise<GetOrderResponse>;
  stop(): Promise<void>;
}

export async function startTestCore(options: TestCoreOptions): Promise<TestCore> {
  const config = readCoreConfig({
    GRPC_LISTEN: '127.0.0.1:0',
    METRICS_LISTEN: 'off',
    DATABASE_URL: options.databaseUrl,
    REDIS_URLS: (options.redisUrls ?? []).join(','),
    MERCHANTS_JSON: TEST_MERCHANTS_JSON,
    SHUTDOWN_GRACE_MS: '2000',
    // Tests that check authentication pass CALLERS_JSON, which turns it on.
    AUTH_DISABLED: 'true',
    ...options.env,
  });
  const metrics = new CoreMetrics();
  const core = await startCore(
    config,
    options.log ?? createLogger('test-core', process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent'),
    options.clock,
    { metrics },
  );
  const db = openDatabase(config.database);
  const client = new PaymentCallbackClient(`127.0.0.1:${core.grpcPort}`, credentials.createInsecure());
  const call = <T>(invoke: (cb: (err: ServiceError | null, res?: T) => void) => void): Promise<T> =>
    new Promise((resolve, reject) =>
      invoke((err, res) => (err || res === undefined ? reject(err ?? new Error('empty')) : resolve(res))),
    );
  const deadline = (): { deadline: number } => ({ deadline: Date.now() + 10_000 });
  const metadata = (): Metadata => {
    const m = new Metadata();
    if (options.token) m.set('authorization', `Bearer ${options.token}`);
    return m;
  };
  return {
    port: core.grpcPort,
    core,
    db,
    metrics,
    client,
    notify: (fields, rawBody) =>
      call((cb) =>
        client.handleNotify(
          {
            fields,
            rawBody: Buffer.from(rawBody ?? JSON.stringify(fields)),
            caller: { clientIp: '203.0.113.7', requestId: 'test' },
          },
          metadata(),
          deadline(),
          cb,
        ),
      ),
    refundNotify: (fields) =>
      call((cb) =>
        client.handleRefundNotify(
          {
            fields,
            rawBody: Buffer.from(JSON.stringify(fields)),
            caller: { clientIp: '203.0.113.7', requestId: 'test' },
          },
          metadata(),
          deadline(),
          cb,
        ),
      ),
    v3Notify: (headers, body) =>
      call((cb) =>
        client.handleV3Notify(
          { headers, rawBody: Buffer.from(body), caller: { clientIp: '203.0.113.7', requestId: 'test' } },
          metadata(),
          deadline(),
          cb,
        ),
      ),
    createOrder: (req) =>
      call((cb) =>
        client.createOrder(
          {
            mchId: '10000100',
            appid: 'wxd930ea5d5a258f4f',
            totalFee: 100,
            feeType: 'CNY',
            ...req,
          },
          metadata(),
          deadline(),
          cb,
        ),
      ),
    getOrder: (outTradeNo, mchId = '10000100') =>
      call((cb) => client.getOrder({ mchId, outTradeNo }, metadata(), deadline(), cb)),
    stop: async () => {
      client.close();
      await db.destroy();
      await core.shutdown();
    },
  };
}

/** Row counts of every table: "changes nothing" means these stay equal. */
export async function tableCounts(db: Knex): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['orders', 'notifications', 'anomalies', 'payment_events', 'refunds']) {
    const row = (await db(table).count({ n: '*' }).first()) as { n: number | string } | undefined;
    counts[table] = Number(row?.n ?? 0);
  }
  return counts;
}

/** Every row about one order, for assertions on what a notification wrote. */
export async function orderTrail(
  db: Knex,
  outTradeNo: string,
): Promise<{
  order: Record<string, unknown> | undefined;
  notifications: Array<Record<string, unknown>>;
  anomalies: Array<Record<string, unknown>>;
  events: Array<Record<string, unknown>>;
}> {
  return {
    order: (await db('orders').where({ out_trade_no: outTradeNo }).first()) as Record<string, unknown> | undefined,
    notifications: (await db('notifications').where({ out_trade_no: outTradeNo }).orderBy('id')) as Array<
      Record<string, unknown>
    >,
    anomalies: (await db('anomalies').where({ out_trade_no: outTradeNo }).orderBy('id')) as Array<
      Record<string, unknown>
    >,
    events: (await db('payment_events').where({ out_trade_no: outTradeNo }).orderBy('id')) as Array<
      Record<string, unknown>
    >,
  };
}
