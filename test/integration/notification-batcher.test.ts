// Duplicates of paid orders are recorded in multi-row INSERTs (src/store/notification-batcher.ts):
// each caller learns about its own row only, once it is committed, on each SQL dialect we run.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Knex } from 'knex';
import { readDatabaseConfig } from '../../src/config';
import { result } from '../../src/notify/outcome';
import { openDatabase } from '../../src/store/database';
import { migrateToLatest } from '../../src/store/migrate';
import { NotificationBatcher } from '../../src/store/notification-batcher';
import { paymentSubject } from '../../src/notify/money-subject';
import { notificationRow } from '../../src/store/notifications-table';
import { POSTGRES_REDLOCK, SQLITE_IN_PROCESS, type Backend, type BackendKind } from '../../harness/backends';

const row = (outTradeNo: string): Readonly<Record<string, string | number | null>> =>
  notificationRow(
    {
      fields: { out_trade_no: outTradeNo },
      rawBody: `<xml>${outTradeNo}</xml>`,
      clientIp: '203.0.113.7',
      requestId: outTradeNo,
      receivedAt: new Date(0),
    },
    paymentSubject({
      resultCode: 'SUCCESS',
      mchId: '10000100',
      appid: 'wxd930ea5d5a258f4f',
      outTradeNo,
      transactionId: `4200${outTradeNo}`,
      totalFee: 1,
      feeType: 'CNY',
      paidAt: new Date(0),
    }),
    result('DUPLICATE', 'DUPLICATE', 'OK'),
    true,
  );

for (const kind of [SQLITE_IN_PROCESS, POSTGRES_REDLOCK] satisfies BackendKind[]) {
  describe(kind.name, () => {
    let backend: Backend;
    let db: Knex;
    let inserts = 0;

    before(async () => {
      backend = await kind.start();
      db = openDatabase(readDatabaseConfig({ DATABASE_URL: backend.databaseUrl }));
      await migrateToLatest(db);
      db.on('query', (q: { sql: string }) => {
        if (/^insert into [`"]notifications[`"]/i.test(q.sql)) inserts++;
      });
    });
    after(async () => {
      await db.destroy();
      await backend.dispose();
    });

    const stored = async (prefix: string): Promise<string[]> =>
      (
        (await db('notifications')
          .select('out_trade_no')
          .where('out_trade_no', 'like', `${prefix}%`)
          .orderBy('out_trade_no')) as Array<{ out_trade_no: string }>
      ).map((r) => r.out_trade_no);

    test('rows that arrive together share INSERTs, and every caller resolves once its row is stored', async () => {
      const batcher = new NotificationBatcher(db);
      const names = Array.from({ length: 60 }, (_, i) => `B${String(i).padStart(3, '0')}`);
      inserts = 0;
      await Promise.all(names.map((n) => batcher.insert(row(n))));
      assert.deepEqual(await stored('B'), names);
      // The first goes out alone; the others wait for it and go out together.
      assert.ok(inserts >= 2 && inserts <= 3, `${inserts} INSERT statements for 60 rows`);
    });

    test('a lone row is written at once, not held for a batch', async () => {
      const batcher = new NotificationBatcher(db);
      inserts = 0;
      await batcher.insert(row('L001'));
      assert.deepEqual([await stored('L'), inserts], [['L001'], 1]);
    });

    test('a caller that went away before its batch left is dropped: nothing stored for it', async () => {
      const batcher = new NotificationBatcher(db);
      const gone = new AbortController();
      // The first row goes out at once; the next two wait for it, and one of their callers leaves.
      const first = batcher.insert(row('C000'));
      const cancelled = batcher.insert(row('C001'), gone.signal);
      const kept = batcher.insert(row('C002'));
      gone.abort();
      const outcomes = await Promise.allSettled([first, cancelled, kept]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal(((outcomes[1] as PromiseRejectedResult).reason as { code?: unknown }).code, 'STORE_CANCELLED');
      assert.deepEqual(await stored('C'), ['C000', 'C002']);
    });

    test('a backlog beyond 5,000 rows is refused at once as STORE_UNAVAILABLE', async () => {
      const batcher = new NotificationBatcher(db);
      const all = Array.from({ length: 5_002 }, (_, i) => batcher.insert(row(`Q${String(i).padStart(5, '0')}`)));
      const outcomes = await Promise.allSettled(all);
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.deepEqual(
        refused.map((o) => (o.reason as { code?: string }).code),
        ['STORE_UNAVAILABLE'],
      );
      assert.equal((await stored('Q')).length, 5_001);
    });

    test('a row the database refuses fails only its own caller', async () => {
      const batcher = new NotificationBatcher(db);
      const bad = { ...row('X002'), mch_id: null };
      const outcomes = await Promise.allSettled([
        batcher.insert(row('X000')),
        batcher.insert(row('X001')),
        batcher.insert(bad),
        batcher.insert(row('X003')),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.deepEqual(await stored('X'), ['X000', 'X001', 'X003']);
    });
  });
}
