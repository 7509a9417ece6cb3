import { ConfigError } from '../env-reader';
import { readDatabaseConfig } from '../config';
import { openDatabase } from '../store/database';
import { migrateToLatest } from '../store/migrate';

/** `make migrate`: applies pending migrations to DATABASE_URL (the Kubernetes Job runs this). */
async function main(): Promise<void> {
  const database = readDatabaseConfig(process.env);
  const db = openDatabase(database);
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(
      `${database.redactedUrl}: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}\n`,
    );
  } finally {
    await db.destroy();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`migrate: ${e instanceof ConfigError || e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
