import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config';
import type { Logger } from '../logger';

/** Opens a Knex instance for the configured dialect; nothing is queried until first use. */
export function openDatabase(config: DatabaseConfig, log?: Logger): Knex {
  // Knex and the drivers print warnings with console.*; send them to the structured log instead.
  const knexLog = log && {
    warn: (m: unknown) => log.warn({ knex: m }, 'knex warning'),
    error: (m: unknown) => log.error({ knex: m }, 'knex error'),
    deprecate: (m: unknown) => log.warn({ knex: m }, 'knex deprecation'),
    debug: (m: unknown) => log.debug({ knex: m }, 'knex debug'),
  };
  return knex({
    ...settings(config),
    // Errors must not carry the SQL with its bindings: they hold raw bodies and signatures,
    // and pino's redaction cannot reach inside a message string.
    compileSqlOnError: false,
    ...(knexLog ? { log: knexLog } : {}),
  });
}

/**
 * No statement may wait long: a stalled transaction (a paused pod, a partitioned client) must
 * not hold the order or outbox row locks, nor its waiters block, for longer than a notification
 * may take. A lock wait past this becomes RETRY_LATER and WeChat retries.
 */
const LOCK_TIMEOUT_MS = 3_000;
const STATEMENT_TIMEOUT_MS = 5_000;
const IDLE_IN_TRANSACTION_MS = 10_000;

function settings(config: DatabaseConfig): Knex.Config {
  switch (config.client) {
    case 'better-sqlite3':
      if (config.connection !== ':memory:') mkdirSync(dirname(config.connection), { recursive: true });
      return {
        client: 'better-sqlite3',
        connection: { filename: config.connection },
        useNullAsDefault: true,
        // One connection: SQLite has one writer anyway, and a second connection would only wait
        // on the file lock instead of on Knex's queue.
        pool: {
          min: 1,
          max: 1,
          afterCreate: (conn: { pragma: (sql: string) => unknown }, done: (err: Error | null, conn: unknown) => void) => {
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = FULL');
            conn.pragma('busy_timeout = 5000');
            done(null, conn);
          },
        },
        acquireConnectionTimeout: 3_000,
      };
    case 'pg':
      return {
        client: 'pg',
        connection: {
          connectionString: config.connection,
          connectionTimeoutMillis: 2_000,
          lock_timeout: LOCK_TIMEOUT_MS,
          statement_timeout: STATEMENT_TIMEOUT_MS,
          idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
          // Without keepalive a vanished peer is noticed only after the kernel's ~2 h default.
          keepAlive: true,
        } as Knex.PgConnectionConfig,
        pool: { min: 0, max: config.poolMax },
        // Bounded so a dead database turns into a quick FAIL (WeChat retries) rather than a hang.
        acquireConnectionTimeout: 3_000,
      };
    case 'mysql2':
      return {
        client: 'mysql2',
        connection: {
          uri: config.connection, connectTimeout: 2_000, charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: false,
          enableKeepAlive: true,
        } as Knex.MySql2ConnectionConfig,
        pool: {
          min: 0,
          max: config.poolMax,
          afterCreate: (conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) => {
            // The one setting MySQL and MariaDB share; their statement and idle-transaction
            // timeouts differ by name and meaning.
            conn.query(`SET SESSION innodb_lock_wait_timeout = ${Math.ceil(LOCK_TIMEOUT_MS / 1000)}`, (err) => done(err, conn));
          },
        },
        acquireConnectionTimeout: 3_000,
      };
  }
}

export function isSqlite(db: Knex): boolean {
  return db.client.config.client === 'better-sqlite3';
}
