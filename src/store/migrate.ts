import type { Knex } from 'knex';
import * as initial from './migrations/001-initial';
import * as orderedOutbox from './migrations/002-ordered-outbox-and-resolution';
import * as refunds from './migrations/003-refunds';
import * as reconciliation from './migrations/004-reconciliation';
import * as eventPositions from './migrations/005-event-positions';
import * as binaryCollation from './migrations/006-binary-collation';
import * as moneyInvariants from './migrations/007-money-invariants';

/** Migrations are compiled into the program, so the same build migrates in a container or a test. */
const MIGRATIONS: Readonly<Record<string, Knex.Migration>> = Object.freeze({
  '001-initial': initial,
  '002-ordered-outbox-and-resolution': orderedOutbox,
  '003-refunds': refunds,
  '004-reconciliation': reconciliation,
  '005-event-positions': eventPositions,
  '006-binary-collation': binaryCollation,
  '007-money-invariants': moneyInvariants,
});

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const m = MIGRATIONS[name];
    if (!m) throw new Error(`unknown migration ${name}`);
    return m;
  },
};

/**
 * Applies pending migrations up to and including `last` only: how an upgrade from an older
 * version is rehearsed (a database as that version left it, then migrateToLatest).
 */
export async function migrateUpTo(db: Knex, last: string): Promise<void> {
  if (!Object.hasOwn(MIGRATIONS, last)) throw new Error(`unknown migration ${last}`);
  for (const name of Object.keys(MIGRATIONS)
    .sort()
    .filter((n) => n <= last)) {
    await db.migrate.up({ migrationSource: source, name });
  }
}

/** Applies pending migrations; Knex's lock table keeps replicas starting together from racing. */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}
