// Settings the Kubernetes deployment relies on: MIGRATE_ON_START (the core runs with a DML-only
// database role while the migrate Job owns the schema) and a Redis password that never reaches
// a log line (REDIS_URLS carries it, from a Secret).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readCoreConfig } from '../../src/config';
import { ConfigError } from '../../src/env-reader';
import { RedlockLock } from '../../src/lock/redlock-lock';

const MERCHANTS_JSON = JSON.stringify([
  { mch_id: '1900000001', appids: ['wx1234567890abcdef'], api_key: 'Abcdefghijklmnopqrstuvwxyz012345' },
]);
const BASE = { MERCHANTS_JSON, AUTH_DISABLED: 'true' };
const REDIS_PASSWORD = 'r3dis-Pa55word-in-a-Secret';

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('MIGRATE_ON_START', () => {
  const cases: ReadonlyArray<{ name: string; env: Record<string, string>; expected: boolean }> = [
    { name: 'unset: migrate at start-up (local runs, one-replica setups)', env: {}, expected: true },
    { name: 'true', env: { MIGRATE_ON_START: 'true' }, expected: true },
    { name: 'false: the migrate Job owns the schema', env: { MIGRATE_ON_START: 'false' }, expected: false },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(readCoreConfig({ ...BASE, ...c.env }).migrateOnStart, c.expected));
  }
  test('anything else is refused, not read as false', () => {
    for (const value of ['no', '0', 'FALSE']) {
      const problems = problemsOf(() => readCoreConfig({ ...BASE, MIGRATE_ON_START: value }));
      assert.ok(
        problems.some((p) => p.includes('MIGRATE_ON_START')),
        `${JSON.stringify(value)}: ${problems.join('; ')}`,
      );
    }
  });
});

describe('a Redis password in REDIS_URLS is never logged', () => {
  const urls = ['redis-0.redis', 'redis-1.redis', 'redis-2.redis'].map((h) => `redis://:${REDIS_PASSWORD}@${h}:6379`);

  test('accepted as three independent nodes', () => {
    assert.deepEqual(readCoreConfig({ ...BASE, REDIS_URLS: urls.join(',') }).redisUrls, urls);
  });

  test('a refused entry is reported with the password redacted', () => {
    for (const bad of [`http://:${REDIS_PASSWORD}@r1:6379`, `redis://user:${REDIS_PASSWORD}@r1:6379 x`]) {
      const problems = problemsOf(() => readCoreConfig({ ...BASE, REDIS_URLS: bad }));
      assert.ok(problems.length > 0);
      for (const p of problems) assert.ok(!p.includes(REDIS_PASSWORD), p);
    }
  });

  test('the lock describes itself (the start-up log\'s "lock" field) without URLs', async () => {
    // Port 1 refuses connections; the lock is only constructed and closed.
    const lock = new RedlockLock({
      urls: [`redis://:${REDIS_PASSWORD}@127.0.0.1:1`, `redis://app:${REDIS_PASSWORD}@127.0.0.1:1/1`],
      lock: { ttlMs: 10_000, waitMs: 100, retryDelayMs: 25 },
      onReleaseError: () => {},
    });
    try {
      assert.equal(lock.description, 'redlock (2 nodes)');
      assert.ok(!JSON.stringify(lock.description).includes(REDIS_PASSWORD));
    } finally {
      await lock.close();
    }
  });
});
