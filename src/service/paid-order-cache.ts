import type { StoredOrder } from '../notify/order';

/**
 * Orders this replica has seen PAID, least recently used first out. What the notify decision
 * reads of a paid order (status, transaction id, appid, amount, fee type) never changes again,
 * so an entry cannot go stale for that decision, on any replica: a known duplicate is answered
 * without reading the database. Nothing else may read it: refunded_fee does change.
 */
export class PaidOrderCache {
  private readonly entries = new Map<string, StoredOrder>();

  constructor(private readonly capacity: number) {}

  get(key: string): StoredOrder | undefined {
    const order = this.entries.get(key);
    if (order) {
      // Map keeps insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, order);
    }
    return order;
  }

  /** Keeps `order` if it is PAID; anything else may still change. */
  remember(key: string, order: StoredOrder | undefined): void {
    if (order?.status !== 'PAID' || this.capacity <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, order);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
