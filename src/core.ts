import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createAuthorizer } from './auth/authorize';
import { merchantScope } from './auth/merchant-scope';
import { callerMerchantProblems, type CoreConfig, type TlsConfig } from './config';
import { formatListenAddress, type ListenAddress } from './env-reader';
import { PaymentCallbackService } from './gen/payment/callback/v1/payment_callback';
import { InProcessLock } from './lock/in-process-lock';
import type { OrderLock } from './lock/order-lock';
import { RedlockLock } from './lock/redlock-lock';
import type { Logger } from './logger';
import { CoreMetrics } from './metrics';
import type { Merchant } from './notify/merchant';
import { createHealth } from './server/health';
import { accessLogInterceptor, authInterceptor } from './server/interceptors';
import { paymentCallbackHandlers } from './server/payment-callback-handlers';
import { createReflection } from './server/reflection';
import { MerchantRegistry, type MerchantReload } from './service/merchant-registry';
import { NotifyService } from './service/notify-service';
import { OrderService } from './service/order-service';
import { QueryService } from './service/query-service';
import { HttpOrderQueryClient } from './reconcile/orderquery-client';
import { Reconciler } from './reconcile/reconciler';
import { HttpRefundQueryClient } from './reconcile/refundquery-client';
import { PaymentConfirmer } from './service/payment-confirmer';
import { RefundConfirmer } from './service/refund-confirmer';
import { openDatabase } from './store/database';
import { migrateToLatest } from './store/migrate';
import { EventSequencer } from './store/event-sequencer';
import { OutboxSignal } from './store/outbox-signal';
import { PaymentQueries } from './store/payment-queries';
import { PaymentStore, type Clock } from './store/payment-store';

export interface RunningCore {
  /** The port gRPC listens on (useful when configured as port 0). */
  readonly grpcPort: number;
  readonly metricsPort: number | undefined;
  /**
   * Re-reads the merchants with the loader given to startCore and swaps them in at once; with
   * problems, keeps the current ones and logs every problem (main.ts calls it on SIGHUP).
   */
  reloadMerchants(trigger: string): MerchantReload;
  /** Stops accepting calls, drains in-flight ones for up to the grace period, then closes pools. */
  shutdown(): Promise<void>;
}

export interface CoreOptions {
  /** Reads the merchants again (files included) for reloadMerchants and MERCHANTS_RELOAD_INTERVAL_MS. */
  readonly loadMerchants?: () => readonly Merchant[];
  /** The registry to record into (default: a new one); a caller that passes it can read it. */
  readonly metrics?: CoreMetrics;
}

