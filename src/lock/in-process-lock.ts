import { LockError, type OrderLock } from './order-lock';

/**
 * A first-come, first-served lock inside one process, for the embedded default without Redis.
 * It protects nothing across replicas: the core logs that it runs single-replica only.
 */
export class InProcessLock implements OrderLock {
  readonly description = 'in-process (single replica only)';
  /** Per key, the waiters in arrival order; the head holds the lock. */
  private readonly queues = new Map<string, Array<() => void>>();

  constructor(private readonly waitMs: number) {}

  async withLock<T>(key: string, routine: () => Promise<T>, signal?: AbortSignal, waitMs?: number): Promise<T> {
    await this.acquire(key, signal, Math.min(waitMs ?? this.waitMs, this.waitMs));
    try {
      return await routine();
    } finally {
      this.release(key);
    }
  }

  async close(): Promise<void> {}

  /** Whether someone holds `key` now, so that taking it would wait. */
  isHeld(key: string): boolean {
    return this.queues.has(key);
  }

  private acquire(key: string, signal: AbortSignal | undefined, waitMs: number): Promise<void> {
    if (signal?.aborted)
      return Promise.reject(new LockError('LOCK_WAIT_CANCELLED', `caller cancelled before taking ${key}`));
    const queue = this.queues.get(key);
    if (!queue) {
      this.queues.set(key, [() => {}]);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const giveUp = (error: LockError): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = queue.indexOf(grant);
        if (i > 0) queue.splice(i, 1);
        reject(error);
      };
      const timer = setTimeout(
        () => giveUp(new LockError('LOCK_BUSY', `order lock ${key} still held after ${waitMs} ms`)),
        waitMs,
      );
      const onAbort = (): void =>
        giveUp(new LockError('LOCK_WAIT_CANCELLED', `caller cancelled while waiting for ${key}`));
      signal?.addEventListener('abort', onAbort, { once: true });
      const grant = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      queue.push(grant);
    });
  }

  private release(key: string): void {
    const queue = this.queues.get(key);
    if (!queue) return;
    queue.shift();
    const next = queue[0];
    if (next) next();
    else this.queues.delete(key);
  }
}
