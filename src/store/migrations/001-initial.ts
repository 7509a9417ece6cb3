import type { Knex } from 'knex';

/**
 * Amounts are integers in fen; instants are epoch milliseconds (bigint), which every dialect
 * stores and returns the same way, unlike its timestamp types.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('orders', (t) => {
    t.bigIncrements('id');
    t.string('mch_id', 32).notNullable();
    t.string('appid', 32).notNullable();
    t.string('out_trade_no', 32).notNullable();
    t.bigInteger('total_fee').notNullable();
    t.string('fee_type', 3).notNullable();
    t.string('status', 16).notNullable();
    t.string('transaction_id', 32).nullable();
    t.bigInteger('paid_at_ms').nullable();
    t.bigInteger('created_at_ms').notNullable();
    t.bigInteger('updated_at_ms').notNullable();
    t.unique(['mch_id', 'out_trade_no'], { indexName: 'orders_merchant_trade_no' });
  });

  await db.schema.createTable('notifications', (t) => {
    t.bigIncrements('id');
    t.bigInteger('received_at_ms').notNullable();
    t.string('mch_id', 32).notNullable();
    t.string('appid', 32).notNullable();
    t.string('out_trade_no', 32).notNullable();
    t.string('transaction_id', 32).nullable();
    t.string('result_code', 16).notNullable();
    t.string('outcome', 32).notNullable();
    t.string('code', 32).notNullable();
    t.text('fields_json', 'mediumtext').notNullable();
    // The body limit is 64 KiB; MySQL's TEXT holds 64 KiB minus two bytes.
    t.text('raw_body', 'mediumtext').notNullable();
    t.string('client_ip', 64).notNullable();
    t.string('request_id', 128).notNullable();
    t.index(['mch_id', 'out_trade_no'], 'notifications_merchant_trade_no');
  });

  await db.schema.createTable('anomalies', (t) => {
    t.bigIncrements('id');
    t.string('kind', 32).notNullable();
    t.string('mch_id', 32).notNullable();
    t.string('out_trade_no', 32).notNullable();
    t.string('transaction_id', 32).nullable();
    t.text('detail').notNullable();
    // One anomaly per discrepancy, however often WeChat repeats the notification.
    t.string('dedupe_key', 255).notNullable().unique({ indexName: 'anomalies_dedupe_key' });
    t.bigInteger('notification_id').notNullable();
    t.bigInteger('created_at_ms').notNullable();
    t.bigInteger('resolved_at_ms').nullable();
    t.text('resolution_note').nullable();
  });

  // The outbox: events are written in the same transaction as the state they describe, and the
  // id is the cursor consumers resume from.
  await db.schema.createTable('payment_events', (t) => {
    t.bigIncrements('id');
    t.string('type', 32).notNullable();
    t.string('mch_id', 32).notNullable();
    t.string('out_trade_no', 32).notNullable();
    t.string('transaction_id', 32).nullable();
    t.text('payload_json').notNullable();
    // Second line of defence after the conditional update: one ORDER_PAID per order, ever.
    t.string('dedupe_key', 255).notNullable().unique({ indexName: 'payment_events_dedupe_key' });
    t.bigInteger('created_at_ms').notNullable();
  });
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['payment_events', 'anomalies', 'notifications', 'orders']) {
    await db.schema.dropTableIfExists(table);
  }
}