/** Wires config -> store -> lock -> gRPC server, and starts listening. */
export async function startCore(
  config: CoreConfig,
  log: Logger,
  clock: Clock = () => new Date(),
  options: CoreOptions = {},
): Promise<RunningCore> {
  const db = openDatabase(config.database, log);
  let lock: OrderLock | undefined;
  try {
    // With MIGRATE_ON_START=false the migrate Job owns the schema, and the core's database role
    // needs no DDL rights (docs/deploying.md, "Database roles").
    const applied = config.migrateOnStart ? await migrateToLatest(db) : 'skipped (MIGRATE_ON_START=false)';
    log.info({ database: config.database.redactedUrl, applied }, 'database ready');

    lock =
      config.redisUrls.length > 0
        ? new RedlockLock({
            urls: config.redisUrls,
            lock: config.lock,
            onReleaseError: (err) => log.warn({ err }, 'lock release failed; it expires after its TTL'),
          })
        : new InProcessLock(config.lock.waitMs);
    if (config.redisUrls.length === 0) {
      log.warn('no REDIS_URLS: using the in-process lock, which is safe for a single replica only');
    }

    const metrics = options.metrics ?? new CoreMetrics();
    const outbox = new OutboxSignal();
    const store = new PaymentStore(db, clock, outbox);
    const queries = new PaymentQueries(db, clock);
    // Every service reads the merchants through the registry, so a reload reaches all of them.
    const merchants = new MerchantRegistry(config.merchants);
    if (config.callers.length === 0)
      log.warn('no CALLERS_FILE/CALLERS_JSON: every gRPC caller is trusted (development only)');
    const server = new Server({
      // Interceptors run outermost first: every call is logged and counted, then authenticated.
      interceptors: [
        accessLogInterceptor(log, metrics),
        authInterceptor(createAuthorizer({ callers: config.callers, publicServices: config.publicServices })),
      ],
      'grpc.max_receive_message_length': 1024 * 1024,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      // Long-lived HTTP/2 connections pin a client to one replica; ending them every few
      // minutes lets clients re-resolve and spread over new replicas.
      'grpc.max_connection_age_ms': 5 * 60_000,
      'grpc.max_connection_age_grace_ms': 30_000,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // Per-call channelz bookkeeping serves a debugging service this server does not offer.
      'grpc.enable_channelz': 0,
    });
    const shuttingDown = new AbortController();
    const callersByName = new Map(config.callers.map((c) => [c.name, c]));
    // Confirmations ask WeChat whatever RECONCILE_ENABLED says: a suspicious notification is
    // answered FAIL until they can.
    const orderQuery = new HttpOrderQueryClient({
      apiBase: config.reconcile.apiBase,
      timeoutMs: config.reconcile.timeoutMs,
      clock,
    });
    const notifyService = new NotifyService({
      merchants,
      lock,
      store,
      metrics,
      clock,
      localWaitMs: config.lock.waitMs,
      confirmer: new PaymentConfirmer(orderQuery),
      refundConfirmer: new RefundConfirmer(
        new HttpRefundQueryClient({ apiBase: config.reconcile.apiBase, timeoutMs: config.reconcile.timeoutMs, clock }),
      ),
    });
    server.addService(
      PaymentCallbackService,
      paymentCallbackHandlers({
        notify: notifyService,
        orders: new OrderService(store, merchants, (mchId, outTradeNo) =>
          notifyService.applyParked(mchId, outTradeNo, log.child({ replay: 'CreateOrder' })),
        ),
        queries: new QueryService(queries),
        events: { queries, outbox, sequencer: new EventSequencer(db), options: config.events },
        metrics,
        clock,
        log,
        shutdown: shuttingDown.signal,
        scopeOf: (name) => merchantScope(callersByName.get(name), merchants),
        maxStreamsPerCaller: config.events.maxStreamsPerCaller,
      }),
    );
    const { health, setServing } = createHealth();
    health.addToServer(server);
    createReflection().addToServer(server);

    const grpcPort = await bind(server, config.grpcListen, config.tls);
    const metricsServer = config.metricsListen ? await metrics.serve(config.metricsListen) : undefined;
    setServing(true);
    // Off by default: it calls WeChat (docs/exactly-once.md "Reconciliation").
    const reconciler = config.reconcile.enabled
      ? new Reconciler({
          db,
          apply: (subject, received) =>
            notifyService.applySubject(subject, received, log.child({ source: 'reconciliation' })),
          merchants,
          clock,
          config: config.reconcile,
          metrics,
          log,
          client: orderQuery,
        })
      : undefined;
    reconciler?.start();
    log.info(
      {
        grpc: formatListenAddress({ host: config.grpcListen.host, port: grpcPort }),
        metrics: metricsServer ? (metricsServer.address() as AddressInfo).port : 'off',
        lock: lock.description,
        tls: config.tls ? (config.tls.clientCaPem ? 'mTLS' : 'TLS') : 'off',
        callers: config.callers.map((c) => c.name),
        merchants: config.merchants.map((m) => m.mchId),
        env: config.env,
      },
      'payment-callback core listening',
    );

    const reloadMerchants = (trigger: string): MerchantReload => {
      if (!options.loadMerchants)
        return {
          status: 'failed',
          problems: ['this core was started without a merchant loader; restart it to change merchants'],
        };
      const reloaded = merchants.reload(options.loadMerchants, log, trigger);
      // Callers are read at start-up only; one bound to a merchant the reload removed simply
      // sees nothing of it (never more), which an operator should know about.
      for (const problem of callerMerchantProblems(config.callers, [...merchants.values()]))
        log.warn({ trigger }, `merchant reload: ${problem}`);
      return reloaded;
    };
    const reloadTimer =
      config.merchantsReloadIntervalMs > 0 && options.loadMerchants
        ? setInterval(() => reloadMerchants('MERCHANTS_RELOAD_INTERVAL_MS'), config.merchantsReloadIntervalMs).unref()
        : undefined;

    const openLock = lock;
    let stopping: Promise<void> | undefined;
    return {
      grpcPort,
      metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : undefined,
      reloadMerchants,
      shutdown: () => {
        stopping ??= (async () => {
          clearInterval(reloadTimer);
          setServing(false);
          shuttingDown.abort();
          log.info({ grace_ms: config.shutdownGraceMs }, 'shutting down: draining in-flight calls');
          await drain(server, config.shutdownGraceMs, log);
          await reconciler?.stop();
          if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
          await openLock.close();
          await db.destroy();
          log.info('shutdown complete');
        })();
        return stopping;
      },
    };
  } catch (e) {
    await lock?.close();
    await db.destroy();
    throw e;
  }
}

function bind(server: Server, address: ListenAddress, tls: TlsConfig | undefined): Promise<number> {
  const credentials = tls
    ? ServerCredentials.createSsl(
        tls.clientCaPem ? Buffer.from(tls.clientCaPem) : null,
        [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
        tls.clientCaPem !== undefined,
      )
    : ServerCredentials.createInsecure();
  return new Promise((resolve, reject) => {
    server.bindAsync(formatListenAddress(address), credentials, (err, port) => {
      if (err) reject(new Error(`cannot listen for gRPC on ${formatListenAddress(address)}: ${err.message}`));
      else resolve(port);
    });
  });
}

/** tryShutdown lets running calls finish; after the grace period the rest are cancelled. */
function drain(server: Server, graceMs: number, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn('grace period over: cancelling the calls still running');
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
