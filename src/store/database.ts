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
    ...knexSettings(config),
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

/**
 * A database that vanishes without a word (a black-holed route, a host that lost power, a
 * firewall that forgot the connection) must be noticed in seconds, not after the kernel's
 * defaults (keepalive after 2 h idle; a query in flight retransmits for ~15 min).
 *
 * - Idle connections: TCP keepalive after this much silence. Node (libuv >= 1.46, Node 20) then
 *   probes every second and gives up after 10 unanswered probes, so a dead idle pool connection
 *   errors about 15 s after it went quiet, and Knex drops it instead of handing it to a query.
 *   Idle connections live at most 30 s (tarn's idleTimeoutMillis), so the probes cost little.
 * - A query in flight is not idle (keepalive stays silent while data is unacknowledged): for
 *   pg the client-side QUERY_TIMEOUT_MS ends it. statement_timeout is the server's limit and
 *   cannot fire on a server we no longer reach; one second after it, no answer means no server.
 */
const KEEPALIVE_INITIAL_DELAY_MS = 5_000;
const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 1_000;

/**
 * The Knex configuration of a dialect: driver options, pool, timeouts. Exported for its test;
 * openDatabase() is the way to open a database.
 *
 * knexSettings({ client: 'pg', connection: 'postgres://u@db/pc', poolMax: 10, redactedUrl: '...' }).connection
 *   => { connectionString: 'postgres://u@db/pc', keepAlive: true, keepAliveInitialDelayMillis: 5000, query_timeout: 6000, ... }
 */
export function knexSettings(config: DatabaseConfig): Knex.Config {
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
          afterCreate: (
            conn: { pragma: (sql: string) => unknown },
            done: (err: Error | null, conn: unknown) => void,
          ) => {
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
          // A vanished server, idle or mid-query: KEEPALIVE_INITIAL_DELAY_MS, QUERY_TIMEOUT_MS.
          // A COMMIT cut this way may still have landed; the notify path is idempotent, and
          // WeChat's retry finds it done.
          keepAlive: true,
          keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
          query_timeout: QUERY_TIMEOUT_MS,
        } as Knex.PgConnectionConfig,
        pool: {
          min: 0,
          max: config.poolMax,
          // After a query timeout pg keeps the connection, its dead query still first in line:
          // every later query on it would time out too. Not ready for a query when taken from
          // the pool means it is one of those (a healthy connection is released ready).
          validate: (conn: { readyForQuery?: boolean }) => conn.readyForQuery === true,
        },
        // Bounded so a dead database turns into a quick FAIL (WeChat retries) rather than a hang.
        acquireConnectionTimeout: 3_000,
      };
    case 'mysql2':
      return {
        client: 'mysql2',
        connection: {
          uri: config.connection,
          connectTimeout: 2_000,
          charset: 'utf8mb4',
          supportBigNumbers: true,
          bigNumberStrings: false,
          // An idle connection to a vanished server: see KEEPALIVE_INITIAL_DELAY_MS. mysql2 has
          // no per-connection query timeout; Knex drops a connection once the driver errors it.
          enableKeepAlive: true,
          keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS,
        },
        pool: {
          min: 0,
          max: config.poolMax,
          afterCreate: (
            conn: { query: (sql: string, cb: (err: Error | null) => void) => void },
            done: (err: Error | null, conn: unknown) => void,
          ) => {
            // The one setting MySQL and MariaDB share; their statement and idle-transaction
            // timeouts differ by name and meaning.
            conn.query(`SET SESSION innodb_lock_wait_timeout = ${Math.ceil(LOCK_TIMEOUT_MS / 1000)}`, (err) =>
              done(err, conn),
            );
          },
        },
        acquireConnectionTimeout: 3_000,
      };
  }
}

/** The SQL dialect behind a Knex instance or transaction: the one place that asks. */
export type Dialect = 'pg' | 'mysql2' | 'better-sqlite3';

export function dialectOf(db: Knex | Knex.Transaction): Dialect {
  // Knex types its client as any; the config is what openDatabase (or a test) gave it.
  const client = (db.client as { config: { client: unknown } }).config.client;
  if (client === 'pg' || client === 'mysql2' || client === 'better-sqlite3') return client;
  throw new Error(`unsupported Knex client ${String(client)}`);
}

export function isSqlite(db: Knex): boolean {
  return dialectOf(db) === 'better-sqlite3';
}
