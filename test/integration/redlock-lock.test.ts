// The Redis lock (src/lock/redlock-lock.ts) against a real redis-server: an attempt that gives up
// on its side (ioredis's 250 ms command timeout) may still be executed by Redis afterwards. The
// acquisition it belongs to must not then be refused by its own key.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import { startRedis, type RedisServer } from '../../harness/redis-server';
import { waitUntil } from '../../harness/wait-until';
import { LockError } from '../../src/lock/order-lock';
import { RedlockLock } from '../../src/lock/redlock-lock';

describe('an attempt that timed out on our side but landed on Redis', () => {
  let redis: RedisServer;
  let admin: Redis;
  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin.disconnect();
    await redis.stop();
  });

  test('does not make the same acquisition wait for itself: the lock is taken once Redis answers', async () => {
    const lock = new RedlockLock({
      urls: [redis.url],
      lock: { ttlMs: 10_000, waitMs: 2_000, retryDelayMs: 25 },
      onReleaseError: () => {},
    });
    try {
      await lock.ready();
      // Loads the scripts: an EVALSHA that Redis does not know yet would fail NOSCRIPT after the
      // pause and change nothing, hiding what this test is about.
      await lock.withLock('order:warm-up', async () => undefined);
      // Write commands (the lock scripts among them) wait until the pause ends: the first attempts
      // time out on our side and are then executed by Redis, setting the key to this acquisition's value.
      await admin.call('CLIENT', 'PAUSE', '700', 'WRITE');
      const result = await lock.withLock('order:paused', async () => 'held');
      assert.equal(result, 'held');
      // Released afterwards (withLock does not wait for the release): nobody waits for its TTL.
      await waitUntil('the lock key to be released', 5_000, async () => (await admin.exists('order:paused')) === 0);
    } finally {
      await lock.close();
    }
  });

  // Its own value only: every acquisition draws a fresh random value (redlock's _random), so a key
  // holding any other value is still another holder's.
  test("a key holding another acquisition's value still refuses, and holders never overlap", async () => {
    const lock = new RedlockLock({
      urls: [redis.url],
      lock: { ttlMs: 10_000, waitMs: 2_000, retryDelayMs: 10 },
      onReleaseError: () => {},
    });
    try {
      await lock.ready();
      await admin.set('order:taken', 'another-acquisition', 'PX', 10_000);
      await assert.rejects(
        lock.withLock('order:taken', async () => 'held', undefined, 200),
        (e: unknown) => e instanceof LockError && e.code === 'LOCK_BUSY',
      );
      assert.equal(await admin.get('order:taken'), 'another-acquisition');
      let inside = 0;
      let most = 0;
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          lock.withLock('order:shared', async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 20));
            inside--;
          }),
        ),
      );
      assert.equal(most, 1);
      assert.ok(results.some((r) => r.status === 'fulfilled'));
    } finally {
      await lock.close();
    }
  });
});
