// A throwaway PostgreSQL cluster for integration tests: fresh initdb in a temp
// dir, own postmaster on a free port on 127.0.0.1, trust auth for "postgres".
// Never the shared cluster on 5432.
//
// Layout of the temp dir:  <dir>/data  (PGDATA)   <dir>/sock  (Unix socket, -k)
// The socket lives outside PGDATA so a `rm -rf` of the data dir in a test
// cannot break the server's socket, and its path stays short (108-byte limit).

import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ManagedProcess, type SpawnOptions } from './managed-process';
import { findPostgresBinaries } from './postgres-binaries';
import { runCommand } from './run-command';
import { awaitReady, removingDirOnFailure, ServerLifecycle, type ThrowawayServer } from './server-lifecycle';
import { lookupUser, runningAsRoot } from './system-user';
import { makeTempDir } from './temp-dir';

const SUPERUSER = 'postgres';
const INITDB_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const PROBE_CONNECT_TIMEOUT_MS = 1_000;

/** stop() is a fast shutdown (SIGINT, as `pg_ctl -m fast stop`); restart() after kill() is crash recovery. */
export interface PostgresServer extends ThrowawayServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** The cluster, `<dir>/data`. */
  readonly dataDir: string;
  /** CREATE DATABASE <name>; resolves to its URL. Name: [A-Za-z_][A-Za-z0-9_]*. */
  createDatabase(name: string): Promise<string>;
}

function urlFor(port: number, database: string): string {
  return `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
}

/** Opens a connection, runs `body`, always closes. */
async function withClient<T>(port: number, database: string, body: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    database,
    // Explicit so that PGSSLMODE/PGPASSWORD in the developer's env cannot interfere.
    ssl: false,
    password: '',
    connectionTimeoutMillis: PROBE_CONNECT_TIMEOUT_MS,
  });
  // A server killed under an open connection emits 'error' on the client;
  // unhandled, that would crash the whole test process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const binaries = await findPostgresBinaries();
  const dir = await makeTempDir('postgres', 0o755);
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'sock');

  const lifecycle = await removingDirOnFailure(dir, async () => {
    await fs.promises.mkdir(socketDir);
    // PostgreSQL refuses to run as root. As root we run initdb and postgres as
    // the "postgres" OS user, which must own everything it writes.
    let runAs: SpawnOptions = {};
    if (runningAsRoot()) {
      const user = await lookupUser('postgres');
      await fs.promises.chown(dir, user.uid, user.gid);
      await fs.promises.chown(socketDir, user.uid, user.gid);
      runAs = { uid: user.uid, gid: user.gid };
    }

    await runCommand(
      binaries.initdb,
      [
        '-D',
        dataDir,
        '-A',
        'trust',
        '-U',
        SUPERUSER,
        '--no-sync', // throwaway cluster: skip the fsyncs, initdb gets much faster
        '-E',
        'UTF8',
        // Fixed locale: independent of the developer's LANG, which may name a
        // locale that is not installed (initdb would fail).
        '--locale=C',
        '--no-instructions',
      ],
      { ...runAs, cwd: dir, timeoutMs: INITDB_TIMEOUT_MS },
    );

    const launch = async (port: number): Promise<ManagedProcess> => {
      const proc = await ManagedProcess.spawn(
        `postgres :${port}`,
        binaries.postgres,
        [
          '-D',
          dataDir,
          '-k',
          socketDir,
          '-p',
          String(port),
          '-c',
          'listen_addresses=127.0.0.1',
          // Durability of a throwaway cluster does not matter, speed does.
          // synchronous_commit stays at its default (on) so that commit
          // semantics seen by the code under test are the production ones.
          '-c',
          'fsync=off',
          '-c',
          'full_page_writes=off',
        ],
        { ...runAs, cwd: dir },
      );
      await awaitReady(proc, READY_TIMEOUT_MS, () =>
        withClient(port, 'postgres', async (client) => {
          // Comparing data_directory proves we reached OUR postmaster and not
          // a server that won a race for this port.
          const result = await client.query<{ dir: string }>("select current_setting('data_directory') as dir");
          return result.rows[0]?.dir === dataDir;
        }).catch(() => false),
      );
      return proc;
    };

    return await ServerLifecycle.start({
      name: 'postgres',
      dir,
      // SIGINT = "fast" shutdown: roll back open transactions, checkpoint, exit.
      // The postmaster exits only after all its children did.
      stopSignal: 'SIGINT',
      stopTimeoutMs: STOP_TIMEOUT_MS,
      launch,
    });
  });

  const port = lifecycle.port;
  return lifecycle.handle({
    url: urlFor(port, 'postgres'),
    dataDir,
    async createDatabase(name: string): Promise<string> {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
        throw new Error(`createDatabase: invalid database name ${JSON.stringify(name)}`);
      }
      await withClient(port, 'postgres', (client) => client.query(`CREATE DATABASE "${name}"`));
      return urlFor(port, name);
    },
  });
}
