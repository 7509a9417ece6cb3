import type { Knex } from 'knex';

/**
 * Stream positions assigned after commit. An event's id comes from a sequence at insert time, so
 * a transaction that commits late can make a smaller id visible after a larger one: reading
 * "id > cursor" could skip it. Instead of serialising every paying transaction on one row (what
 * migration 002's outbox_head did, and what capped throughput), readers give committed events a
 * `position` in the order they became visible (event-sequencer.ts); streams read by position.
 * Existing events keep their order: position = id.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('payment_events', (t) => {
    t.bigInteger('position').nullable();
  });
  await db('payment_events').update({ position: db.ref('id') });
  await db.schema.alterTable('payment_events', (t) => {
    t.unique(['position'], { indexName: 'payment_events_position' });
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('payment_events', (t) => {
    t.dropUnique(['position'], 'payment_events_position');
    t.dropColumn('position');
  });
}
