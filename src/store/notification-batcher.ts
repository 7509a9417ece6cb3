import type { Knex } from 'knex';
import { StoreError } from './store-error';

type Row = Readonly<Record<string, string | number | null>>;

interface Pending {
  readonly row: Row;
  readonly bytes: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Rows per INSERT, and their text: far below MySQL's default 16 MiB packet even after escaping. */
const MAX_BATCH_ROWS = 100;
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
/** More waiting than this means the database cannot keep up: refuse, and let WeChat retry. */
const MAX_QUEUED = 5_000;

/**
 * Writes notifications rows that need no transaction (duplicates of paid orders) in multi-row
 * INSERTs: one statement and one commit for every row that arrived while the previous INSERT
 * was running. Nothing waits for a timer: a lone row goes out at once, and batches only form
 * when rows arrive faster than the database commits them, which is exactly a redelivery storm.
 * Each caller's promise settles when its own row is committed (or failed), so a reply is never
 * sent before what it reports is stored; a caller that gave up before its batch left is dropped
 * from it, so nothing is stored for a reply that said FAIL.
 */
export class NotificationBatcher {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly db: Knex) {}

  insert(row: Row, signal?: AbortSignal): Promise<void> {
    if (this.queue.length >= MAX_QUEUED) {
      return Promise.reject(
        new StoreError('STORE_UNAVAILABLE', `${MAX_QUEUED} notifications already wait to be recorded`),
      );
    }
    const bytes = Object.values(row).reduce((n: number, v) => n + (typeof v === 'string' ? v.length : 8), 0);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, bytes, signal, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) await this.write(this.nextBatch());
    } finally {
      this.writing = false;
    }
  }

  private nextBatch(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < MAX_BATCH_ROWS) {
      const next = this.queue[0];
      if (!next || (batch.length > 0 && bytes + next.bytes > MAX_BATCH_BYTES)) break;
      this.queue.shift();
      if (next.signal?.aborted) {
        next.reject(new StoreError('STORE_CANCELLED', 'the caller went away before its notification was recorded'));
        continue;
      }
      batch.push(next);
      bytes += next.bytes;
    }
    return batch;
  }

  private async write(batch: readonly Pending[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.db('notifications').insert(batch.map((p) => p.row));
      for (const p of batch) p.resolve();
      return;
    } catch (e) {
      if (batch.length === 1 || !refusesARow(e)) {
        for (const p of batch) p.reject(e);
        return;
      }
    }
    // One statement is all or nothing: when the database refused a value, find out row by row,
    // so that one bad row fails only its own notification.
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

/**
 * Whether the error is about the data of some row (a value too long, a NULL, a constraint),
 * rather than about the database (down, timed out, busy), which would fail every row alike.
 */
function refusesARow(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, sqlState } = e as { code?: unknown; sqlState?: unknown };
  // PostgreSQL SQLSTATE classes 22 (data exception) and 23 (integrity constraint); MySQL's sqlState.
  const state =
    typeof sqlState === 'string' ? sqlState : typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : '';
  if (/^2[23]/.test(state)) return true;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code);
}
