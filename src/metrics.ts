import type { Server } from 'node:http';
import type { ListenAddress } from './env-reader';
import { MetricsRegistry } from './metrics-registry';

/** The core's Prometheus metrics; one registry per process so tests can run several cores. */
// Deliberately one explicit declaration per metric: names and help texts are the alerts' and dashboard's contract (test/deploy/monitoring.test.ts).
export class CoreMetrics extends MetricsRegistry {
  /** Every HandleNotify decision; `code` says why (INVALID_SIGNATURE, DUPLICATE, ...). */
  readonly notifications = this.counter({
    name: 'payment_callback_notifications_total',
    help: 'Notifications handled, by outcome, code and merchant',
    labelNames: ['outcome', 'code', 'mch_id'] as const,
  });

  readonly handleNotifySeconds = this.histogram({
    name: 'payment_callback_handle_notify_seconds',
    help: 'HandleNotify latency inside the core',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });

  readonly lockWaitSeconds = this.histogram({
    name: 'payment_callback_lock_wait_seconds',
    help: 'Time spent waiting for the order lock',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5],
  });

  readonly storeSeconds = this.histogram({
    name: 'payment_callback_store_seconds',
    help: 'Time spent in the database per notification transaction',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5],
  });

  readonly grpcHandled = this.counter({
    name: 'payment_callback_grpc_server_handled_total',
    help: 'gRPC calls finished, by method and status code',
    labelNames: ['method', 'code'] as const,
  });

  readonly grpcSeconds = this.histogram({
    name: 'payment_callback_grpc_server_handling_seconds',
    help: 'gRPC call duration by method (streams: until they end)',
    labelNames: ['method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
  });

  readonly streamConsumers = this.gauge({
    name: 'payment_callback_event_stream_consumers',
    help: 'Open WatchPaymentEvents streams, by caller',
    labelNames: ['caller'] as const,
  });

  readonly streamLagEvents = this.gauge({
    name: 'payment_callback_event_stream_lag_events',
    help: 'Events committed but not yet sent, for the most lagging stream of each caller',
    labelNames: ['caller'] as const,
  });

  readonly streamDelivered = this.counter({
    name: 'payment_callback_event_stream_delivered_total',
    help: 'Events written to WatchPaymentEvents streams, by caller',
    labelNames: ['caller'] as const,
  });

  /** Reconciliation (src/reconcile/): orderquery calls by what they learned (SUCCESS, NOTPAY, REJECTED...). */
  readonly reconcileQueries = this.counter({
    name: 'payment_callback_reconcile_queries_total',
    help: 'orderquery calls to WeChat by result: a trade_state, ORDERNOTEXIST, RETURN_FAIL, RESULT_FAIL, MALFORMED, REJECTED, TRANSPORT_ERROR',
    labelNames: ['result'] as const,
  });

  /** Orders reconciliation settled: RECOVERED is a payment whose notification never arrived. */
  readonly reconcileOrders = this.counter({
    name: 'payment_callback_reconcile_orders_total',
    help: 'Orders reconciliation finished with, by state: RECOVERED, ALREADY_PAID, ANOMALY, STOPPED, GAVE_UP',
    labelNames: ['state'] as const,
  });

  /** Payments that arrived before their order, applied at CreateOrder, by outcome (docs/exactly-once.md). */
  readonly parkedReplays = this.counter({
    name: 'payment_callback_parked_replays_total',
    help: 'Parked payments applied at CreateOrder, by outcome: PAID, RETRY_LATER (applied again at the next identical CreateOrder or by reconciliation), ...',
    labelNames: ['outcome'] as const,
  });

  /** v2 payments whose fields can be cut two ways, by what orderquery said (recut-suspicion.ts). */
  readonly confirmations = this.counter({
    name: 'payment_callback_confirmations_total',
    help: 'Notifications confirmed with a signed WeChat query before they could move money, by result: CONFIRMED, NOT_CONFIRMED, UNAVAILABLE',
    labelNames: ['kind', 'result'] as const,
  });

  readonly reconcileSweeps = this.counter({
    name: 'payment_callback_reconcile_sweeps_total',
    help: 'Reconciliation sweeps by role: leader (held the lease and swept) or standby',
    labelNames: ['role'] as const,
  });

  /** Serves /metrics; anything else is 404 with a hint. Resolves once listening. */
  serve(address: ListenAddress): Promise<Server> {
    return this.serveRegistry(address, {}, 'not found: try /metrics\n');
  }
}
