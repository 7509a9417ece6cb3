import type { Knex } from 'knex';
import { findAnomaly, listAnomalies, resolveAnomaly, type AnomalyRow } from './anomalies-table';
import { listNotifications, type NotificationSummaryRow } from './notifications-table';
import { eventsAfter, latestEventId, type StoredPaymentEvent } from './payment-events-table';
import type { Clock } from './payment-store';
import { classifyStoreError } from './store-error';

/** The read side for internal services: the outbox, notifications and anomalies. */
export class PaymentQueries {
  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
  ) {}

  eventsAfter(afterId: number, limit: number, mchIds: readonly string[]): Promise<StoredPaymentEvent[]> {
    return this.run(() => eventsAfter(this.db, afterId, limit, mchIds));
  }

  latestEventId(): Promise<number> {
    return this.run(() => latestEventId(this.db));
  }

  listNotifications(
    key: { mchId: string; outTradeNo: string },
    limit: number,
    beforeId: number | undefined,
  ): Promise<NotificationSummaryRow[]> {
    return this.run(() => listNotifications(this.db, key, limit, beforeId));
  }

  listAnomalies(
    filter: { mchIds: readonly string[] | undefined; includeResolved: boolean },
    limit: number,
    beforeId: number | undefined,
  ): Promise<AnomalyRow[]> {
    return this.run(() => listAnomalies(this.db, filter, limit, beforeId));
  }

  findAnomaly(id: number): Promise<AnomalyRow | undefined> {
    return this.run(() => findAnomaly(this.db, id));
  }

  resolveAnomaly(id: number, resolution: { by: string; note: string }): Promise<boolean> {
    return this.run(() => resolveAnomaly(this.db, id, resolution, this.clock()));
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw classifyStoreError(e);
    }
  }
}
