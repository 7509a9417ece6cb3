// A PostgreSQL server that goes silent mid-connection, as behind a black-holed route: the
// settings of src/store/database.ts turn a query on such a connection into an error within
// query_timeout, and the next query gets a fresh connection instead of the dead one. The
// silence is made by a proxy in this process that stops forwarding; the kernel still ACKs, so
// TCP keepalive (the other half, for idle connections) cannot be shown this way without root
// (iptables): test/unit/database-settings.test.ts checks its settings instead.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import knex, { type Knex } from 'knex';
import { readDatabaseConfig } from '../../src/config';
import { knexSettings } from '../../src/store/database';
import { startPostgres, type PostgresServer } from '../../harness/postgres-server';

/** A TCP proxy whose existing connections can be silenced: bytes in either direction are dropped. */
interface SilencingProxy {
  readonly port: number;
  /** From now on, the connections open now forward nothing; later ones work. */
  silenceOpenConnections(): void;
  close(): Promise<void>;
}

async function startSilencingProxy(targetPort: number): Promise<SilencingProxy> {
  const open = new Set<{ silenced: boolean; client: net.Socket; upstream: net.Socket }>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    const pair = { silenced: false, client, upstream };
    open.add(pair);
    client.on('data', (d: Buffer) => {
      if (!pair.silenced) upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!pair.silenced) client.write(d);
    });
    const end = (): void => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    silenceOpenConnections: () => {
      for (const p of open) p.silenced = true;
    },
    close: async () => {
      for (const p of open) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let postgres: PostgresServer;
let proxy: SilencingProxy;
let db: Knex;
let queryTimeoutMs: number;

before(async () => {
  postgres = await startPostgres();
  proxy = await startSilencingProxy(postgres.port);
  const settings = knexSettings(
    readDatabaseConfig({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
      DATABASE_POOL_MAX: '2',
    }),
  );
  queryTimeoutMs = (settings.connection as { query_timeout: number }).query_timeout;
  db = knex(settings);
});

after(async () => {
  // The silenced connection never answers pg's goodbye: do not wait for it.
  await Promise.race([db?.destroy(), new Promise((r) => setTimeout(r, 2_000))]);
  await proxy?.close();
  await postgres?.dispose();
});

test('a query to a server gone silent fails within query_timeout; the next one gets a fresh connection', async () => {
  await db.raw('select 1');
  proxy.silenceOpenConnections();

  const started = Date.now();
  await assert.rejects(db.raw('select 2'), /Query read timeout/);
  const failedAfter = Date.now() - started;
  assert.ok(
    failedAfter >= queryTimeoutMs - 100 && failedAfter <= queryTimeoutMs + 2_000,
    `failed after ${failedAfter} ms; query_timeout is ${queryTimeoutMs} ms`,
  );

  // Without the pool's check the silenced connection, idle again, would be taken first and
  // this query would wait behind the dead one for another query_timeout.
  const again = Date.now();
  const rows = await db.raw<{ rows: Array<{ n: number }> }>('select 3 as n');
  assert.deepEqual(rows.rows, [{ n: 3 }]);
  assert.ok(Date.now() - again < 3_000, `took ${Date.now() - again} ms`);
});
