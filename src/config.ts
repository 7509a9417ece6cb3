import { readFileSync } from 'node:fs';
import { ConfigError, EnvReader, type ListenAddress } from './env-reader';
import type { Caller } from './auth/scopes';
import type { Merchant } from './notify/merchant';
import { readCallers } from './config/callers';
import { unknownOwnVariables } from './config/env-names';
import { readMerchants } from './config/merchants';
import type { Env, ReadFile, Sources } from './config/sources';

export { callerMerchantProblems } from './config/callers';
export { MAX_PREVIOUS_KEY_OVERLAP_MS } from './config/merchants';
export { DEMO_MERCHANT } from './config/public-keys';

/**
 * The core's configuration, read once at start-up from the environment (and the merchants file
 * it names), validated with every problem reported at once, then frozen and passed to
 * constructors. Nothing else reads process.env.
 */
export interface CoreConfig {
  readonly env: 'development' | 'production';
  readonly grpcListen: ListenAddress;
  /** Prometheus text on http://host:port/metrics; undefined when METRICS_LISTEN=off. */
  readonly metricsListen: ListenAddress | undefined;
  readonly database: DatabaseConfig;
  /**
   * Apply pending migrations at start-up (MIGRATE_ON_START, default true). false lets the core
   * run with a role that may only read and write rows, while the migrate Job owns the schema.
   */
  readonly migrateOnStart: boolean;
  /** Independent Redis nodes for Redlock; empty means the in-process lock (one replica only). */
  readonly redisUrls: readonly string[];
  readonly lock: LockConfig;
  readonly merchants: readonly Merchant[];
  readonly logLevel: LogLevel;
  /** How long shutdown waits for in-flight calls before cancelling them. */
  readonly shutdownGraceMs: number;
  /** Services allowed to call; empty means authentication is off (refused in production). */
  readonly callers: readonly Caller[];
  /** gRPC services reachable without a token (health and reflection for operators by default). */
  readonly publicServices: readonly string[];
  /** TLS for the gRPC port; with clientCaPem, clients must present a certificate (mTLS). */
  readonly tls: TlsConfig | undefined;
  readonly events: EventsConfig;
  /** Re-read the merchants (and their key files) this often; 0: only on SIGHUP. */
  readonly merchantsReloadIntervalMs: number;
  /** Querying WeChat about orders whose notification never came (docs/exactly-once.md "Reconciliation"). */
  readonly reconcile: ReconcileConfig;
}

interface EventsConfig {
  /** How often event streams look for events committed by other replicas. */
  readonly pollMs: number;
  /** Events read per query, and at most buffered per stream. */
  readonly batchSize: number;
  /** WatchPaymentEvents streams one caller may hold open at once (EVENTS_MAX_STREAMS_PER_CALLER). */
  readonly maxStreamsPerCaller: number;
}

export interface TlsConfig {
  readonly certPem: string;
  readonly keyPem: string;
  readonly clientCaPem: string | undefined;
}

const DEFAULT_PUBLIC_SERVICES = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface DatabaseConfig {
  readonly client: 'better-sqlite3' | 'pg' | 'mysql2';
  /** The URL with any password replaced by "***", for logs. */
  readonly redactedUrl: string;
  /** A connection URL for pg/mysql2, or the SQLite file name. */
  readonly connection: string;
  readonly poolMax: number;
}

export interface LockConfig {
  /** How long a lock lives if its holder dies; well above the time a notification takes. */
  readonly ttlMs: number;
  /** How long to wait for a busy lock before answering FAIL so WeChat retries. */
  readonly waitMs: number;
  /** Pause between attempts while waiting (Redlock adds jitter). */
  readonly retryDelayMs: number;
}

const DEFAULTS = Object.freeze({
  GRPC_LISTEN: '127.0.0.1:50051',
  METRICS_LISTEN: '127.0.0.1:9464',
  DATABASE_URL: 'sqlite:data/payment-callback.sqlite',
});

/** Reconciliation's settings (readReconcile below). */
const RECONCILE_ENV_VARS = [
  'RECONCILE_ENABLED',
  'WECHATPAY_API_BASE',
  'RECONCILE_AFTER_MS',
  'RECONCILE_BACKOFF_MS',
  'RECONCILE_BACKOFF_MAX_MS',
  'RECONCILE_GIVE_UP_MS',
  'RECONCILE_MAX_QPS',
  'RECONCILE_SWEEP_INTERVAL_MS',
  'RECONCILE_LEASE_MS',
  'RECONCILE_BATCH_SIZE',
  'RECONCILE_TIMEOUT_MS',
] as const;

