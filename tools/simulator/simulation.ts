import type { DeliveryLog } from './delivery-log';
import { deliverFromSenders } from './duplicate-sender';
import type { Transport } from './http-transport';
import type { PlannedNotification } from './notification-mix';
import type { RetrySchedule } from './retry-schedule';
import { semaphore } from './semaphore';
import type { DeliveryResult } from './sender';
import { summarize, type Summary } from './summary';

export interface SimulationOptions {
  readonly url: string;
  readonly schedule: RetrySchedule;
  readonly timeScale: number;
  readonly transport: Transport;
  readonly log: DeliveryLog;
  /** WeChat's 5 s unless set. */
  readonly replyTimeoutMs?: number;
  /** Most POSTs in flight at once (default 64). */
  readonly concurrency?: number;
  /**
   * Attempt cap for notifications that must never be acknowledged (default: the whole schedule).
   * Tests lower it: a forged notification retried for a scaled day proves nothing more.
   */
  readonly invalidMaxAttempts?: number;
  /** Awaited before a notification's first send; a test uses it to set up a fault first. */
  readonly beforeSend?: (n: PlannedNotification) => Promise<void>;
}

export interface SimulationReport {
  readonly deliveries: readonly DeliveryResult[];
  readonly summary: Summary;
  readonly elapsedMs: number;
}

/**
 * Sends every planned notification at its start time, from its senders, each retrying on the
 * (time-scaled) schedule, and returns when every delivery was acknowledged or given up.
 */
export async function runSimulation(
  notifications: readonly PlannedNotification[],
  options: SimulationOptions,
): Promise<SimulationReport> {
  const started = Date.now();
  const acquire = semaphore(options.concurrency ?? 64);
  const log = options.log;
  const deliveries = await Promise.all(
    notifications.map(async (n) => {
      const wait = n.startAtMs - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await options.beforeSend?.(n);
      const results = await deliverFromSenders(n, n.offsetsMs, {
        url: options.url,
        schedule: options.schedule,
        timeScale: options.timeScale,
        replyTimeoutMs: options.replyTimeoutMs,
        maxAttempts: n.valid ? undefined : options.invalidMaxAttempts,
        transport: options.transport,
        acquire,
        onAttempt: (record) => log.write(record),
      });
      for (const r of results) log.write(r);
      return results;
    }),
  );
  const flat = deliveries.flat();
  const summary = summarize({ notifications, deliveries: flat, attempts: log.attempts });
  return { deliveries: flat, summary, elapsedMs: Date.now() - started };
}
