import type { Knex } from 'knex';
import type { Clock } from '../store/payment-store';

/** The lease row migration 004 creates. */
const SWEEPER_LEASE = 'orderquery-sweeper';

/**
 * Only one replica sweeps at a time: the holder of an unexpired lease row, which it renews at
 * every sweep (and during long ones).
 *
 * Why a database row and not the OrderLock: it works on every dialect with no Redis (the default
 * in-process lock protects nothing across replicas), it survives any replica's crash by simply
 * expiring, and operators can read who holds it. Like every lock it can lapse (a paused
 * process, clock skew between replicas beyond the TTL), so it only saves WeChat duplicate
 * queries: each attempt is also claimed per order with a conditional update
 * (reconcile-state-table claimAttempt), and paying an order stays the store's conditional
 * `UPDATE ... WHERE status = 'NOTPAY'`. Expiry compares replicas' wall clocks, so keep
 * RECONCILE_LEASE_MS far above their skew (NTP keeps it to milliseconds).
 */
export class SweepLease {
  private heldUntil = 0;

  constructor(
    private readonly db: Knex,
    /** Unique per process, e.g. "core-7f9c:4123:8e1a0b2c". */
    readonly holder: string,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly name: string = SWEEPER_LEASE,
  ) {}

  /**
   * Takes the lease if it is free or expired, or renews it if we hold it. True while held. One
   * conditional UPDATE: two replicas racing for an expired lease cannot both change the row.
   */
  async acquire(): Promise<boolean> {
    const now = this.clock().getTime();
    const expires = now + this.ttlMs;
    const changed = await this.db('reconcile_lease')
      .where({ name: this.name })
      .where((q) => {
        void q.where({ holder: this.holder }).orWhere('expires_at_ms', '<=', now);
      })
      .update({ holder: this.holder, expires_at_ms: expires });
    this.heldUntil = changed === 1 ? expires : 0;
    return changed === 1;
  }

  /** Renews when less than half the lease is left; false once it is lost. */
  async ensure(): Promise<boolean> {
    const now = this.clock().getTime();
    if (this.heldUntil - now > this.ttlMs / 2) return true;
    return this.acquire();
  }

  /** Lets another replica take over at once instead of after the TTL (on shutdown). */
  async release(): Promise<void> {
    this.heldUntil = 0;
    await this.db('reconcile_lease')
      .where({ name: this.name, holder: this.holder })
      .update({ holder: '', expires_at_ms: 0 });
  }
}