/** The environment variables the core reads; the k8s ConfigMap test checks against this list. */
export const CORE_ENV_VARS = Object.freeze([
  'PAYMENT_CALLBACK_ENV',
  'GRPC_LISTEN',
  'METRICS_LISTEN',
  'DATABASE_URL',
  'DATABASE_POOL_MAX',
  'REDIS_URLS',
  'LOCK_TTL_MS',
  'LOCK_WAIT_MS',
  'LOCK_RETRY_DELAY_MS',
  'MERCHANTS_FILE',
  'MERCHANTS_JSON',
  'LOG_LEVEL',
  'SHUTDOWN_GRACE_MS',
  'CALLERS_FILE',
  'CALLERS_JSON',
  'AUTH_PUBLIC_SERVICES',
  'GRPC_TLS_CERT_FILE',
  'GRPC_TLS_KEY_FILE',
  'GRPC_TLS_CLIENT_CA_FILE',
  'EVENTS_POLL_MS',
  'EVENTS_BATCH_SIZE',
  'EVENTS_MAX_STREAMS_PER_CALLER',
  'AUTH_DISABLED',
  'MERCHANTS_RELOAD_INTERVAL_MS',
  'MIGRATE_ON_START',
  ...RECONCILE_ENV_VARS,
] as const);

/**
 * The whole configuration, as start-up reads it. Unknown keys in the merchants and callers files
 * and unknown PAYMENT_CALLBACK_* variables are refused (docs/configuration.md).
 *
 * `now` is start-up time: certificates already expired at `now` are refused, and a
 * previous_api_key_valid_until must be at most 7 days after it.
 */
export function readCoreConfig(
  env: Env,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
  now: Date = new Date(),
): CoreConfig {
  const r = new EnvReader(env);
  const mode = r.oneOf('PAYMENT_CALLBACK_ENV', ['development', 'production'] as const, 'development');
  const sources: Sources = { r, env, readFile, mode, envNamesRead: new Set() };
  const metricsRaw = r.string('METRICS_LISTEN', DEFAULTS.METRICS_LISTEN);
  const { merchants, configuredIds } = readMerchants(sources, now);
  const config: CoreConfig = {
    env: mode,
    grpcListen: r.listenAddress('GRPC_LISTEN', DEFAULTS.GRPC_LISTEN),
    metricsListen: metricsRaw === 'off' ? undefined : r.listenAddress('METRICS_LISTEN', DEFAULTS.METRICS_LISTEN),
    database: readDatabase(r),
    migrateOnStart: r.oneOf('MIGRATE_ON_START', ['true', 'false'] as const, 'true') === 'true',
    redisUrls: readRedisUrls(r),
    lock: {
      ttlMs: r.integer('LOCK_TTL_MS', 10_000, 1_000, 600_000),
      waitMs: r.integer('LOCK_WAIT_MS', 2_000, 0, 60_000),
      retryDelayMs: r.integer('LOCK_RETRY_DELAY_MS', 25, 1, 10_000),
    },
    merchants,
    merchantsReloadIntervalMs: readReloadInterval(r),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownGraceMs: r.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    callers: readCallers(sources, configuredIds),
    publicServices: readPublicServices(r),
    tls: readTls(r, readFile),
    events: {
      pollMs: r.integer('EVENTS_POLL_MS', 500, 10, 60_000),
      batchSize: r.integer('EVENTS_BATCH_SIZE', 100, 1, 1_000),
      maxStreamsPerCaller: r.integer('EVENTS_MAX_STREAMS_PER_CALLER', 16, 1, 10_000),
    },
    reconcile: readReconcile(r, mode),
  };
  const authDisabled = r.oneOf('AUTH_DISABLED', ['true', 'false'] as const, 'false') === 'true';
  if (config.callers.length === 0 && mode === 'production') {
    r.problem(
      'PAYMENT_CALLBACK_ENV=production needs CALLERS_FILE or CALLERS_JSON: without callers anyone who reaches the gRPC port could mark orders paid',
    );
  } else if (config.callers.length === 0 && !authDisabled) {
    r.problem(
      'no callers configured: set CALLERS_FILE or CALLERS_JSON, or AUTH_DISABLED=true to trust every gRPC caller (local development only)',
    );
  }
  if (config.lock.waitMs >= config.lock.ttlMs) {
    r.problem(`LOCK_WAIT_MS (${config.lock.waitMs}) must be below LOCK_TTL_MS (${config.lock.ttlMs})`);
  }
  for (const p of unknownOwnVariables(env, new Set([...CORE_ENV_VARS, ...sources.envNamesRead]))) r.problem(p);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

/** Only the database settings: what `make migrate` needs, without merchants. */
export function readDatabaseConfig(env: Env): DatabaseConfig {
  const r = new EnvReader(env);
  const database = readDatabase(r);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return database;
}

function readDatabase(r: EnvReader): DatabaseConfig {
  const url = r.string('DATABASE_URL', DEFAULTS.DATABASE_URL);
  const poolMax = r.integer('DATABASE_POOL_MAX', 10, 1, 1000);
  const redactedUrl = redactPassword(url);
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') r.problem('DATABASE_URL=sqlite: needs a file name, e.g. sqlite:data/payment-callback.sqlite');
    return { client: 'better-sqlite3', connection: file, redactedUrl, poolMax: 1 };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { client: 'pg', connection: url, redactedUrl, poolMax };
  if (/^(mysql|mariadb):\/\//.test(url)) {
    return { client: 'mysql2', connection: url.replace(/^mariadb:/, 'mysql:'), redactedUrl, poolMax };
  }
  r.problem(`DATABASE_URL=${redactedUrl} must start with sqlite:, postgres:// or mysql://`);
  return { client: 'better-sqlite3', connection: '', redactedUrl, poolMax };
}

/**
 * postgres://pay:p@ss@db/pay => postgres://pay:***@db/pay (the last @ ends the password), and
 * ?password=... or ?sslpassword=... in the query string likewise.
 */
function redactPassword(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/[^:@/]*):.*@/i, '$1:***@').replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}

