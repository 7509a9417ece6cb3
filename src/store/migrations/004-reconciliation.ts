import type { Knex } from 'knex';

/**
 * Reconciliation (src/reconcile/): asking WeChat about orders whose notification never came.
 *
 * - notifications.source: 'notification' (WeChat called us) or 'reconciliation' (we asked
 *   WeChat with orderquery and stored its signed reply the same way).
 * - orders (status, created_at_ms): the sweep looks for NOTPAY orders by age.
 * - reconcile_state: one row per order reconciliation has looked at; `state` is PENDING until it
 *   settles (RECOVERED, ALREADY_PAID, ANOMALY, STOPPED, GAVE_UP). `attempts` doubles as a version:
 *   a sweeper claims an attempt by incrementing it conditionally.
 * - reconcile_lease: one row per sweeper; whoever holds an unexpired lease sweeps.
 * Only additions, so the previous version runs on the migrated schema.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('notifications', (t) => {
    t.string('source', 16).notNullable().defaultTo('notification');
  });
  await db.schema.alterTable('orders', (t) => {
    t.index(['status', 'created_at_ms'], 'orders_status_created');
  });
  await db.schema.createTable('reconcile_state', (t) => {
    t.string('mch_id', 32).notNullable();
    t.string('out_trade_no', 32).notNullable();
    t.primary(['mch_id', 'out_trade_no']);
    t.string('state', 16).notNullable();
    t.integer('attempts').notNullable();
    t.string('last_result', 32).nullable();
    t.bigInteger('next_attempt_at_ms').notNullable();
    t.bigInteger('last_attempt_at_ms').notNullable();
    t.bigInteger('finished_at_ms').nullable();
    t.bigInteger('updated_at_ms').notNullable();
    t.index(['state', 'next_attempt_at_ms'], 'reconcile_state_due');
  });
  await db.schema.createTable('reconcile_lease', (t) => {
    t.string('name', 64).primary();
    t.string('holder', 128).notNullable();
    t.bigInteger('expires_at_ms').notNullable();
  });
  // The row exists from the start, so taking the lease is always one conditional UPDATE.
  await db('reconcile_lease').insert({ name: 'orderquery-sweeper', holder: '', expires_at_ms: 0 });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('reconcile_lease');
  await db.schema.dropTableIfExists('reconcile_state');
  await db.schema.alterTable('orders', (t) => {
    t.dropIndex(['status', 'created_at_ms'], 'orders_status_created');
  });
  await db.schema.alterTable('notifications', (t) => {
    t.dropColumn('source');
  });
}
