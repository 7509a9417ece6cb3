/**
 * When reconciliation asks WeChat about an order again. Pure: instants in, instants out.
 *
 * An order is first asked about `afterMs` after it was created (its notification normally
 * arrives within seconds), then after 5, 10, 20, 40... minutes, each delay doubling up to
 * `backoffMaxMs`. Once the next attempt would fall after `createdAt + giveUpMs`, it stops: an
 * order unpaid for that long is abandoned, and WeChat closes it on its side.
 */
export interface ReconcileSchedule {
  /** Age of a NOTPAY order before the first query; e.g. 300000 (5 min). */
  readonly afterMs: number;
  /** Delay after the first query; doubles after each further one. e.g. 300000. */
  readonly backoffMs: number;
  /** The longest delay between two queries; e.g. 3600000 (1 h). */
  readonly backoffMaxMs: number;
  /** Age of the order after which no further query is scheduled; e.g. 86400000 (24 h). */
  readonly giveUpMs: number;
}

/**
 * The pause after attempt number `attempt` (1 for the first query).
 *
 * backoffDelay(1, 300000, 3600000) => 300000; backoffDelay(4, ...) => 2400000; backoffDelay(5, ...) => 3600000
 */
export function backoffDelay(attempt: number, backoffMs: number, backoffMaxMs: number): number {
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be a whole number from 1, not ${attempt}`);
  // 2^52 already exceeds any cap; bounding the exponent keeps the product finite.
  return Math.min(backoffMaxMs, backoffMs * 2 ** Math.min(attempt - 1, 52));
}

/** The instant an order first becomes due: createdAt + afterMs. */
export function firstDueAt(createdAt: Date, schedule: ReconcileSchedule): Date {
  return new Date(createdAt.getTime() + schedule.afterMs);
}

export type NextAttempt = { readonly kind: 'RETRY'; readonly at: Date } | { readonly kind: 'GIVE_UP' };

/**
 * After attempt number `attempt` at `now` did not settle the order: when to ask again, or
 * GIVE_UP when that would be after `createdAt + giveUpMs`. An order past its give-up age when
 * first asked (the sweeper was off) is asked that once, then given up.
 *
 * nextAttempt(1, t, t+5m, default schedule) => { kind: 'RETRY', at: t+10m }
 */
export function nextAttempt(attempt: number, createdAt: Date, now: Date, schedule: ReconcileSchedule): NextAttempt {
  const at = now.getTime() + backoffDelay(attempt, schedule.backoffMs, schedule.backoffMaxMs);
  if (at > createdAt.getTime() + schedule.giveUpMs) return { kind: 'GIVE_UP' };
  return { kind: 'RETRY', at: new Date(at) };
}