/** Only operator services may be opened without a token, never the payment API. */
const OPENABLE_SERVICES = new Set(DEFAULT_PUBLIC_SERVICES);

function readPublicServices(r: EnvReader): string[] {
  if (r.optional('AUTH_PUBLIC_SERVICES') === 'none') return [];
  const listed = r.list('AUTH_PUBLIC_SERVICES');
  for (const name of listed) {
    if (!OPENABLE_SERVICES.has(name)) {
      r.problem(
        `AUTH_PUBLIC_SERVICES may list only ${[...OPENABLE_SERVICES].join(', ')} (or be "none"); ${name} always needs a token`,
      );
    }
  }
  return listed.length > 0 ? listed.filter((n) => OPENABLE_SERVICES.has(n)) : [...DEFAULT_PUBLIC_SERVICES];
}

function readTls(r: EnvReader, readFile: ReadFile): TlsConfig | undefined {
  const certFile = r.optional('GRPC_TLS_CERT_FILE');
  const keyFile = r.optional('GRPC_TLS_KEY_FILE');
  const caFile = r.optional('GRPC_TLS_CLIENT_CA_FILE');
  if (!certFile && !keyFile && !caFile) return undefined;
  if (!certFile || !keyFile) {
    r.problem(
      'GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE go together (GRPC_TLS_CLIENT_CA_FILE adds client certificates)',
    );
    return undefined;
  }
  const read = (name: string): string => r.fileContent(name, readFile) ?? '';
  return {
    certPem: read('GRPC_TLS_CERT_FILE'),
    keyPem: read('GRPC_TLS_KEY_FILE'),
    clientCaPem: caFile ? read('GRPC_TLS_CLIENT_CA_FILE') : undefined,
  };
}

function readRedisUrls(r: EnvReader): string[] {
  const urls = r.list('REDIS_URLS');
  for (const u of urls) {
    if (!/^rediss?:\/\/[^\s]+$/.test(u)) r.problem(`REDIS_URLS entry ${redactPassword(u)} must be redis://host:port`);
  }
  if (new Set(urls).size !== urls.length)
    r.problem('REDIS_URLS lists the same node twice; Redlock needs independent nodes');
  return urls;
}

/**
 * Reconciliation (src/reconcile/): NOTPAY orders are queried at WeChat with orderquery once they
 * are RECONCILE_AFTER_MS old, then after a doubling backoff, until RECONCILE_GIVE_UP_MS.
 */
export interface ReconcileConfig {
  /** Off unless RECONCILE_ENABLED=true: it calls WeChat over the network. */
  readonly enabled: boolean;
  /** WeChat Pay's API, e.g. https://api.mch.weixin.qq.com (no trailing slash). */
  readonly apiBase: string;
  /** Age of a NOTPAY order before its first query. */
  readonly afterMs: number;
  /** Pause after the first query; it doubles after each further one, up to backoffMaxMs. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  /** Order age after which no further query is scheduled. */
  readonly giveUpMs: number;
  /** Queries per second to WeChat, across the replica that sweeps (bursts of one second's worth). */
  readonly maxQps: number;
  readonly sweepIntervalMs: number;
  /** How long the sweeping replica's lease lasts without renewal. */
  readonly leaseMs: number;
  /** Orders taken per sweep. */
  readonly batchSize: number;
  /** One orderquery call, connect to last byte. */
  readonly timeoutMs: number;
}

const WECHATPAY_API_BASE = 'https://api.mch.weixin.qq.com';

