// The whole path WeChat reaches, as real processes on this machine, for the reliability
// scenarios: nginx (the production gateway/nginx.conf, ports and paths swapped) -> gateway process
// -> core process(es) -> PostgreSQL + three independent Redis nodes. PostgreSQL and Redis live for
// a whole suite; every scenario gets a fresh database and fresh core, gateway and nginx processes.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { freePort } from '../../harness/free-port';
import type { ManagedProcess } from '../../harness/managed-process';
import { startNginx, type NginxServer } from '../../harness/nginx-server';
import { startPostgres, type PostgresServer } from '../../harness/postgres-server';
import { startRedis, type RedisServer } from '../../harness/redis-server';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../../harness/service-processes';
import { TEST_MERCHANTS_JSON } from '../../harness/sign-notification';

const NGINX_CONF = path.join(__dirname, '..', '..', '..', 'gateway', 'nginx.conf');

export interface Backends {
  readonly postgres: PostgresServer;
  readonly redis: readonly RedisServer[];
  dispose(): Promise<void>;
}

export async function startBackends(redisNodes = 3): Promise<Backends> {
  const [postgres, ...redis] = await Promise.all([
    startPostgres(),
    ...Array.from({ length: redisNodes }, () => startRedis()),
  ]);
  return {
    postgres,
    redis,
    dispose: async () => {
      await Promise.allSettled([postgres.dispose(), ...redis.map((r) => r.dispose())]);
    },
  };
}

/**
 * Every core and gateway process a scenario ran, so that "no process crashed on its own" can be
 * checked: each one is still running, or the test itself killed or stopped it.
 */
class ProcessWatch {
  private readonly seen: Array<{ name: string; proc: ManagedProcess; byTest: string | undefined }> = [];

  track(name: string, svc: ServiceProcess): void {
    const proc = svc.process;
    if (proc && !this.seen.some((s) => s.proc === proc)) this.seen.push({ name, proc, byTest: undefined });
  }

  /** The test is about to end this process (`how`: SIGKILL, SIGTERM). */
  expectExit(svc: ServiceProcess, how: string): void {
    const entry = this.seen.find((s) => s.proc === svc.process);
    if (entry) entry.byTest = how;
  }

  /** Processes that exited without the test ending them, with their exit and last output. */
  crashes(): string[] {
    return this.seen
      .filter((s) => !s.proc.running && s.byTest === undefined)
      .map((s) => `${s.name}: ${s.proc.describe()}`);
  }

  /** How many processes the test ended on purpose, by how. */
  endedByTest(): string[] {
    return this.seen.filter((s) => s.byTest !== undefined).map((s) => `${s.name} ${s.byTest}`);
  }
}

export interface StackOptions {
  /** Database name, unique per scenario. */
  readonly database: string;
  /** Core processes on the one database (default 1). */
  readonly cores?: number;
  /** Redlock over the three Redis nodes (default); false: each core only its in-process lock. */
  readonly sharedLock?: boolean;
  readonly coreEnv?: Readonly<Record<string, string>>;
  /** Serve each core's /metrics on a free port (to see which core decided what). */
  readonly metrics?: boolean;
}

export interface Stack {
  readonly databaseUrl: string;
  /** The test's own connection pool to the scenario's database. */
  readonly db: Knex;
  readonly cores: readonly ServiceProcess[];
  readonly coreMetricsPorts: readonly number[];
  readonly gateway: ServiceProcess;
  readonly nginx: NginxServer;
  readonly notifyUrl: string;
  /** gRPC address of the first core, for CreateOrder. */
  readonly coreAddress: string;
  readonly watch: ProcessWatch;
  /** SIGKILL core i (a crash); the watch knows it was the test. */
  killCore(i: number): Promise<void>;
  restartCore(i: number): Promise<void>;
  /** SIGTERM the gateway, check it exits 0, start it again on the same port. */
  restartGateway(): Promise<void>;
  /** Graceful stop of everything; returns the problems seen (unclean exits, crashed processes). */
  stop(): Promise<string[]>;
}

