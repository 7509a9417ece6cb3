import type { Knex } from 'knex';
import { classifyStoreError, StoreError } from './store-error';

type Row = Readonly<Record<string, string | number | null>>;

interface Pending {
  readonly row: Row;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Rows per INSERT: a notification row is a few KB, so a batch stays far below any packet limit. */
const MAX_BATCH = 100;

/**
 * Writes notifications rows that need no transaction (duplicates of paid orders) in multi-row
 * INSERTs: one statement and one commit for every row that arrived while the previous INSERT
 * was running. Nothing waits for a timer: a lone row goes out at once, and batches only form
 * when rows arrive faster than the database commits them, which is exactly a redelivery storm.
 * Each caller's promise settles when its own row is committed (or failed), so a reply is never
 * sent before what it reports is stored.
 */
export class NotificationBatcher {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly db: Knex) {}

  insert(row: Row): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await this.write(batch);
      }
    } finally {
      this.writing = false;
    }
  }

  private async write(batch: readonly Pending[]): Promise<void> {
    try {
      await this.db('notifications').insert(batch.map((p) => p.row));
      for (const p of batch) p.resolve();
      return;
    } catch (e) {
      const classified = classifyStoreError(e);
      if (batch.length === 1 || (classified instanceof StoreError && classified.code === 'STORE_UNAVAILABLE')) {
        for (const p of batch) p.reject(e);
        return;
      }
    }
    // One statement is all or nothing: find out row by row, so that one row the database
    // refuses fails only its own notification.
    for (const p of batch) {
      try {
        await this.db('notifications').insert(p.row);
        p.resolve();
      } catch (e) {
        p.reject(e);
      }
    }
  }
}