function readReconcile(r: EnvReader, mode: CoreConfig['env']): ReconcileConfig {
  const config: ReconcileConfig = {
    enabled: r.oneOf('RECONCILE_ENABLED', ['true', 'false'] as const, 'false') === 'true',
    apiBase: r.string('WECHATPAY_API_BASE', WECHATPAY_API_BASE).replace(/\/+$/, ''),
    afterMs: r.integer('RECONCILE_AFTER_MS', 5 * 60_000, 0, 7 * 86_400_000),
    backoffMs: r.integer('RECONCILE_BACKOFF_MS', 5 * 60_000, 1_000, 86_400_000),
    backoffMaxMs: r.integer('RECONCILE_BACKOFF_MAX_MS', 60 * 60_000, 1_000, 7 * 86_400_000),
    giveUpMs: r.integer('RECONCILE_GIVE_UP_MS', 86_400_000, 60_000, 30 * 86_400_000),
    maxQps: r.integer('RECONCILE_MAX_QPS', 5, 1, 1_000),
    sweepIntervalMs: r.integer('RECONCILE_SWEEP_INTERVAL_MS', 30_000, 10, 3_600_000),
    leaseMs: r.integer('RECONCILE_LEASE_MS', 90_000, 1_000, 3_600_000),
    batchSize: r.integer('RECONCILE_BATCH_SIZE', 200, 1, 10_000),
    timeoutMs: r.integer('RECONCILE_TIMEOUT_MS', 5_000, 100, 60_000),
  };
  let url: URL | undefined;
  try {
    url = new URL(config.apiBase);
  } catch {
    r.problem(
      `WECHATPAY_API_BASE=${config.apiBase} is not a URL; it is ${WECHATPAY_API_BASE} unless you test against a stand-in`,
    );
  }
  const loopback = url !== undefined && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  if (
    url &&
    (url.search !== '' ||
      url.hash !== '' ||
      url.username !== '' ||
      !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)))
  ) {
    r.problem(
      `WECHATPAY_API_BASE=${config.apiBase} must be an https:// base URL (http:// only for a loopback stand-in), without query or credentials`,
    );
  }
  if (url && mode === 'production' && url.protocol !== 'https:')
    r.problem('PAYMENT_CALLBACK_ENV=production needs an https:// WECHATPAY_API_BASE');
  if (config.backoffMaxMs < config.backoffMs) {
    r.problem(
      `RECONCILE_BACKOFF_MAX_MS (${config.backoffMaxMs}) must be at least RECONCILE_BACKOFF_MS (${config.backoffMs})`,
    );
  }
  if (config.giveUpMs <= config.afterMs) {
    r.problem(
      `RECONCILE_GIVE_UP_MS (${config.giveUpMs}) must be above RECONCILE_AFTER_MS (${config.afterMs}), or no order is ever queried`,
    );
  }
  // Renewed at every sweep and halfway through long ones: two missed renewals before another
  // replica may take over, and a query always ends well inside the lease.
  if (config.leaseMs < 2 * config.sweepIntervalMs || config.leaseMs < 2 * config.timeoutMs) {
    r.problem(
      `RECONCILE_LEASE_MS (${config.leaseMs}) must be at least twice RECONCILE_SWEEP_INTERVAL_MS (${config.sweepIntervalMs}) and twice RECONCILE_TIMEOUT_MS (${config.timeoutMs})`,
    );
  }
  return config;
}

/**
 * Only the merchants, as start-up reads them: what a reload (SIGHUP, MERCHANTS_RELOAD_INTERVAL_MS)
 * re-reads from MERCHANTS_FILE / MERCHANTS_JSON and the key files they name, with the same rules
 * (unknown keys, public keys in production, a previous key at most 7 days after `now`, the reload
 * time). Throws a ConfigError listing every problem; the caller keeps the merchants it has.
 * Callers are not read again: callerMerchantProblems() says which of their mch_ids the new
 * merchants no longer configure.
 */
export function readMerchantsConfig(
  env: Env,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
  now: Date = new Date(),
): readonly Merchant[] {
  const r = new EnvReader(env);
  const mode = r.oneOf('PAYMENT_CALLBACK_ENV', ['development', 'production'] as const, 'development');
  const { merchants } = readMerchants({ r, env, readFile, mode, envNamesRead: new Set() }, now);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(merchants);
}

function readReloadInterval(r: EnvReader): number {
  const ms = r.integer('MERCHANTS_RELOAD_INTERVAL_MS', 0, 0, 86_400_000);
  if (ms > 0 && ms < 1_000) r.problem(`MERCHANTS_RELOAD_INTERVAL_MS=${ms} must be 0 (off) or at least 1000`);
  return ms;
}

function deepFreeze<T>(value: T): T {
  // Plain objects and arrays only: a KeyObject caches its details on itself, and a Map is frozen
  // by its owner's type (ReadonlyMap).
  if (isPlainData(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function isPlainData(v: unknown): v is object {
  if (Array.isArray(v)) return true;
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