/** gateway/nginx.conf with only the ports and the paths changed, the access log to a file. */
export function reliabilityNginxConf(dir: string, listenPort: number, gatewayPort: number): string {
  const original = readFileSync(NGINX_CONF, 'utf8');
  const replace = (text: string, from: string | RegExp, to: string): string => {
    const out = text.replace(from, to);
    if (out === text)
      throw new Error(`gateway/nginx.conf no longer contains ${String(from)}: update test/reliability/stack.ts`);
    return out;
  };
  let conf = replace(original, 'listen 8081;', `listen 127.0.0.1:${listenPort};`);
  conf = replace(conf, 'server 127.0.0.1:8080;', `server 127.0.0.1:${gatewayPort};`);
  conf = replace(conf, /\/tmp\//g, `${dir}/`);
  return replace(conf, 'access_log /dev/stdout notify;', `access_log ${dir}/access.log notify;`);
}

export async function startStack(backends: Backends, options: StackOptions): Promise<Stack> {
  const databaseUrl = await backends.postgres.createDatabase(options.database);
  const watch = new ProcessWatch();
  const cores: ServiceProcess[] = [];
  const coreMetricsPorts: number[] = [];
  // info at least: the test support waits for the "listening" line.
  const logLevel = process.env['RELIABILITY_LOG_LEVEL'] ?? 'info';
  // One after the other: the first migrates the new database, the next finds it migrated.
  for (let i = 0; i < (options.cores ?? 1); i++) {
    const metricsPort = options.metrics ? await freePort() : undefined;
    const core = await startCoreProcess({
      DATABASE_URL: databaseUrl,
      MERCHANTS_JSON: TEST_MERCHANTS_JSON,
      LOG_LEVEL: logLevel,
      ...(options.sharedLock === false ? {} : { REDIS_URLS: backends.redis.map((r) => r.url).join(',') }),
      ...(metricsPort ? { METRICS_LISTEN: `127.0.0.1:${metricsPort}` } : {}),
      ...options.coreEnv,
    });
    watch.track(`core${i}`, core);
    cores.push(core);
    if (metricsPort) coreMetricsPorts.push(metricsPort);
  }
  // grpc-js resolves "ipv4:a,b" to both addresses; the gateway's round_robin spreads calls over them.
  const target =
    cores.length === 1
      ? `127.0.0.1:${cores[0]?.port ?? 0}`
      : `ipv4:${cores.map((c) => `127.0.0.1:${c.port}`).join(',')}`;
  const gateway = await startGatewayProcess(cores[0]?.port ?? 0, { CORE_GRPC_TARGET: target, LOG_LEVEL: logLevel });
  watch.track('gateway', gateway);
  const port = await freePort();
  const nginx = await startNginx((paths) => reliabilityNginxConf(paths.dir, port, gateway.port), { port });
  const db = knex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 4 } });

  const stack: Stack = {
    databaseUrl,
    db,
    cores,
    coreMetricsPorts,
    gateway,
    nginx,
    notifyUrl: `http://127.0.0.1:${port}/wxpay/notify`,
    coreAddress: `127.0.0.1:${cores[0]?.port ?? 0}`,
    watch,
    killCore: async (i) => {
      const core = cores[i];
      if (!core) throw new Error(`no core ${i}`);
      watch.expectExit(core, 'SIGKILL');
      await core.kill();
    },
    restartCore: async (i) => {
      const core = cores[i];
      if (!core) throw new Error(`no core ${i}`);
      await core.restart();
      watch.track(`core${i}`, core);
    },
    restartGateway: async () => {
      watch.expectExit(gateway, 'SIGTERM');
      const exit = await gateway.stop();
      if (exit?.code !== 0 || exit.signal !== null)
        throw new Error(`the gateway did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}\n${gateway.output()}`);
      await gateway.restart();
      watch.track('gateway', gateway);
    },
    stop: async () => {
      const problems = watch.crashes();
      for (const [name, server] of [
        ['postgres', backends.postgres],
        ...backends.redis.map((r, i) => [`redis${i}`, r] as const),
      ] as const) {
        if (server.pid === undefined) problems.push(`${name} is not running at the end of the scenario`);
      }
      if (nginx.pid === undefined) problems.push('nginx is not running at the end of the scenario');
      await nginx.dispose();
      for (const [name, svc] of [['gateway', gateway], ...cores.map((c, i) => [`core${i}`, c] as const)] as const) {
        if (!svc.process?.running) continue;
        watch.expectExit(svc, 'SIGTERM');
        const exit = await svc.stop().catch((e: unknown) => ({ code: null, signal: null, error: String(e) }));
        if (exit?.code !== 0) problems.push(`${name} did not exit 0 on SIGTERM: ${JSON.stringify(exit)}`);
      }
      await db.destroy();
      return problems;
    },
  };
  return stack;
}

/** Sums a counter's samples from a Prometheus text page, by the value of one label. */
export async function scrapeCounter(port: number, metric: string, label: string): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  const out: Record<string, number> = {};
  const re = new RegExp(`^${metric}\\{([^}]*)\\}\\s+([0-9.e+-]+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = m[1] ?? '';
    const value = new RegExp(`${label}="([^"]*)"`).exec(labels)?.[1] ?? '';
    out[value] = (out[value] ?? 0) + Number(m[2]);
  }
  return out;
}
