import type { Knex } from 'knex';
import { dialectOf } from '../database';

/**
 * The money rules in the schema, so that no code path can skip them (every dialect):
 * - one paid order per (mch_id, transaction_id): a unique index (NULLs, the unpaid orders, are
 *   distinct in SQLite, PostgreSQL and MariaDB alike);
 * - one refund per (mch_id, refund_id), as per (mch_id, out_refund_no): WeChat's id of a refund
 *   names one refund, so a re-cut req_info cannot count one refund under two numbers;
 * - refunded_fee stays within 0 and total_fee, and an order is NOTPAY with no transaction and
 *   nothing refunded, or PAID with its transaction and time: CHECK constraints (SQLite cannot add
 *   one to an existing table: triggers there);
 * - PAID is final: its status, transaction, time, amount, currency and appid never change again and its refunded
 *   total never falls (a trigger; to correct a row by hand, an operator must drop it knowingly);
 * - one ORDER_PAID per order and one refund per (mch_id, out_refund_no) were unique keys already
 *   (payment_events_dedupe_key, refunds_merchant_refund_no).
 * Also notifications.body_sha256 (every delivery's digest), subject_digest (which fact it
 * reported: repeats keep the digest, not the body) and subject_json (a payment that came before
 * its order, for CreateOrder to apply).
 *
 * On a database that already holds data, rows that break a rule make the migration refuse, with
 * the rows named, before anything changes: someone has to decide what they mean.
 */
export async function up(db: Knex): Promise<void> {
  await refuseViolations(db);
  await db.schema.alterTable('notifications', (t) => {
    t.string('body_sha256', 64).nullable();
    t.string('subject_digest', 64).nullable();
    t.text('subject_json').nullable();
  });
  await db.schema.alterTable('orders', (t) => {
    t.unique(['mch_id', 'transaction_id'], { indexName: 'orders_merchant_transaction' });
  });
  await db.schema.alterTable('refunds', (t) => {
    t.unique(['mch_id', 'refund_id'], { indexName: 'refunds_merchant_refund_id' });
  });
  switch (dialectOf(db)) {
    case 'pg':
      await db.raw(`ALTER TABLE orders ADD CONSTRAINT orders_refunds_within_payment CHECK (${WITHIN_PAYMENT})`);
      await db.raw(`ALTER TABLE orders ADD CONSTRAINT orders_status_consistent CHECK (${CONSISTENT})`);
      await db.raw(`CREATE FUNCTION orders_paid_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = 'PAID' AND (${CHANGES_PAID.replace(/<=>/g, 'IS NOT DISTINCT FROM')}) THEN
            RAISE EXCEPTION 'order %: a PAID order never changes status, transaction, time, amount, currency or appid, and its refunded total never falls', OLD.out_trade_no
              USING ERRCODE = '23514';
          END IF;
          RETURN NEW;
        END $$`);
      await db.raw(
        'CREATE TRIGGER orders_paid_is_final BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_paid_is_final()',
      );
      return;
    case 'mysql2':
      await db.raw(`ALTER TABLE orders ADD CONSTRAINT orders_refunds_within_payment CHECK (${WITHIN_PAYMENT})`);
      await db.raw(`ALTER TABLE orders ADD CONSTRAINT orders_status_consistent CHECK (${CONSISTENT})`);
      // With binary logging on, creating a trigger needs SUPER or log_bin_trust_function_creators
      // (docs/exactly-once.md "The rules in the schema").
      await db.raw(`CREATE TRIGGER orders_paid_is_final BEFORE UPDATE ON orders FOR EACH ROW BEGIN
          IF OLD.status = 'PAID' AND (${CHANGES_PAID}) THEN
            SIGNAL SQLSTATE '23000' SET MESSAGE_TEXT = 'a PAID order never changes status, transaction, time, amount, currency or appid, and its refunded total never falls';
          END IF;
        END`);
      return;
    default:
      for (const event of ['INSERT', 'UPDATE']) {
        await db.raw(`CREATE TRIGGER orders_checks_on_${event.toLowerCase()} BEFORE ${event} ON orders FOR EACH ROW
          WHEN NOT (${withinPayment('NEW.')}) OR NOT (${consistent('NEW.')})
          BEGIN SELECT RAISE(ABORT, 'orders: refunded_fee must stay within total_fee, and status must match transaction_id'); END`);
      }
      await db.raw(`CREATE TRIGGER orders_paid_is_final BEFORE UPDATE ON orders FOR EACH ROW
        WHEN OLD.status = 'PAID' AND (${CHANGES_PAID.replace(/<=>/g, 'IS')})
        BEGIN SELECT RAISE(ABORT, 'orders: a PAID order never changes status, transaction, time, amount, currency or appid, and its refunded total never falls'); END`);
  }
}

