import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The core's Prometheus metrics; one registry per process so tests can run several cores. */
export class CoreMetrics {
  readonly registry = new Registry();

  /** Every HandleNotify decision; `code` says why (INVALID_SIGNATURE, DUPLICATE, ...). */
  readonly notifications = new Counter({
    name: 'payment_callback_notifications_total',
    help: 'Notifications handled, by outcome, code and merchant',
    labelNames: ['outcome', 'code', 'mch_id'] as const,
    registers: [this.registry],
  });

  readonly handleNotifySeconds = new Histogram({
    name: 'payment_callback_handle_notify_seconds',
    help: 'HandleNotify latency inside the core',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly lockWaitSeconds = new Histogram({
    name: 'payment_callback_lock_wait_seconds',
    help: 'Time spent waiting for the order lock',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5],
    registers: [this.registry],
  });

  readonly storeSeconds = new Histogram({
    name: 'payment_callback_store_seconds',
    help: 'Time spent in the database per notification transaction',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
