import { CodedError } from '../coded-error';

/** Why a store call failed, in terms a caller can act on. */
export type StoreErrorCode =
  /** The database could not be reached or is shutting down: try again later. */
  | 'STORE_UNAVAILABLE'
  /** A unique constraint refused the write, or a deadlock aborted it: someone else wrote first. */
  | 'STORE_CONFLICT'
  /** The caller went away before the write started; nothing was written. */
  | 'STORE_CANCELLED';

export class StoreError extends CodedError<StoreErrorCode> {}

/** Driver errors that mean "no database right now" rather than "this query is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  'SQLITE_IOERR',
]);
/** A unique index refused the write, or the database aborted one of two racing transactions. */
const CONFLICT_CODES = new Set([
  '23505',
  'ER_DUP_ENTRY',
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
  '40001',
  '40P01',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  // MariaDB with innodb_snapshot_isolation: "Record has changed since last read".
  'ER_CHECKREAD',
  // PostgreSQL lock_timeout, and a statement cancelled by statement_timeout.
  '55P03',
  '57014',
]);

/** Classifies a driver or Knex error; anything unrecognised is returned unchanged (a bug). */
export function classifyStoreError(e: unknown): unknown {
  if (e instanceof StoreError) return e;
  const code = errorCode(e);
  const message = e instanceof Error ? e.message : String(e);
  if (code && CONFLICT_CODES.has(code)) return new StoreError('STORE_CONFLICT', message, { cause: e });
  if (
    (code && (UNAVAILABLE_CODES.has(code) || /^(08|57P|53)/.test(code))) ||
    (e instanceof Error &&
      (e.name === 'KnexTimeoutError' ||
        /Connection terminated|connect ECONNREFUSED|Timeout acquiring a connection|not queryable|Connection lost/i.test(
          e.message,
        )))
  ) {
    return new StoreError('STORE_UNAVAILABLE', message, { cause: e });
  }
  return e;
}

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // AggregateError from a dual-stack connect attempt carries the codes inside.
  const errors = (e as { errors?: unknown }).errors;
  if (Array.isArray(errors)) return errors.map(errorCode).find((c) => c !== undefined);
  return undefined;
}

/**
 * Whether a unique index refused the write, in any dialect: PostgreSQL names the constraint,
 * MySQL/MariaDB name the key in the message, SQLite names the columns (`INDEX_COLUMNS`).
 */
export function violatesIndex(e: unknown, index: keyof typeof INDEX_COLUMNS): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, constraint, message } = e as { code?: unknown; constraint?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  switch (code) {
    case '23505':
      return constraint === index;
    case 'ER_DUP_ENTRY':
      return text.includes(`'${index}'`) || text.includes(`.${index}'`);
    case 'SQLITE_CONSTRAINT_UNIQUE':
      return text.includes(INDEX_COLUMNS[index]);
    default:
      return false;
  }
}

const INDEX_COLUMNS = {
  orders_merchant_transaction: 'orders.mch_id, orders.transaction_id',
  refunds_merchant_refund_id: 'refunds.mch_id, refunds.refund_id',
  payment_events_dedupe_key: 'payment_events.dedupe_key',
} as const;
