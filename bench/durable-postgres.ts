// A throwaway PostgreSQL cluster for the benchmark. Unlike harness/postgres-server.ts (which
// runs with fsync=off for fast tests) this one is durable: fsync=on, synchronous_commit=on,
// full_page_writes=on, so every COMMIT waits for its WAL to reach the disk, as in production.
// Built from the same test-support pieces (temp dir, managed process, lifecycle, cleanup on exit).
//
// Its log goes to a file (logging_collector) so that a short run with log_statement=all can be
// counted statement by statement, and so that the long run can say which checkpoints completed
// in a chunk and how long their sync phase took (log_checkpoints), and which statements were slow
// (log_min_duration_statement). A commit probe measures what a commit costs while that happens.

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
  /** Checkpoints completed and statements slower than SLOW_STATEMENT_MS, from the server log, between two Date.now() values. */
  serverEvents(fromMs: number, toMs: number): Promise<ServerEvents>;
  /** Starts committing one row every `intervalMs` (in the postgres database) and timing each commit. */
  startCommitProbe(intervalMs?: number): Promise<CommitProbe>;
  dispose(): Promise<void>;
}

/** One completed checkpoint, as log_checkpoints reports it. */
interface CheckpointLog {
  /** Date.now() of the "checkpoint complete" line. */
  readonly at: number;
  /** "time" (checkpoint_timeout), "wal" (max_wal_size), "immediate force wait" (CHECKPOINT), ... */
  readonly reason: string;
  readonly buffers: number;
  readonly writeS: number;
  /** The fsync of every file the checkpoint wrote: where commits stall behind the kernel's writeback. */
  readonly syncS: number;
  readonly totalS: number;
  readonly syncFiles: number;
  readonly longestSyncS: number;
  /** WAL since the previous checkpoint, kB. */
  readonly distanceKb: number;
}

export interface ServerEvents {
  readonly checkpoints: CheckpointLog[];
  /** Statements over SLOW_STATEMENT_MS: how many, and the slowest (ms). */
  readonly slowStatements: { readonly count: number; readonly maxMs: number; readonly commits: number };
}

/** Commit latency of a one-row INSERT (autocommit: one WAL flush each), sampled through the run. */
interface CommitProbe {
  /** Summary of the commits that started between two Date.now() values. */
  between(fromMs: number, toMs: number): CommitProbeSummary;
  stop(): Promise<void>;
}

export interface CommitProbeSummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Date.now() when the slowest commit started. */
  readonly maxAt: number;
  /** Commits over 1 s. */
  readonly over1s: number;
}

/** log_min_duration_statement: slower statements are logged with their duration. */
const SLOW_STATEMENT_MS = 200;

const DURABLE_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  wal_sync_method: 'fdatasync',
  max_connections: '100',
  shared_buffers: '128MB',
});

/** What the server logs for the long run's per-chunk report (not part of the figures). */
const LOG_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  log_checkpoints: 'on',
  log_min_duration_statement: `${SLOW_STATEMENT_MS}ms`,
  log_autovacuum_min_duration: '1s',
  log_timezone: 'UTC',
});

/**
 * Starts the cluster. `overrides` replace or add settings (`--pg-setting=name=value` of the bench):
 * how the checkpoint reproducer shortens checkpoint_timeout, and how candidate tunings are measured.
 */
export async function startDurablePostgres(overrides: Readonly<Record<string, string>> = {}): Promise<DurablePostgres> {
  const serverSettings: Readonly<Record<string, string>> = { ...DURABLE_SETTINGS, ...LOG_SETTINGS, ...overrides };
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
      const settings = Object.entries(serverSettings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
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
        const names = [
          ...Object.keys(DURABLE_SETTINGS),
          ...REPORTED_SETTINGS,
          ...Object.keys(overrides),
          'server_version',
        ];
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
    serverEvents: async (fromMs, toMs) =>
      parseServerEvents(await fs.promises.readFile(logFile, 'utf8').catch(() => ''), fromMs, toMs),
    startCommitProbe: (intervalMs = 100) => startCommitProbe(port, intervalMs),
    dispose: () => lifecycle.dispose(),
  };
}

