import { startMariaDb, type MariaDbServer } from './mariadb-server';
import { startPostgres, type PostgresServer } from './postgres-server';
import { startRedis, type RedisServer } from './redis-server';
import { makeTempDir, removeTempDir } from './temp-dir';

/** The storage and lock a core runs on in a test; every server is a throwaway one. */
export interface Backend {
  readonly databaseUrl: string;
  readonly redis: readonly RedisServer[];
  readonly postgres?: PostgresServer;
  readonly mariadb?: MariaDbServer;
  dispose(): Promise<void>;
}

export interface BackendKind {
  readonly name: string;
  readonly start: () => Promise<Backend>;
}

async function startRedisNodes(n: number): Promise<RedisServer[]> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < n; i++) nodes.push(await startRedis());
  return nodes;
}

export const SQLITE_IN_PROCESS: BackendKind = {
  name: 'SQLite file + in-process lock',
  start: async () => {
    const dir = await makeTempDir('sqlite');
    return { databaseUrl: `sqlite:${dir}/payment-callback.sqlite`, redis: [], dispose: () => removeTempDir(dir) };
  },
};

export const POSTGRES_REDLOCK: BackendKind = {
  name: 'PostgreSQL + Redlock over 3 Redis nodes',
  start: async () => {
    const [postgres, redis] = await Promise.all([startPostgres(), startRedisNodes(3)]);
    const databaseUrl = await postgres.createDatabase('payment_callback');
    return {
      databaseUrl,
      redis,
      postgres,
      dispose: async () => {
        await Promise.allSettled([postgres.dispose(), ...redis.map((r) => r.dispose())]);
      },
    };
  },
};

export const MARIADB_REDLOCK: BackendKind = {
  name: 'MariaDB + Redlock over 3 Redis nodes',
  start: async () => {
    const [mariadb, redis] = await Promise.all([startMariaDb(), startRedisNodes(3)]);
    return {
      databaseUrl: mariadb.url,
      redis,
      mariadb,
      dispose: async () => {
        await Promise.allSettled([mariadb.dispose(), ...redis.map((r) => r.dispose())]);
      },
    };
  },
};
