import type { Knex } from 'knex';
import { dialectOf } from '../database';

/**
 * MySQL and MariaDB compare strings case-insensitively by default, so "caseAbc1" and "CASEABC1"
 * were one order there (and a payment for one paid the other) while PostgreSQL and SQLite keep
 * them apart. WeChat's identifiers are compared byte for byte: make every table binary.
 * Tables created by later migrations must set `t.collate('utf8mb4_bin')` themselves.
 */
const TABLES = [
  'orders',
  'notifications',
  'anomalies',
  'payment_events',
  'refunds',
  'reconcile_state',
  'reconcile_lease',
];

export async function up(db: Knex): Promise<void> {
  if (dialectOf(db) !== 'mysql2') return;
  for (const table of TABLES) {
    if (await db.schema.hasTable(table)) {
      await db.raw('ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', [table]);
    }
  }
}

export async function down(): Promise<void> {
  // Going back to a case-insensitive collation could merge distinct orders: not done.
}
