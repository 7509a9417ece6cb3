// A throwaway PostgreSQL cluster for the benchmark. Unlike harness/postgres-server.ts (which
// runs with fsync=off for fast tests) this one is durable: fsync=on, synchronous_commit=on,
// full_page_writes=on, so every COMMIT waits for its WAL to reach the disk, as in production.
// Built from the same test-support pieces (temp dir, managed process, lifecycle, cleanup on exit).
//
// Its log goes to a file (logging_collector) so that a short run with log_statement=all can be
// counted statement by statement.

import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ManagedProcess, type SpawnOptions } from '../harness/managed-process';
import { findPostgresBinaries } from '../harness/postgres-binaries';
import { runCommand } from '../harness/run-command';
import { awaitReady, removingDirOnFailure, ServerLifecycle } from '../harness/server-lifecycle';
import { lookupUser, runningAsRoot } from '../harness/system-user';
import { makeTempDir } from '../harness/temp-dir';

export interface DurablePostgres {
  readonly port: number;
  readonly dir: string;
  readonly dataDir: string;
  /** The server log (statements appear here while log_statement=all). */
  readonly logFile: string;
  readonly bindir: string;
  readonly pid: number | undefined;
  /** The settings that matter for the figures, as the server reports them. */
  settings(): Promise<Record<string, string>>;
  createDatabase(name: string): Promise<string>;
  url(database: string): string;
  /** A client for the bench's own queries; its statements carry application_name=bench. */
  connect(database: string): Promise<Client>;
  dispose(): Promise<void>;
}

const DURABLE_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  wal_sync_method: 'fdatasync',
  max_connections: '100',
  shared_buffers: '128MB',
});

export async function startDurablePostgres(): Promise<DurablePostgres> {
  const binaries = await findPostgresBinaries();
  const dir = await makeTempDir('bench-postgres', 0o755);
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'sock');
  const logDir = path.join(dir, 'log');
  const logFile = path.join(logDir, 'postgresql.log');

  const lifecycle = await removingDirOnFailure(dir, async () => {
    await fs.promises.mkdir(socketDir);
    await fs.promises.mkdir(logDir);
    let runAs: SpawnOptions = {};
    if (runningAsRoot()) {
      const user = await lookupUser('postgres');
      for (const d of [dir, socketDir, logDir]) await fs.promises.chown(d, user.uid, user.gid);
      runAs = { uid: user.uid, gid: user.gid };
    }
    await runCommand(
      binaries.initdb,
      ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-instructions'],
      { ...runAs, cwd: dir, timeoutMs: 120_000 },
    );

    const launch = async (port: number): Promise<ManagedProcess> => {
      const settings = Object.entries(DURABLE_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
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
          ...settings,
          '-c',
          'logging_collector=on',
          '-c',
          `log_directory=${logDir}`,
          '-c',
          'log_filename=postgresql.log',
          '-c',
          'log_line_prefix=%m [%p] app=%a ',
        ],
        { ...runAs, cwd: dir },
      );
      await awaitReady(proc, 30_000, () =>
        query(port, 'postgres', async (c) => {
          const r = await c.query<{ dir: string }>("select current_setting('data_directory') as dir");
          return r.rows[0]?.dir === dataDir;
        }).catch(() => false),
      );
      return proc;
    };
    return await ServerLifecycle.start({ name: 'postgres', dir, stopSignal: 'SIGINT', stopTimeoutMs: 60_000, launch });
  });

  const port = lifecycle.port;
  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    dir,
    dataDir,
    logFile,
    bindir: binaries.bindir,
    get pid() {
      return lifecycle.pid;
    },
    settings: () =>
      query(port, 'postgres', async (c) => {
        const names = [...Object.keys(DURABLE_SETTINGS), 'server_version'];
        const r = await c.query<{ name: string; setting: string }>(
          'select name, current_setting(name) as setting from pg_settings where name = any($1) order by name',
          [names],
        );
        return Object.fromEntries(r.rows.map((row) => [row.name, row.setting]));
      }),
    createDatabase: async (name) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
      await query(port, 'postgres', (c) => c.query(`CREATE DATABASE "${name}"`));
      return url(name);
    },
    url,
    connect: async (database) => {
      const c = new Client({
        host: '127.0.0.1',
        port,
        user: 'postgres',
        database,
        ssl: false,
        password: '',
        application_name: 'bench',
      });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
    dispose: () => lifecycle.dispose(),
  };
}

async function query<T>(port: number, database: string, body: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database,
    ssl: false,
    password: '',
    connectionTimeoutMillis: 1_000,
    application_name: 'bench',
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await body(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}
