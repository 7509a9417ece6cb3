import Redis from 'ioredis';
import Redlock, { ExecutionError, ResourceLockedError, type Lock } from 'redlock';
import type { LockConfig } from '../config';
import { LockError, type OrderLock } from './order-lock';

export interface RedlockLockOptions {
  readonly urls: readonly string[];
  readonly lock: LockConfig;
  /** Called when releasing fails; the lock then simply expires after its TTL. */
  readonly onReleaseError: (error: unknown) => void;
}

/**
 * Redlock's acquire script, except that a key already holding this acquisition's own value counts
 * as acquired. Every attempt of one acquisition sends the same random value, and an attempt that
 * timed out on our side (commandTimeout) may still run on Redis later; Redlock's own script then
 * answered the remaining attempts "held", so the acquisition waited out LOCK_WAIT_MS for itself
 * and, until it released, made every other copy of the notification wait too.
 */
const ACQUIRE_OWN_OR_FREE = `
  for i, key in ipairs(KEYS) do
    local holder = redis.call("get", key)
    if holder and holder ~= ARGV[1] then
      return 0
    end
  end
  for i, key in ipairs(KEYS) do
    redis.call("set", key, ARGV[1], "PX", ARGV[2])
  end
  return #KEYS
`;

/**
 * Redlock over independent Redis nodes (not replicas of each other: a failover could hand the
 * same lock to two holders). A majority of nodes must agree for the lock to be held.
 */
export class RedlockLock implements OrderLock {
  readonly description: string;
  private readonly clients: Redis[];
  private readonly redlock: Redlock;

  constructor(private readonly options: RedlockLockOptions) {
    this.description = `redlock (${options.urls.length} node${options.urls.length === 1 ? '' : 's'})`;
    this.clients = options.urls.map(
      (url) =>
        new Redis(url, {
          // Fail fast while a node is down instead of queueing: a lock attempt must answer within
          // the bounded wait, and the other nodes may still form a quorum.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: 1_000,
          // A node that hangs (rather than refuses) must not stretch one attempt much; the whole
          // acquisition is also capped below, whatever the nodes do.
          commandTimeout: 250,
          lazyConnect: false,
          retryStrategy: (times) => Math.min(times * 100, 1_000),
        }),
    );
    // ioredis reports connection errors as events; they also surface as failed votes.
    for (const c of this.clients) c.on('error', () => {});
    const { waitMs, retryDelayMs } = options.lock;
    this.redlock = new Redlock(
      this.clients,
      {
        retryCount: Math.max(0, Math.floor(waitMs / retryDelayMs)),
        retryDelay: retryDelayMs,
        retryJitter: Math.max(1, Math.floor(retryDelayMs / 2)),
        driftFactor: 0.01,
        // Never extend automatically: the routine is short and the database is the judge.
        automaticExtensionThreshold: 0,
      },
      { acquireScript: () => ACQUIRE_OWN_OR_FREE },
    );
    this.redlock.on('error', () => {});
  }

  async withLock<T>(key: string, routine: () => Promise<T>, signal?: AbortSignal, waitMs?: number): Promise<T> {
    if (signal?.aborted) throw new LockError('LOCK_WAIT_CANCELLED', `caller cancelled before taking ${key}`);
    const lock = await this.acquireWithin(
      key,
      signal,
      Math.min(waitMs ?? this.options.lock.waitMs, this.options.lock.waitMs),
    );
    try {
      if (signal?.aborted) throw new LockError('LOCK_WAIT_CANCELLED', `caller cancelled while waiting for ${key}`);
      // A lock with little validity left protects nothing; the database would still decide,
      // but answer "retry" rather than work unprotected.
      if (lock.expiration - Date.now() < this.options.lock.ttlMs / 2) {
        throw new LockError('LOCK_BUSY', `order lock ${key} was acquired too late to be useful`);
      }
      return await routine();
    } finally {
      lock.release().catch(this.options.onReleaseError);
    }
  }

  /** Waits until every node answers PING, for start-up checks and tests. */
  async ready(): Promise<boolean[]> {
    return Promise.all(
      this.clients.map((c) =>
        c.ping().then(
          () => true,
          () => false,
        ),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.quit()));
    for (const c of this.clients) c.disconnect();
  }

  /**
   * Redlock's retry loop cannot be interrupted, and hanging nodes can stretch it far beyond its
   * nominal retries. Stop waiting after LOCK_WAIT_MS (or when the caller goes away) and release
   * the lock if the abandoned attempt obtains it later, so it does not block others until its TTL.
   */
  private acquireWithin(key: string, signal: AbortSignal | undefined, waitMs: number): Promise<Lock> {
    const attempt = this.acquire(key);
    return new Promise<Lock>((resolve, reject) => {
      let settled = false;
      const finish = (error: LockError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        attempt.then(
          (late) => late.release().catch(this.options.onReleaseError),
          () => {},
        );
        reject(error);
      };
      // Redlock's own retries span the configured wait. Cut short by a caller's smaller budget,
      // the attempt has most likely met a holder rather than an outage.
      const shortened = waitMs < this.options.lock.waitMs;
      const timer = setTimeout(
        () =>
          finish(
            shortened
              ? new LockError('LOCK_BUSY', `order lock ${key} not obtained within the ${waitMs} ms left of the wait`)
              : new LockError(
                  'LOCK_UNAVAILABLE',
                  `order lock ${key}: no answer from a quorum of lock nodes within ${waitMs} ms`,
                ),
          ),
        shortened ? waitMs : waitMs + 250,
      );
      const onAbort = (): void =>
        finish(new LockError('LOCK_WAIT_CANCELLED', `caller cancelled while waiting for ${key}`));
      signal?.addEventListener('abort', onAbort, { once: true });
      attempt.then(
        (lock) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(lock);
        },
        (e: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  private async acquire(key: string): Promise<Lock> {
    try {
      return await this.redlock.acquire([key], this.options.lock.ttlMs);
    } catch (e) {
      if (e instanceof ExecutionError) throw new LockError(await classify(e), describe(key, e), { cause: e });
      throw new LockError('LOCK_UNAVAILABLE', `order lock ${key}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }
}

/**
 * Unavailable when, in any attempt, too few nodes answered for a quorum; busy when a quorum
 * answered every time but the resource was held. Looking at the last attempt alone misleads when
 * nodes come back during the wait: they answer "held" to the partial locks of this caller's own
 * earlier attempts, and an outage would be reported as contention.
 */
async function classify(e: ExecutionError): Promise<'LOCK_BUSY' | 'LOCK_UNAVAILABLE'> {
  if (e.attempts.length === 0) return 'LOCK_UNAVAILABLE';
  for (const attempt of e.attempts) {
    const stats = await attempt.catch(() => undefined);
    if (!stats) return 'LOCK_UNAVAILABLE';
    const unreachable = [...stats.votesAgainst.values()].filter((err) => !(err instanceof ResourceLockedError)).length;
    if (stats.membershipSize - unreachable < stats.quorumSize) return 'LOCK_UNAVAILABLE';
  }
  return 'LOCK_BUSY';
}

function describe(key: string, e: ExecutionError): string {
  return `order lock ${key} not acquired after ${e.attempts.length} attempt(s): ${e.message}`;
}
