import type { Knex } from 'knex';

/**
 * outbox_head: one row that every event-writing transaction locks just before inserting its
 * event. Event ids are then assigned and committed in the same order, so a consumer reading
 * "id > cursor" can never pass over an event that commits later with a smaller id.
 * anomalies.resolved_by: who closed an anomaly, as authenticated.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('outbox_head', (t) => {
    t.integer('id').primary();
    t.bigInteger('events_written').notNullable();
  });
  await db('outbox_head').insert({ id: 1, events_written: 0 });
  await db.schema.alterTable('anomalies', (t) => {
    t.string('resolved_by', 64).nullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('anomalies', (t) => {
    t.dropColumn('resolved_by');
  });
  await db.schema.dropTableIfExists('outbox_head');
}
