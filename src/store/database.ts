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
  return knex({ ...settings(config), ...(knexLog ? { log: knexLog } : {}) });
}

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
        connection: { connectionString: config.connection, connectionTimeoutMillis: 2_000 },
        pool: { min: 0, max: config.poolMax },
        // Bounded so a dead database turns into a quick FAIL (WeChat retries) rather than a hang.
        acquireConnectionTimeout: 3_000,
      };
    case 'mysql2':
      return {
        client: 'mysql2',
        connection: { uri: config.connection, connectTimeout: 2_000, charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: false } as Knex.MySql2ConnectionConfig,
        pool: { min: 0, max: config.poolMax },
        acquireConnectionTimeout: 3_000,
      };
  }
}

export function isSqlite(db: Knex): boolean {
  return db.client.config.client === 'better-sqlite3';
}
