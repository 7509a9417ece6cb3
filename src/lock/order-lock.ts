import { CodedError } from '../coded-error';

/**
 * Serialises work on one order across every core replica. It keeps concurrent copies of a
 * notification from racing each other, but it is an optimisation, not the guarantee: the
 * database's conditional update decides, so a lock that expires early cannot double-pay.
 */
export interface OrderLock {
  /**
   * Runs `routine` while holding the lock on `key`; throws LockError when it cannot be had in
   * time, or when `signal` aborts while waiting (the caller went away). `waitMs` shortens the
   * configured wait (LOCK_WAIT_MS), for a caller that already spent part of it.
   */
  withLock<T>(key: string, routine: () => Promise<T>, signal?: AbortSignal, waitMs?: number): Promise<T>;
  /** A name for logs: "redlock(3 nodes)" or "in-process". */
  readonly description: string;
  close(): Promise<void>;
}

export type LockErrorCode =
  /** Another holder kept the lock for the whole bounded wait. */
  | 'LOCK_BUSY'
  /** Not enough lock nodes answered to form a quorum. */
  | 'LOCK_UNAVAILABLE'
  /** The caller cancelled (or its deadline passed) while waiting. */
  | 'LOCK_WAIT_CANCELLED';

export class LockError extends CodedError<LockErrorCode> {}

/** The lock resource for an order; WeChat's out_trade_no is unique per merchant only. */
export function orderLockKey(mchId: string, outTradeNo: string): string {
  return `payment-callback:order:${mchId}:${outTradeNo}`;
}
