/**
 * Limits orderquery calls to WeChat to `ratePerSecond` on average, with bursts of at most
 * `capacity` (WeChat throttles merchants that query too fast, and a backlog after an outage
 * must not turn into a flood). `now` is a monotonic millisecond clock (performance.now), not
 * the wall clock: the limit is about real elapsed time, even when a test moves the wall clock.
 *
 * const b = new TokenBucket(5, 5, () => 0); five tryTake() => 0, the sixth => 200 (ms to wait)
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
      throw new RangeError(`ratePerSecond must be positive, not ${ratePerSecond}`);
    if (!(capacity >= 1) || !Number.isFinite(capacity))
      throw new RangeError(`capacity must be at least 1, not ${capacity}`);
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes a token and returns 0, or takes nothing and returns how many ms until one is due. */
  tryTake(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // The epsilon keeps float residue (0.999 tokens after 999 ms at 1/s) from rounding 1 ms up to 2.
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond - 1e-9));
  }

  /**
   * Waits for a token. Several callers may wait at once: each retries after its wait, so no
   * more than the rate is ever handed out. Rejects with the signal's reason when it aborts.
   */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const wait = this.tryTake();
      if (wait === 0) return;
      await this.sleep(wait, signal);
    }
  }

  private refill(): void {
    const t = this.now();
    // A clock that goes backwards (it should not: it is monotonic) adds nothing.
    const elapsed = Math.max(0, t - this.last);
    this.last = Math.max(this.last, t);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
  }
}

/** setTimeout as a promise that rejects with the signal's reason when it aborts. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
