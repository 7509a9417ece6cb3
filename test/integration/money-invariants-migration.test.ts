// Migration 007 (the money rules in the schema) on a database that already holds data: rows that
// keep the rules migrate; rows that break one make it refuse, naming them, and change nothing.
// On SQLite and a throwaway PostgreSQL.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/store/database';
import { migrateToLatest, migrateUpTo } from '../../src/store/migrate';
import { readCoreConfig } from '../../src/config';
import { startPostgres, type PostgresServer } from '../../harness/postgres-server';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';
import { TEST_MERCHANTS_JSON } from '../../harness/sign-notification';

const order = (outTradeNo: string, changes: Record<string, unknown> = {}): Record<string, unknown> => ({
  mch_id: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  out_trade_no: outTradeNo,
  total_fee: 100,
  fee_type: 'CNY',
  status: 'NOTPAY',
  transaction_id: null,
  paid_at_ms: null,
  created_at_ms: 1,
  updated_at_ms: 1,
  refunded_fee: 0,
  ...changes,
});
const paid = (
  outTradeNo: string,
  transactionId: string,
  changes: Record<string, unknown> = {},
): Record<string, unknown> =>
  order(outTradeNo, { status: 'PAID', transaction_id: transactionId, paid_at_ms: 2, ...changes });

const cases: ReadonlyArray<{ name: string; rows: Array<Record<string, unknown>>; refusal?: RegExp }> = [
  {
    name: 'orders that keep the rules migrate',
    rows: [order('A1'), paid('A2', 'T2'), paid('A3', 'T3', { refunded_fee: 100 })],
  },
  {
    name: 'one transaction paying two orders: refused, naming both',
    rows: [paid('B1', 'TX'), paid('B2', 'TX')],
    refusal: /transaction TX of mch_id 10000100 pays 2 orders \(B1, B2\)/,
  },
  {
    name: 'refunded above the amount: refused, naming the order',
    rows: [paid('C1', 'TC', { refunded_fee: 101 })],
    refusal: /order C1 of mch_id 10000100 is PAID .* refunded_fee 101/,
  },
  {
    name: 'PAID without a transaction: refused',
    rows: [order('D1', { status: 'PAID', paid_at_ms: 2 })],
    refusal: /order D1 .* is PAID with transaction none/,
  },
];

type Kind = { name: string; open: () => Promise<{ db: Knex; dispose: () => Promise<void> }> };
let postgres: PostgresServer | undefined;
let databases = 0;
const KINDS: Kind[] = [
  {
    name: 'SQLite',
    open: async () => {
      const dir = await makeTempDir('migrate-007');
      const db = openDatabase(
        readCoreConfig({
          DATABASE_URL: `sqlite:${dir}/db.sqlite`,
          MERCHANTS_JSON: TEST_MERCHANTS_JSON,
          AUTH_DISABLED: 'true',
        }).database,
      );
      return {
        db,
        dispose: async () => {
          await db.destroy();
          await removeTempDir(dir);
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      postgres ??= await startPostgres();
      databases += 1;
      const url = await postgres.createDatabase(`migrate_${databases}`);
      const db = openDatabase(
        readCoreConfig({ DATABASE_URL: url, MERCHANTS_JSON: TEST_MERCHANTS_JSON, AUTH_DISABLED: 'true' }).database,
      );
      return { db, dispose: () => db.destroy() };
    },
  },
];

after(async () => {
  await postgres?.dispose();
});

for (const kind of KINDS) {
  describe(`migration 007 on ${kind.name} with existing data`, () => {
    before(async () => {
      if (kind.name === 'PostgreSQL') postgres ??= await startPostgres();
    });
    for (const c of cases) {
      test(c.name, async () => {
        const { db, dispose } = await kind.open();
        try {
          await migrateUpTo(db, '006-binary-collation');
          await db('orders').insert(c.rows);
          if (!c.refusal) {
            await migrateToLatest(db);
            assert.equal(
              ((await db('orders').count({ n: '*' }).first()) as { n: number | string }).n.toString(),
              String(c.rows.length),
            );
            return;
          }
          await assert.rejects(migrateToLatest(db), (e: Error) => {
            assert.match(e.message, /migration 007-money-invariants refused/);
            assert.match(e.message, c.refusal ?? /./);
            return true;
          });
          assert.equal(await db.schema.hasColumn('notifications', 'subject_digest'), false, 'nothing was changed');
        } finally {
          await dispose();
        }
      });
    }
  });
}
