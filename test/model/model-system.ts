// The system under test for the money model: one backend for the whole test file, the real core
// on it (replaced by a new one on a restart command), a connection of the test's own to read the
// tables, and on PostgreSQL an admin connection that terminates the core's sessions.

import knex, { type Knex } from 'knex';
import { Client } from 'pg';
import type { Backend, BackendKind } from '../../harness/backends';
import { startTestCore, type TestCore } from '../../harness/test-core';
import { MODEL_MERCHANTS_JSON } from './model-merchants';

/** application_name of the test's own PostgreSQL sessions: never terminated by a fault. */
const OBSERVER_APP = 'money-model-observer';
const ADMIN_APP = 'money-model-admin';

export class ModelSystem {
  private current: TestCore | undefined;
  /** APIv3 bodies by note identity: a redelivery carries the same body, signed anew. */
  readonly v3Bodies = new Map<string, string>();
  restarts = 0;
  /** A fault ended the core's sessions and no delivery has since gone through without a retry. */
  recovering = false;
  /** Commands run (each ends comparing the tables with the model), for the test's summary. */
  commandsRun = 0;
  /** How often each verdict was expected (and each fault retried), to show what the runs covered. */
  readonly coverage = new Map<string, number>();

  private constructor(
    readonly kind: BackendKind,
    readonly backend: Backend,
    readonly observer: Knex,
    private readonly admin: Client | undefined,
    private readonly databaseName: string,
  ) {}

  static async start(kind: BackendKind): Promise<ModelSystem> {
    const backend = await kind.start();
    let admin: Client | undefined;
    let observer: Knex | undefined;
    try {
      observer = openObserver(backend.databaseUrl);
      const databaseName = decodeURIComponent(
        new URL(backend.databaseUrl.replace(/^sqlite:/, 'file:')).pathname.replace(/^\//, ''),
      );
      if (backend.postgres) {
        admin = new Client({ connectionString: backend.postgres.url, application_name: ADMIN_APP });
        // A fault or the server's shutdown may end this session too; unhandled, that would crash the test.
        admin.on('error', () => undefined);
        await admin.connect();
      }
      const system = new ModelSystem(kind, backend, observer, admin, databaseName);
      await system.ensureCore();
      return system;
    } catch (e) {
      await admin?.end().catch(() => undefined);
      await observer?.destroy();
      await backend.dispose();
      throw e;
    }
  }

  /** The slowest command so far and its time, for the test's summary. */
  slowest = { name: '', ms: 0 };

  timed(name: string, started: number): void {
    const ms = Date.now() - started;
    if (ms > this.slowest.ms) this.slowest = { name, ms };
  }

  count(what: string): void {
    this.coverage.set(what, (this.coverage.get(what) ?? 0) + 1);
  }

  get core(): TestCore {
    if (!this.current) throw new Error('the core is not running (a restart failed half-way)');
    return this.current;
  }

  get canTerminateSessions(): boolean {
    return this.admin !== undefined;
  }

  /** A core is running: after a failed run (a restart that threw) the next run starts one. */
  async ensureCore(): Promise<void> {
    this.current ??= await startTestCore({
      databaseUrl: this.backend.databaseUrl,
      redisUrls: this.backend.redis.map((r) => r.url),
      env: { MERCHANTS_JSON: MODEL_MERCHANTS_JSON },
    });
  }

  /** Stops the core (draining its calls) and starts a new one on the same database and lock. */
  async restartCore(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    await old?.stop();
    this.restarts += 1;
    this.recovering = false;
    await this.ensureCore();
  }

  /**
   * PostgreSQL: ends every session of the core's database but the test's own, as an
   * administrator or a failover would. Returns how many were ended.
   */
  async terminateSessions(): Promise<number> {
    if (!this.admin) throw new Error(`${this.kind.name} cannot terminate sessions`);
    const res = await this.admin.query<{ n: string }>(
      `select count(pg_terminate_backend(pid)) as n from pg_stat_activity
       where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend' and application_name <> $2`,
      [this.databaseName, OBSERVER_APP],
    );
    return Number(res.rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.current?.stop().catch(() => undefined);
    await this.admin?.end().catch(() => undefined);
    await this.observer.destroy();
    await this.backend.dispose();
  }
}

function openObserver(databaseUrl: string): Knex {
  if (databaseUrl.startsWith('sqlite:')) {
    return knex({
      client: 'better-sqlite3',
      connection: { filename: databaseUrl.slice('sqlite:'.length) },
      useNullAsDefault: true,
    });
  }
  if (databaseUrl.startsWith('postgres')) {
    return knex({
      client: 'pg',
      connection: { connectionString: databaseUrl, application_name: OBSERVER_APP } as Knex.PgConnectionConfig,
      pool: { min: 0, max: 4 },
    });
  }
  return knex({ client: 'mysql2', connection: databaseUrl, pool: { min: 0, max: 4 } });
}
