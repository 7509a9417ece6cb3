// src/store/database.ts: the Knex settings of each dialect carry the limits that turn a vanished
// database into a quick error: TCP keepalive on idle connections, a client-side query timeout
// (pg) above the server's statement_timeout, and a pool that drops a connection a timed-out
// query left behind. test/integration/database-silent-server.test.ts shows them at work.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readDatabaseConfig } from '../../src/config';
import { knexSettings } from '../../src/store/database';

/** What Node 20 (libuv 1.46) does after the initial delay: a probe a second, 10 unanswered ones. */
const KEEPALIVE_PROBES_MS = 10 * 1_000;
/** "Within seconds": a dead idle connection is known within this long of going quiet. */
const DETECT_WITHIN_MS = 20_000;

const settingsFor = (url: string) => knexSettings(readDatabaseConfig({ DATABASE_URL: url }));

describe('knexSettings: pg', () => {
  const s = settingsFor('postgres://app:secret@db.internal:5432/payment_callback');
  const c = s.connection as Record<string, unknown>;

  test('TCP keepalive with an initial delay that finds a dead idle connection within seconds', () => {
    assert.equal(c['keepAlive'], true);
    const delay = c['keepAliveInitialDelayMillis'];
    assert.equal(typeof delay, 'number');
    assert.ok((delay as number) >= 1_000, 'the kernel counts whole seconds; less than 1 s is no delay');
    assert.ok((delay as number) + KEEPALIVE_PROBES_MS <= DETECT_WITHIN_MS, `${String(delay)} ms + probes`);
  });

  test("a client-side query timeout just above the server's statement_timeout", () => {
    const statement = c['statement_timeout'] as number;
    const query = c['query_timeout'] as number;
    assert.equal(typeof statement, 'number');
    assert.equal(typeof query, 'number');
    // Below it the client would abandon statements the server is still allowed to finish.
    assert.ok(query > statement, `query_timeout ${query} ms must exceed statement_timeout ${statement} ms`);
    assert.ok(
      query <= statement + 2_000,
      `query_timeout ${query} ms: a silent server is known within ~1 s of the statement limit`,
    );
    assert.ok((c['lock_timeout'] as number) < statement);
    assert.equal(typeof c['idle_in_transaction_session_timeout'], 'number');
    assert.equal(c['connectionTimeoutMillis'], 2_000);
  });

  test('the pool takes only connections ready for a query', () => {
    const validate = s.pool?.validate;
    assert.ok(validate);
    const cases: ReadonlyArray<[string, { readyForQuery?: boolean }, boolean]> = [
      ['idle, released after its query', { readyForQuery: true }, true],
      ['a timed-out query still first in line', { readyForQuery: false }, false],
      ['not a pg client', {}, false],
    ];
    for (const [name, conn, valid] of cases) assert.equal(validate(conn), valid, name);
    assert.equal(s.pool?.min, 0);
    assert.equal(s.acquireConnectionTimeout, 3_000);
  });
});

describe('knexSettings: mysql2 (MySQL and MariaDB)', () => {
  for (const url of [
    'mysql://app:secret@db.internal:3306/payment_callback',
    'mariadb://app:secret@db.internal/payment_callback',
  ]) {
    test(`${url.split(':')[0] ?? ''}: TCP keepalive with the same initial delay as pg`, () => {
      const c = settingsFor(url).connection as Record<string, unknown>;
      const pg = settingsFor('postgres://app@db/pc').connection as Record<string, unknown>;
      assert.equal(c['enableKeepAlive'], true);
      assert.equal(c['keepAliveInitialDelay'], pg['keepAliveInitialDelayMillis']);
      assert.equal(c['connectTimeout'], 2_000);
    });
  }
});

test('knexSettings: SQLite has no network to lose, and no keepalive settings', () => {
  const s = settingsFor('sqlite::memory:');
  assert.equal(s.client, 'better-sqlite3');
  assert.deepEqual(s.connection, { filename: ':memory:' });
});
