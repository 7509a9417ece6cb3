import type { Knex } from 'knex';
import { isSqlite } from './database';

/**
 * Gives committed events their stream positions, in the order they became visible.
 *
 * Why: ids come from a sequence at insert time, and transactions commit in any order, so a
 * reader of "id > cursor" could pass over an id that becomes visible later. Positions are
 * assigned only to events already committed, by one sequencer at a time (a row lock taken by
 * readers, never by payments), and each run continues after the highest position so far. An
 * event still in flight when a run happens simply gets a later position in a later run, so
 * "position > cursor" never skips anything.
 *
 * Runs are coalesced per process: callers that arrive while one runs share its result.
 */
export class EventSequencer {
  private running: Promise<number> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly batch = 1_000,
  ) {}

  /** Sequences what is pending; resolves with how many events got positions. */
  run(): Promise<number> {
    this.running ??= this.sequence().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private sequence(): Promise<number> {
    const sqlite = isSqlite(this.db);
    return this.db.transaction(
      async (trx) => {
        // One sequencer at a time across replicas. (SQLite has one writer already.)
        if (!sqlite) await trx('outbox_head').where({ id: 1 }).forUpdate().first();
        const pending = (await trx('payment_events')
          .select('id')
          .whereNull('position')
          .orderBy('id', 'asc')
          .limit(this.batch)) as Array<{ id: number | string }>;
        if (pending.length === 0) return 0;
        const top = (await trx('payment_events').max({ p: 'position' }).first()) as
          { p: number | string | null } | undefined;
        let next = Number(top?.p ?? 0);
        const ids = pending.map((r) => Number(r.id));
        if (!ids.every(Number.isSafeInteger)) throw new Error('payment_events ids must be integers');
        // One statement for the whole batch, in every dialect. The values are integers computed
        // here, written as literals so no dialect needs a cast for the CASE result.
        const cases = ids.map((id) => `WHEN ${id} THEN ${++next}`).join(' ');
        await trx.raw(`UPDATE payment_events SET position = CASE id ${cases} END WHERE id IN (${ids.join(', ')})`);
        return ids.length;
      },
      sqlite ? undefined : { isolationLevel: 'read committed' },
    );
  }
}
