// A throwaway MariaDB server for integration tests: fresh data dir from
// mariadb-install-db, own mariadbd on a free port on 127.0.0.1, passwordless
// root, database `test`. Never the shared server on 3306.
//
// Layout of the temp dir:  <dir>/data  <dir>/tmp  <dir>/mysqld.sock  <dir>/mysqld.pid

import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ManagedProcess } from './managed-process';
import { runCommand } from './run-command';
import { awaitReady, removingDirOnFailure, ServerLifecycle, type ThrowawayServer } from './server-lifecycle';
import { runningAsRoot } from './system-user';
import { makeTempDir } from './temp-dir';

const DATABASE = 'test';
const INSTALL_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const PROBE_CONNECT_TIMEOUT_MS = 1_000;

/** output() is mariadbd's error log; restart() after kill() is InnoDB recovery. */
export interface MariaDbServer extends ThrowawayServer {
  /** mysql://root@127.0.0.1:<port>/test */
  readonly url: string;
}

/** mariadbd lives in /usr/sbin on Debian, which is not on a normal user's PATH. */
function mariadbdPath(): string {
  for (const candidate of ['/usr/sbin/mariadbd', '/usr/local/sbin/mariadbd']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'mariadbd';
}

// Deliberately like postgres-server.ts's withClient: the same probe shape over another driver (mysql2, not pg).
async function withConnection<T>(port: number, body: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: 'root',
    connectTimeout: PROBE_CONNECT_TIMEOUT_MS,
  });
  // A server killed under an open connection emits 'error'; unhandled, that
  // would crash the whole test process.
  connection.on('error', () => undefined);
  try {
    return await body(connection);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

export async function startMariaDb(): Promise<MariaDbServer> {
  const dir = await makeTempDir('mariadb');
  const dataDir = path.join(dir, 'data');
  const tmpDir = path.join(dir, 'tmp');
  // mariadbd refuses to run as root unless told to with --user=root; and only
  // root may pass --user at all.
  const userArgs = runningAsRoot() ? ['--user=root'] : [];

  const lifecycle = await removingDirOnFailure(dir, async () => {
    await fs.promises.mkdir(tmpDir);
    await runCommand(
      'mariadb-install-db',
      [
        '--no-defaults', // ignore /etc/mysql/*.cnf, which configure the shared server
        `--datadir=${dataDir}`,
        ...userArgs,
        // root@localhost / root@127.0.0.1 without a password. We do not use
        // --skip-grant-tables: with real grant tables tests can still CREATE
        // USER / GRANT like in production.
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        // Passed through to the bootstrap mariadbd. Its internal temporary
        // tables otherwise go to the shared /tmp, where parallel installs
        // sometimes clash ("Unknown table 'mysql.tmp_user_sys'").
        `--tmpdir=${tmpDir}`,
      ],
      { cwd: dir, timeoutMs: INSTALL_TIMEOUT_MS },
    );

    const launch = async (port: number): Promise<ManagedProcess> => {
      const proc = await ManagedProcess.spawn(
        `mariadbd :${port}`,
        mariadbdPath(),
        [
          '--no-defaults', // must be the first option
          `--datadir=${dataDir}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          '--skip-networking=0',
          `--socket=${path.join(dir, 'mysqld.sock')}`,
          `--pid-file=${path.join(dir, 'mysqld.pid')}`,
          `--tmpdir=${tmpDir}`,
          ...userArgs,
          // Flush the redo log once a second instead of at every commit:
          // durability across an OS crash is irrelevant for a throwaway server.
          '--innodb-flush-log-at-trx-commit=2',
          // Keep memory small, several servers may run in parallel.
          '--innodb-buffer-pool-size=64M',
          // Like a production server; MariaDB 10.11's built-in default is latin1.
          '--character-set-server=utf8mb4',
          // No --log-error: the error log goes to stderr, which we capture.
        ],
        { cwd: dir },
      );
      await awaitReady(proc, READY_TIMEOUT_MS, () =>
        withConnection(port, async (connection) => {
          // Comparing the data dir proves we reached OUR mariadbd and not a
          // server that won a race for this port.
          const [rows] = await connection.query<mysql.RowDataPacket[]>('select @@datadir as dir');
          const reported: unknown = rows[0]?.['dir'];
          if (typeof reported !== 'string' || path.resolve(reported) !== dataDir) return false;
          // IF NOT EXISTS: restart() goes through here again with the same data.
          await connection.query(`CREATE DATABASE IF NOT EXISTS \`${DATABASE}\``);
          return true;
        }).catch(() => false),
      );
      return proc;
    };

    return await ServerLifecycle.start({
      name: 'mariadbd',
      dir,
      stopSignal: 'SIGTERM',
      stopTimeoutMs: STOP_TIMEOUT_MS,
      launch,
    });
  });

  return lifecycle.handle({ url: `mysql://root@127.0.0.1:${lifecycle.port}/${DATABASE}` });
}