/** The rules as SQL; `row` is 'NEW.' inside a trigger, where columns must be qualified. */
const withinPayment = (row = ''): string => `${row}refunded_fee >= 0 AND ${row}refunded_fee <= ${row}total_fee`;
const consistent = (row = ''): string =>
  `(${row}status = 'NOTPAY' AND ${row}transaction_id IS NULL AND ${row}refunded_fee = 0) ` +
  `OR (${row}status = 'PAID' AND ${row}transaction_id IS NOT NULL AND ${row}paid_at_ms IS NOT NULL)`;
const WITHIN_PAYMENT = withinPayment();
const CONSISTENT = consistent();
/** `<=>` is MySQL's null-safe equality; each dialect gets its own spelling. */
const CHANGES_PAID =
  "NEW.status <> 'PAID' OR NOT (NEW.transaction_id <=> OLD.transaction_id) OR NOT (NEW.paid_at_ms <=> OLD.paid_at_ms) " +
  'OR NEW.total_fee <> OLD.total_fee OR NEW.fee_type <> OLD.fee_type OR NEW.appid <> OLD.appid OR NEW.refunded_fee < OLD.refunded_fee';

/** Refuses, naming the rows, when existing data breaks a rule the constraints would enforce. */
async function refuseViolations(db: Knex): Promise<void> {
  const problems: string[] = [];
  const shared = (await db('orders')
    .select('mch_id', 'transaction_id')
    .count({ n: '*' })
    .whereNotNull('transaction_id')
    .groupBy('mch_id', 'transaction_id')
    .havingRaw('count(*) > 1')
    .limit(20)) as Array<Record<string, unknown>>;
  for (const row of shared) {
    const orders = (await db('orders')
      .select('out_trade_no')
      .where({ mch_id: row['mch_id'], transaction_id: row['transaction_id'] })) as Array<{ out_trade_no: string }>;
    problems.push(
      `transaction ${String(row['transaction_id'])} of mch_id ${String(row['mch_id'])} pays ${orders.length} orders (${orders.map((o) => o.out_trade_no).join(', ')}): keep one, refund the others and set them back`,
    );
  }
  const bad = (await db('orders')
    .select('mch_id', 'out_trade_no', 'status', 'transaction_id', 'total_fee', 'refunded_fee')
    .whereRaw(`NOT (${WITHIN_PAYMENT}) OR NOT (${CONSISTENT})`)
    .limit(20)) as Array<Record<string, unknown>>;
  for (const row of bad) {
    problems.push(
      `order ${String(row['out_trade_no'])} of mch_id ${String(row['mch_id'])} is ${String(row['status'])} with transaction ${typeof row['transaction_id'] === 'string' ? row['transaction_id'] : 'none'}, ` +
        `total_fee ${String(row['total_fee'])} and refunded_fee ${String(row['refunded_fee'])}: correct it`,
    );
  }
  const refundIds = (await db('refunds')
    .select('mch_id', 'refund_id')
    .count({ n: '*' })
    .groupBy('mch_id', 'refund_id')
    .havingRaw('count(*) > 1')
    .limit(20)) as Array<Record<string, unknown>>;
  for (const row of refundIds) {
    const refunds = (await db('refunds')
      .select('out_refund_no')
      .where({ mch_id: row['mch_id'], refund_id: row['refund_id'] })) as Array<{ out_refund_no: string }>;
    problems.push(
      `refund_id ${String(row['refund_id'])} of mch_id ${String(row['mch_id'])} is stored under ${refunds.length} refund numbers (${refunds.map((r) => r.out_refund_no).join(', ')}): ` +
        'keep the one WeChat reports (refundquery) and lower refunded_fee by the others',
    );
  }
  if (problems.length > 0) {
    throw new Error(
      `migration 007-money-invariants refused: existing rows break the money rules it adds, and nothing was changed:\n- ${problems.join('\n- ')}`,
    );
  }
}

export async function down(db: Knex): Promise<void> {
  switch (dialectOf(db)) {
    case 'pg':
      await db.raw('DROP TRIGGER IF EXISTS orders_paid_is_final ON orders');
      await db.raw('DROP FUNCTION IF EXISTS orders_paid_is_final()');
      await db.raw(
        'ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_refunds_within_payment, DROP CONSTRAINT IF EXISTS orders_status_consistent',
      );
      break;
    case 'mysql2':
      await db.raw('DROP TRIGGER IF EXISTS orders_paid_is_final');
      await db.raw(
        'ALTER TABLE orders DROP CONSTRAINT orders_refunds_within_payment, DROP CONSTRAINT orders_status_consistent',
      );
      break;
    default:
      for (const name of ['orders_checks_on_insert', 'orders_checks_on_update', 'orders_paid_is_final'])
        await db.raw(`DROP TRIGGER IF EXISTS ${name}`);
  }
  await db.schema.alterTable('refunds', (t) => {
    t.dropUnique(['mch_id', 'refund_id'], 'refunds_merchant_refund_id');
  });
  await db.schema.alterTable('orders', (t) => {
    t.dropUnique(['mch_id', 'transaction_id'], 'orders_merchant_transaction');
  });
  await db.schema.alterTable('notifications', (t) => {
    t.dropColumn('subject_json');
    t.dropColumn('subject_digest');
    t.dropColumn('body_sha256');
  });
}
