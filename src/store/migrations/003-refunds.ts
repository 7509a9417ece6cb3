import type { Knex } from 'knex';

/**
 * Refunds (v2 refund notifications and APIv3 REFUND.* events) and API v3 notifications.
 * - refunds: one row per (mch_id, out_refund_no), the idempotency key of a refund; its state only
 *   moves ABNORMAL -> SUCCESS or CLOSED, by conditional updates.
 * - orders.refunded_fee: the sum of the order's SUCCESS refunds, raised by a conditional update
 *   that keeps it at or below total_fee.
 * - notifications.kind (PAYMENT_V2, REFUND_V2, PAYMENT_V3, REFUND_V3) and out_refund_no. Existing
 *   rows are v2 payments.
 * Only additions, so the previous version keeps running on the migrated schema.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('refunds', (t) => {
    t.bigIncrements('id');
    t.string('mch_id', 32).notNullable();
    t.string('out_refund_no', 64).notNullable();
    t.string('out_trade_no', 32).notNullable();
    t.string('transaction_id', 32).notNullable();
    t.string('refund_id', 32).notNullable();
    t.bigInteger('refund_fee').notNullable();
    t.string('state', 16).notNullable();
    t.bigInteger('success_at_ms').nullable();
    t.bigInteger('notification_id').notNullable();
    t.bigInteger('created_at_ms').notNullable();
    t.bigInteger('updated_at_ms').notNullable();
    t.unique(['mch_id', 'out_refund_no'], { indexName: 'refunds_merchant_refund_no' });
    t.index(['mch_id', 'out_trade_no'], 'refunds_merchant_trade_no');
  });
  await db.schema.alterTable('orders', (t) => {
    t.bigInteger('refunded_fee').notNullable().defaultTo(0);
  });
  await db.schema.alterTable('notifications', (t) => {
    t.string('kind', 16).notNullable().defaultTo('PAYMENT_V2');
    t.string('out_refund_no', 64).nullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('notifications', (t) => {
    t.dropColumn('out_refund_no');
    t.dropColumn('kind');
  });
  await db.schema.alterTable('orders', (t) => {
    t.dropColumn('refunded_fee');
  });
  await db.schema.dropTableIfExists('refunds');
}