/** Settings reported with the results besides DURABLE_SETTINGS: what decides how checkpoints and autovacuum behave. */
const REPORTED_SETTINGS = [
  'checkpoint_timeout',
  'checkpoint_completion_target',
  'max_wal_size',
  'min_wal_size',
  'wal_compression',
  'wal_buffers',
  'checkpoint_flush_after',
  'bgwriter_flush_after',
  'backend_flush_after',
  'wal_writer_flush_after',
  'bgwriter_delay',
  'bgwriter_lru_maxpages',
  'autovacuum_vacuum_cost_limit',
  'autovacuum_vacuum_cost_delay',
];

const LOG_LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC \[\d+\] app=\S* LOG: {2}(.*)$/;

/** The checkpoints and slow statements logged between fromMs and toMs. */
function parseServerEvents(log: string, fromMs: number, toMs: number): ServerEvents {
  const checkpoints: CheckpointLog[] = [];
  let reason = '';
  let count = 0;
  let maxMs = 0;
  let commits = 0;
  for (const line of log.split('\n')) {
    const m = LOG_LINE.exec(line);
    if (!m) continue;
    const at = Date.parse(`${(m[1] ?? '').replace(' ', 'T')}Z`);
    const message = m[2] ?? '';
    const starting = /^checkpoint starting: (.*)$/.exec(message);
    if (starting) reason = starting[1] ?? '';
    if (at < fromMs || at > toMs) continue;
    const done =
      /^checkpoint complete: wrote (\d+) buffers.*write=([\d.]+) s, sync=([\d.]+) s, total=([\d.]+) s; sync files=(\d+), longest=([\d.]+) s.*distance=(\d+) kB/.exec(
        message,
      );
    if (done) {
      checkpoints.push({
        at,
        reason,
        buffers: Number(done[1]),
        writeS: Number(done[2]),
        syncS: Number(done[3]),
        totalS: Number(done[4]),
        syncFiles: Number(done[5]),
        longestSyncS: Number(done[6]),
        distanceKb: Number(done[7]),
      });
      continue;
    }
    const slow = /^duration: ([\d.]+) ms(?: {2}(?:statement|execute [^:]*): (.*))?/.exec(message);
    if (slow) {
      count++;
      maxMs = Math.max(maxMs, Number(slow[1]));
      if (/^commit\b/i.test(slow[2] ?? '')) commits++;
    }
  }
  return { checkpoints, slowStatements: { count, maxMs: Math.round(maxMs), commits } };
}

async function startCommitProbe(port: number, intervalMs: number): Promise<CommitProbe> {
  const c = new Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    ssl: false,
    password: '',
    application_name: 'bench commit probe',
  });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('create table if not exists commit_probe (at timestamptz not null default now())');
  // [Date.now() at the start, ms]; ten a second over half an hour is 18,000 pairs.
  const samples: Array<readonly [number, number]> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      const t = performance.now();
      try {
        await c.query('insert into commit_probe default values');
      } catch {
        if (!running) break;
      }
      samples.push([at, performance.now() - t]);
      if (samples.length % 3_000 === 0) await c.query('truncate commit_probe').catch(() => undefined);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    between: (fromMs, toMs) => {
      const inside = samples.filter(([at]) => at >= fromMs && at <= toMs);
      const sorted = inside.map(([, ms]) => ms).sort((a, b) => a - b);
      const q = (p: number): number =>
        Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0) * 10) / 10;
      const worst = inside.reduce<readonly [number, number]>((w, s) => (s[1] > w[1] ? s : w), [0, 0]);
      return {
        count: sorted.length,
        p50Ms: q(0.5),
        p99Ms: q(0.99),
        maxMs: Math.round(worst[1]),
        maxAt: worst[0],
        over1s: sorted.filter((ms) => ms > 1_000).length,
      };
    },
    stop: async () => {
      running = false;
      await loop;
      await c.end().catch(() => undefined);
    },
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
