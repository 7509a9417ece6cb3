// Proves that the throwaway-server helpers in harness/ really start,
// stop, crash and restart their servers, on private ports and never on the
// machine's shared services (5432, 3306, 6379).

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { freePort } from '../../harness/free-port';
import { startMariaDb } from '../../harness/mariadb-server';
import { nginxTempPaths, startNginx } from '../../harness/nginx-server';
import { startPostgres } from '../../harness/postgres-server';
import { isAlive } from '../../harness/process-tree';
import { redisPing } from '../../harness/redis-ping';
import { startRedis } from '../../harness/redis-server';

const SHARED_PORTS = new Set([5432, 3306, 6379]);

// Every server is disposed here even if its test failed half-way; dispose()
// is idempotent, so tests may also dispose explicitly.
const disposers: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.allSettled(disposers.map((dispose) => dispose()));
});

async function queryOne(url: string, sql: string): Promise<unknown> {
  const client = new Client({ connectionString: url, ssl: false, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const result = await client.query<Record<string, unknown>>(sql);
    return Object.values(result.rows[0] ?? {})[0];
  } finally {
    await client.end();
  }
}

test('redis: ping, crash, restart on the same port, stop', async () => {
  const redis = await startRedis();
  disposers.push(() => redis.dispose());
  assert.ok(!SHARED_PORTS.has(redis.port));
  assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
  assert.equal(await redisPing(redis.port), true);

  const crashedPid = redis.pid;
  assert.ok(crashedPid !== undefined);
  await redis.kill();
  assert.equal(isAlive(crashedPid), false);
  assert.equal(redis.pid, undefined);
  assert.equal(await redisPing(redis.port), false);

  await redis.restart();
  assert.notEqual(redis.pid, crashedPid);
  assert.equal(await redisPing(redis.port), true);

  await redis.stop();
  assert.equal(await redisPing(redis.port), false);
  await redis.dispose();
});

test('postgres: create database, query, stop + restart, kill', async () => {
  const pg = await startPostgres();
  disposers.push(() => pg.dispose());
  assert.ok(!SHARED_PORTS.has(pg.port));
  assert.equal(pg.url, `postgres://postgres@127.0.0.1:${pg.port}/postgres`);

  const url = await pg.createDatabase('support_check');
  assert.equal(url, `postgres://postgres@127.0.0.1:${pg.port}/support_check`);
  assert.equal(await queryOne(url, 'select 1 as one'), 1);
  await queryOne(url, 'create table kept (id int)');
  await queryOne(url, 'insert into kept values (42)');

  await pg.stop();
  assert.equal(pg.pid, undefined);
  await pg.restart();
  // Same port, same data dir: the committed row survived the restart.
  assert.equal(await queryOne(url, 'select id from kept'), 42);

  const postmaster = pg.pid;
  assert.ok(postmaster !== undefined);
  await pg.kill();
  assert.equal(isAlive(postmaster), false);

  // Crash recovery on restart after SIGKILL (stale postmaster.pid).
  await pg.restart();
  assert.equal(await queryOne(url, 'select id from kept'), 42);
  await pg.dispose();
});

test('mariadb: query the test database, stop', async () => {
  const db = await startMariaDb();
  disposers.push(() => db.dispose());
  assert.ok(!SHARED_PORTS.has(db.port));
  assert.equal(db.url, `mysql://root@127.0.0.1:${db.port}/test`);

  const connection = await mysql.createConnection({ uri: db.url, connectTimeout: 5_000 });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('select 1 as one, database() as db');
    assert.deepEqual({ ...rows[0] }, { one: 1, db: 'test' });
  } finally {
    await connection.end();
  }

  const pid = db.pid;
  assert.ok(pid !== undefined);
  await db.stop();
  assert.equal(isAlive(pid), false);
  await db.dispose();
});

test('nginx: serves a tiny config, stop', async () => {
  const port = await freePort();
  const nginx = await startNginx(
    (paths) => `
worker_processes 1;
${paths.mainDirectives}
events { worker_connections 64; }
http {
  ${paths.httpDirectives}
  server {
    listen 127.0.0.1:${port};
    location = /health { return 204; }
  }
}
`,
    { port },
  );
  disposers.push(() => nginx.dispose());
  assert.deepEqual(nginx.paths, nginxTempPaths(nginx.dir));

  const response = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(response.status, 204);

  const master = nginx.pid;
  assert.ok(master !== undefined);
  await nginx.stop();
  assert.equal(isAlive(master), false);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
  await nginx.dispose();
});
